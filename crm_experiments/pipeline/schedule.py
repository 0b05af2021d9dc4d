"""Scheduled evaluations: every campaign in ``params/campaigns/`` is evaluated once per horizon,
on the day its window closes (sale end + H days has passed).

The MLflow runs are the ledger: an evaluation is done when a FINISHED run tagged with its
``campaign_id``, ``horizon_days`` and ``report_type`` exists. Nothing else is kept in sync.

Concurrency: each evaluation is guarded by an exclusive, non-blocking file lock
(``<reports>/.locks/<campaign>-<H>d.lock``, ``fcntl.flock``,
:func:`crm_experiments.tracking.ledger.evaluation_lock`), the same lock a manual
``crm-exp run`` takes; a scheduler that cannot take the lock leaves that evaluation to the
process holding it (a scheduler or a manual run). The lock dies with its process, so a killed
scheduler never blocks the next one; the killed run's leftover RUNNING run is marked FAILED
("interrupted") when the store is next opened (its owner process is gone) and the evaluation
runs again.

Preflight: before it is run, each due evaluation goes through
:func:`crm_experiments.pipeline.preflight.preflight` (once per campaign file); one that fails
it is not run (no MLflow run, no report) but reported as ``blocked`` with the reasons, and is
checked again the next time (e.g. once the data reach the end of its window).

Sale watch: :func:`run_watches` writes, for every campaign whose watch window (five days before
the sale start to its last day) contains yesterday (the last complete day), the watch page of
that day (``<reports>/<campaign_id>/watch/<day>.html``, :mod:`crm_experiments.analyses.watch`);
a campaign whose page cannot be made (data not reaching the day, no assignments) is reported
and skipped, the others are written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crm_experiments.errors import CrmError, ParamsError
from crm_experiments.params import CampaignParams, load_params
from crm_experiments.tracking.client import REPORT_TYPE, mlflow_client, store_absent
from crm_experiments.tracking.ledger import evaluation_lock, finished_keys, lock_dir

CAMPAIGNS_DIR = Path("params") / "campaigns"


@dataclass(frozen=True)
class Evaluation:
    """One (campaign, horizon) pair and the day it becomes due."""

    campaign_id: str
    horizon_days: int
    due_date: dt.date
    params_path: Path

    @property
    def key(self) -> str:
        return f"{self.campaign_id}-{self.horizon_days}d"


@dataclass(frozen=True)
class Outcome:
    evaluation: Evaluation
    status: str  # "finished" | "failed" | "blocked" | "skipped_locked" | "skipped_done"
    detail: str = ""


def preflight_due(pending: list[Evaluation]) -> dict[tuple[str, int], list[str]]:
    """The preflight errors of each pending evaluation, ``(campaign_id, horizon) -> lines``
    (empty: ready to run); one preflight per campaign file, at its pending horizons."""
    from crm_experiments.pipeline.preflight import preflight

    by_file: dict[Path, list[Evaluation]] = {}
    for ev in pending:
        by_file.setdefault(ev.params_path, []).append(ev)
    out: dict[tuple[str, int], list[str]] = {}
    for path, evs in by_file.items():
        try:
            checked = preflight(path, [ev.horizon_days for ev in evs])
        except CrmError as exc:  # the file changed since it was listed
            out.update({(ev.campaign_id, ev.horizon_days): [str(exc)] for ev in evs})
            continue
        for ev in evs:
            out[(ev.campaign_id, ev.horizon_days)] = [
                str(f) for f in checked.errors_at(ev.horizon_days)]
    return out


def load_campaigns(campaigns_dir: str | Path = CAMPAIGNS_DIR
                   ) -> tuple[list[tuple[Path, CampaignParams]], list[str]]:
    """Every ``*.yaml`` / ``*.yml`` in ``campaigns_dir``: the valid ones, and one error line per
    invalid file (an invalid file never hides the others)."""
    root = Path(campaigns_dir)
    if not root.is_dir():
        raise CrmError(f"{root}: campaign folder not found (one YAML per campaign goes there)")
    ok, errors, seen = [], [], {}
    for path in sorted([*root.glob("*.yaml"), *root.glob("*.yml")]):
        try:
            params = load_params(path)
        except ParamsError as exc:
            errors.append(str(exc))
            continue
        if params.campaign_id in seen:
            errors.append(f"{path}: campaign_id '{params.campaign_id}' is also used by "
                          f"{seen[params.campaign_id]}")
            continue
        seen[params.campaign_id] = path
        ok.append((path, params))
    return ok, errors


def evaluations(campaigns: list[tuple[Path, CampaignParams]]) -> list[Evaluation]:
    """All (campaign, horizon) pairs with their due dates, in due-date order."""
    out = [Evaluation(p.campaign_id, h, p.evaluation_date(h), path)
           for path, p in campaigns for h in p.horizons]
    return sorted(out, key=lambda e: (e.due_date, e.campaign_id, e.horizon_days))


def due(today: dt.date, campaigns_dir: str | Path = CAMPAIGNS_DIR
        ) -> tuple[list[Evaluation], list[str]]:
    """Evaluations whose date has come (``due_date <= today``) and that have no FINISHED run
    yet, oldest first; plus the errors of invalid campaign files."""
    campaigns, errors = load_campaigns(campaigns_dir)
    done: set = set()
    if not store_absent():  # no store yet: nothing is done (and none is created here)
        client, exp_id = mlflow_client()
        done = finished_keys(client, [exp_id], REPORT_TYPE)
    pending = [e for e in evaluations(campaigns)
               if e.due_date <= today and (e.campaign_id, e.horizon_days) not in done]
    return pending, errors


def run_due(today: dt.date, *, campaigns_dir: str | Path = CAMPAIGNS_DIR,
            reports_root: str | Path = "reports",
            say: Callable[[str], None] = lambda m: None) -> tuple[list[Outcome], list[str]]:
    """Run every due evaluation once (see the module docstring); never raises for one
    campaign's failure: each failure is an Outcome and its MLflow run is marked FAILED."""
    from crm_experiments.pipeline.runner import run_evaluation

    pending, errors = due(today, campaigns_dir)
    problems = preflight_due(pending)
    client, exp_id = mlflow_client()
    locks = lock_dir(reports_root)
    outcomes = []
    for ev in pending:
        blocked = problems.get((ev.campaign_id, ev.horizon_days))
        if blocked:
            say(f"{ev.key}: not run, the preflight failed:\n  " + "\n  ".join(blocked))
            outcomes.append(Outcome(ev, "blocked", "; ".join(blocked)))
            continue
        with evaluation_lock(locks, ev.key) as held:
            if not held:
                say(f"{ev.key}: another process (a scheduler or crm-exp run) is running it; "
                    "skipped")
                outcomes.append(Outcome(ev, "skipped_locked"))
                continue
            if (ev.campaign_id, ev.horizon_days) in finished_keys(client, [exp_id],
                                                                  REPORT_TYPE):
                outcomes.append(Outcome(ev, "skipped_done"))  # finished while we waited
                continue
            say(f"{ev.key}: due {ev.due_date}, evaluating")
            try:
                outcome = run_evaluation(ev.params_path, ev.horizon_days,
                                         reports_root=reports_root, progress=say,
                                         held_lock=True)
            except Exception as exc:  # noqa: BLE001 - one failure must not stop the others
                say(f"{ev.key}: FAILED: {exc}")
                outcomes.append(Outcome(ev, "failed", str(exc)))
                continue
            outcomes.append(Outcome(ev, "finished", str(outcome.report_path)))
    return outcomes, errors


