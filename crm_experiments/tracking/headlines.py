"""Campaigns side by side in MLflow: the arm-independent headline of every evaluation run, the
per-arm metrics under keys that line up across campaigns, and the headlines read back
(``crm-exp campaigns``).

What a run of :func:`~crm_experiments.pipeline.runner.run_evaluation` gets here, all copied
from the stored evaluation (its ``summary()`` and ``metrics()``; nothing is recomputed: the
verdict's figures are the best arm's row of :func:`~crm_experiments.analyses.economics.economics`):

* metrics ``best_arm.incremental_profit`` (``_low`` / ``_high``: its interval, in the campaign's
  currency, over the whole arm) and ``best_arm.roi`` (``_low`` / ``_high``); a value that is not
  a finite number (e.g. ROI of an arm without recorded cost) is not logged;
* tags ``verdict`` (profitable / loses_money / inconclusive / withheld), ``best_arm``,
  ``best_arm_label``, ``window_end`` (last day of the evaluation window), ``currency``;
* per-arm metrics by position: the name-keyed ``economics.<arm>.<col>`` and
  ``effect.<arm>.<metric>.<col>`` stay as they are (the plan and older runs read them), and each
  is also logged as ``treatment_<i>.<col>`` / ``treatment_<i>.effect.<metric>.<col>``, ``i``
  the arm's position (1, 2, ...) among the treatment arms in the params' order. Two campaigns
  whose arms are named differently (``coupon_100_10`` vs ``sms_only``) then share their columns
  in MLflow's compare view and runs table; the params ``treatment_<i>.arm`` /
  ``treatment_<i>.label`` and ``control.arm`` say which arm each position was. Position keys
  also never need :func:`~crm_experiments.tracking.runs.mlflow_name`'s hash suffix, which an
  arm name with a character MLflow refuses would get. The best arm's keys (above) are the
  comparison across campaigns that does not depend on the order of the arms at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd

#: The verdict's figures logged as ``best_arm.<name>``.
VERDICT_FIGURES = ("incremental_profit", "incremental_profit_low", "incremental_profit_high",
                   "roi", "roi_low", "roi_high")
HEADLINE_TAGS = ("verdict", "best_arm", "best_arm_label", "window_end", "currency")
#: Columns of :func:`campaign_headlines`, in order.
COLUMNS = ("started", "campaign_id", "horizon_days", "window_end", "status", "verdict",
           "best_arm", "best_arm_label", "currency",
           *(f"best_arm.{f}" for f in VERDICT_FIGURES), "run_id")

_EFFECT_REST = re.compile(r"^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$")  # <metric>.<column>
_ECON_REST = re.compile(r"^[A-Za-z0-9_]+$")  # <column>


def _finite(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def headline_metrics(summary: dict) -> dict[str, float]:
    """``best_arm.<figure>`` from the evaluation summary's verdict (finite values only)."""
    verdict = summary.get("verdict") or {}
    out = {}
    for name in VERDICT_FIGURES:
        x = _finite(verdict.get(name))
        if x is not None:
            out[f"best_arm.{name}"] = x
    return out


def headline_tags(summary: dict) -> dict[str, str]:
    """The run's headline tags from the evaluation summary (empty values left out)."""
    verdict = summary.get("verdict") or {}
    values = {"verdict": verdict.get("status"), "best_arm": verdict.get("best_arm"),
              "best_arm_label": summary.get("best_arm_label"),
              "window_end": summary.get("window_end"), "currency": summary.get("currency")}
    return {k: str(v) for k, v in values.items() if v not in (None, "")}


def treatment_positions(summary: dict) -> dict[str, int]:
    """Treatment arm name -> its position 1, 2, ... in the params' order of arms."""
    arms = [a["name"] for a in summary.get("arms", []) if not a.get("control")]
    return {name: i for i, name in enumerate(arms, start=1)}


def position_params(summary: dict) -> dict[str, str]:
    """``treatment_<i>.arm`` / ``treatment_<i>.label`` and ``control.arm``."""
    out = {}
    for a in summary.get("arms", []):
        if a.get("control"):
            out["control.arm"] = a["name"]
    positions = treatment_positions(summary)
    for a in summary.get("arms", []):
        if a["name"] in positions:
            i = positions[a["name"]]
            out[f"treatment_{i}.arm"] = a["name"]
            out[f"treatment_{i}.label"] = a.get("label") or a["name"]
    return out


def position_metrics(metrics: dict[str, float], summary: dict) -> dict[str, float]:
    """The name-keyed per-arm metrics of ``metrics`` again under ``treatment_<i>.`` keys (see
    the module docstring). An arm whose name is a prefix of another's (``a`` and ``a.b``) is
    told apart by the shape of what follows the name."""
    out = {}
    positions = treatment_positions(summary)
    for key, value in metrics.items():
        for arm, i in positions.items():
            for prefix, rest_shape, target in (
                    (f"economics.{arm}.", _ECON_REST, f"treatment_{i}."),
                    (f"effect.{arm}.", _EFFECT_REST, f"treatment_{i}.effect.")):
                rest = key[len(prefix):]
                if key.startswith(prefix) and rest_shape.match(rest):
                    out[target + rest] = value
    return out


def log_headline(client, run_id: str, summary: dict, metrics: dict[str, float]) -> None:
    """Log the headline metrics and tags, the position-keyed per-arm metrics and the positions'
    arm names and labels (params) of an evaluation run."""
    from mlflow.entities import RunTag

    from crm_experiments.tracking.runs import log_metrics, log_params

    log_metrics(client, run_id, {**headline_metrics(summary), **position_metrics(metrics,
                                                                                  summary)})
    log_params(client, run_id, position_params(summary))
    tags = [RunTag(key, value) for key, value in headline_tags(summary).items()]
    if tags:  # one request, not one per tag
        client.log_batch(run_id, tags=tags)


def campaign_headlines(client, experiment_ids: Iterable[str],
                       report_type: str) -> pd.DataFrame:
    """One row per evaluation run (any status) with :data:`COLUMNS`, ordered by campaign, then
    horizon, then start time. A run logged before the headline existed, or one that FAILED
    before it, has empty (None / NaN) headline fields."""
    ids = list(experiment_ids)
    rows = []
    if ids:
        runs = client.search_runs(ids, filter_string=f"tags.report_type = '{report_type}'",
                                  max_results=50_000)
        for r in runs:
            tags, m = r.data.tags, r.data.metrics
            horizon = tags.get("horizon_days")
            rows.append({
                "started": pd.Timestamp(r.info.start_time, unit="ms", tz="UTC")
                if r.info.start_time else pd.NaT,
                "campaign_id": tags.get("campaign_id"),
                "horizon_days": int(horizon) if horizon and horizon.isdigit() else None,
                "status": r.info.status,
                **{k: tags.get(k) for k in HEADLINE_TAGS},
                **{f"best_arm.{f}": m.get(f"best_arm.{f}", math.nan) for f in VERDICT_FIGURES},
                "run_id": r.info.run_id,
            })
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    if frame.empty:
        return frame
    frame["horizon_days"] = frame["horizon_days"].astype("Int64")
    return frame.sort_values(["campaign_id", "horizon_days", "started"],
                             kind="stable", na_position="last").reset_index(drop=True)
