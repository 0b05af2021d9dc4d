"""``crm-exp campaigns``: every campaign evaluation in the tracking store with its headline,
one row per MLflow run, by campaign, horizon and start time.

Columns: when the run started (UTC), campaign, horizon, last day of the evaluation window, the
run's status, the verdict, the best arm's label, its incremental profit with its interval and
ROI with its interval (as the run logged them: :mod:`crm_experiments.tracking.headlines`, the
verdict of the evaluation). A run that failed, or one logged before runs carried a headline,
shows blanks there. ``--format csv`` / ``json`` (or ``--json``) for machines; text by default.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import pandas as pd


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--campaign", help="only this campaign id")
    parser.add_argument("--format", choices=("text", "csv", "json"), default="text",
                        help="output format (default text)")
    parser.add_argument("--json", action="store_true", help="same as --format json")


def headlines(campaign: str | None = None) -> pd.DataFrame:
    """The headline table of the tracking store (:func:`campaign_headlines`); an empty one when
    there is no store yet (none is created)."""
    from crm_experiments.tracking.client import REPORT_TYPE, mlflow_client, store_absent
    from crm_experiments.tracking.headlines import COLUMNS, campaign_headlines

    if store_absent():
        return pd.DataFrame(columns=list(COLUMNS))
    client, exp_id = mlflow_client()
    frame = campaign_headlines(client, [exp_id], REPORT_TYPE)
    if campaign is not None:
        others = int((frame["campaign_id"] != campaign).sum())
        frame = frame[frame["campaign_id"] == campaign].reset_index(drop=True)
        frame.attrs["other_runs"] = others
    return frame


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for row in frame.to_dict("records"):
        rec = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                value = value.isoformat()
            elif value is None or value is pd.NA or (isinstance(value, float)
                                                      and math.isnan(value)):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            rec[key.replace("best_arm.", "best_arm_")] = value
        out.append(rec)
    return out


def _money(x) -> str:
    return "" if x is None else f"{x:,.0f}"


def _interval(lo, hi, fmt) -> str:
    return "" if lo is None or hi is None else f"[{fmt(lo)}, {fmt(hi)}]"


def _roi(x) -> str:
    return "" if x is None else f"{100 * x:.0f}%"


def _print_text(records: list[dict], campaign: str | None = None, other_runs: int = 0) -> None:
    if not records and campaign is not None and other_runs:
        print(f"no evaluation of campaign {campaign!r} in the tracking store ({other_runs} "
              "evaluation run(s) of other campaigns; `crm-exp campaigns` lists them)")
        return
    if not records:
        print("no campaign evaluations in the tracking store yet (crm-exp run or "
              "crm-exp schedule logs them)")
        return
    head = ("started", "campaign", "horizon", "window end", "status", "verdict", "best arm",
            "incremental profit", "interval", "ROI", "ROI interval")
    rows = []
    for r in records:
        rows.append((
            (r["started"] or "")[:16].replace("T", " "), r["campaign_id"] or "",
            f"{r['horizon_days']}d" if r["horizon_days"] is not None else "",
            r["window_end"] or "", r["status"] or "", r["verdict"] or "",
            r["best_arm_label"] or r["best_arm"] or "",
            " ".join(filter(None, (_money(r["best_arm_incremental_profit"]),
                                   r["currency"] if r["best_arm_incremental_profit"] is not None
                                   else None))),
            _interval(r["best_arm_incremental_profit_low"], r["best_arm_incremental_profit_high"],
                      _money),
            _roi(r["best_arm_roi"]),
            _interval(r["best_arm_roi_low"], r["best_arm_roi_high"], _roi)))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    numeric = {7, 8, 9, 10}
    for line in (head, *rows):
        print("  ".join(str(x).rjust(w) if i in numeric else str(x).ljust(w)
                        for i, (x, w) in enumerate(zip(line, widths, strict=True))).rstrip())
    print(f"{len(records)} evaluation run(s); profit is the best arm's incremental profit over "
          "the whole arm with its interval, ROI = incremental profit / cost")


def run(args: argparse.Namespace) -> int:
    fmt = "json" if args.json else args.format
    frame = headlines(args.campaign)
    records = _records(frame)
    if fmt == "json":
        print(json.dumps(records, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        frame = pd.DataFrame(records, columns=[c.replace("best_arm.", "best_arm_") for c in
                                               _columns()])
        frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        _print_text(records, args.campaign, frame.attrs.get("other_runs", 0))
    return 0


def _columns() -> tuple[str, ...]:
    from crm_experiments.tracking.headlines import COLUMNS

    return COLUMNS