@dataclass(frozen=True)
class WatchOutcome:
    campaign_id: str
    day: dt.date
    status: str  # "written" | "skipped"
    detail: str = ""


def run_watches(today: dt.date, *, campaigns_dir: str | Path = CAMPAIGNS_DIR,
                reports_root: str | Path = "reports",
                say: Callable[[str], None] = lambda m: None) -> list[WatchOutcome]:
    """The watch page of yesterday for every campaign being watched (module docstring);
    never raises for one campaign's failure."""
    from crm_experiments.analyses.watch import LEAD_DAYS, watch_sale
    from crm_experiments.io.reader import load_shop
    from crm_experiments.report.render import write_index
    from crm_experiments.report.watch_page import write_watch_page

    day = today - dt.timedelta(days=1)
    campaigns, _ = load_campaigns(campaigns_dir)
    outcomes = []
    for _, params in campaigns:
        if not params.sale.start - dt.timedelta(days=LEAD_DAYS) <= day <= params.sale.end:
            continue
        try:
            shop = load_shop(params.data.path, params=params)
            path = write_watch_page(watch_sale(shop, params, day), params, reports_root)
        except CrmError as exc:
            say(f"watch {params.campaign_id} {day}: not written: {exc}")
            outcomes.append(WatchOutcome(params.campaign_id, day, "skipped", str(exc)))
            continue
        say(f"watch {params.campaign_id} {day}: {path}")
        outcomes.append(WatchOutcome(params.campaign_id, day, "written", str(path)))
    if any(o.status == "written" for o in outcomes):
        write_index(reports_root)
    return outcomes
