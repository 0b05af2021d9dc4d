"""``make_plan``: gather, decide, write and log in one call (what ``crm-exp plan`` runs);
``draft_plan``: the same without MLflow and without touching the params folder (what the
``next_round_plan`` notebook runs)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from crm_experiments.io.atomic import atomic_write_text
from crm_experiments.io.process import check_writable
from crm_experiments.params import CAMPAIGN_ID_PATTERN, FIRST_SALE_DAY, LAST_SALE_DAY, MAX_MONEY
from crm_experiments.plan.decide import Plan, build_plan
from crm_experiments.plan.gather import PlanError, gather_evaluations
from crm_experiments.plan.output import (
    base_params,
    next_params,
    params_yaml,
    publish,
    write_outputs,
)
from crm_experiments.report.render import write_index

#: Where ``crm-exp plan`` writes the next round's draft params (not read by the schedule).
DRAFTS_DIR = "params/drafts"


@dataclass(frozen=True)
class PlanOutcome:
    plan: Plan
    params_path: Path
    summary_path: Path
    run_id: str | None
    params: dict


def _prepare(next_id: str, campaigns: list[str] | None, sale_start: dt.date | None,
             sale_end: dt.date | None, budget: float | None, campaigns_dir: Path,
             data_path: str | None) -> tuple[Plan, dict]:
    if not CAMPAIGN_ID_PATTERN.match(next_id):
        raise PlanError(f"--next-id {next_id!r}: use 1-64 characters of a-z, 0-9, '_' or '-'")
    if sale_start and sale_end and sale_end < sale_start:
        raise PlanError(f"sale end {sale_end} is before sale start {sale_start}")
    if budget is not None and not budget > 0:
        raise PlanError(f"--budget {budget}: must be positive")
    if budget is not None and not budget <= MAX_MONEY:  # inf is no budget, not a cap
        raise PlanError(f"--budget {budget}: at most {MAX_MONEY:g} (leave it out for no cap)")
    for option, day in (("--sale-start", sale_start), ("--sale-end", sale_end)):
        if day is not None and not FIRST_SALE_DAY <= day <= LAST_SALE_DAY:
            raise PlanError(f"{option} {day}: outside {FIRST_SALE_DAY}..{LAST_SALE_DAY}, the "
                            "days a campaign can have")
    past = gather_evaluations(campaigns or None)
    if next_id in {p.campaign_id for p in past}:
        raise PlanError(f"--next-id {next_id!r} is already an evaluated campaign")
    base = base_params(past[-1], campaigns_dir)
    plan = build_plan(past, next_id, budget=budget,
                      fixed_cost=float(base.get("costs", {}).get("fixed_cost", 0.0)),
                      alpha=float(base.get("alpha", 0.05)),
                      currency=str(base.get("costs", {}).get("currency", "CNY")))
    raw = next_params(plan, base, sale_start=sale_start, sale_end=sale_end, data_path=data_path)
    return plan, raw


def make_plan(next_id: str, *, campaigns: list[str] | None = None,
              sale_start: dt.date | None = None, sale_end: dt.date | None = None,
              budget: float | None = None, campaigns_dir: str | Path = "params/campaigns",
              drafts_dir: str | Path = DRAFTS_DIR, out_dir: str | Path | None = None,
              data_path: str | None = None, force: bool = False) -> PlanOutcome:
    """Plan the next round; write the draft ``<drafts_dir>/<next_id>.yaml`` and the plan page
    into ``out_dir`` (``reports/<next_id>/plan``) and log both to MLflow.

    The draft is not in ``campaigns_dir`` (where ``crm-exp schedule`` looks), so nothing
    evaluates it before a person accepts it by moving it there; ``campaigns_dir`` is read for
    the latest campaign's own params."""
    campaigns_dir = Path(campaigns_dir)
    out = Path(out_dir) if out_dir else Path("reports") / next_id / "plan"
    if CAMPAIGN_ID_PATTERN.match(next_id):  # else _prepare refuses the id, naming it
        # before the work and before the MLflow run: both folders can be written
        check_writable(drafts_dir, "drafts folder", create=False)
        check_writable(out, "plan folder", create=False)
    plan, raw = _prepare(next_id, campaigns, sale_start, sale_end, budget, campaigns_dir,
                         data_path)
    params_path, summary, run_id = publish(plan, raw, Path(drafts_dir) / f"{next_id}.yaml", out,
                                           force=force)
    if out.name == "plan" and out.parent.name == next_id:  # the reports layout: list it
        write_index(out.parent.parent)
    return PlanOutcome(plan, params_path, summary, run_id, raw)


def _date(value: dt.date | str | None) -> dt.date | None:
    if not value:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PlanError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def draft_plan(next_id: str, *, out_dir: str | Path, campaigns: list[str] | str | None = None,
               sale_start: dt.date | str | None = None, sale_end: dt.date | str | None = None,
               budget: float | None = None, campaigns_dir: str | Path = "params/campaigns",
               data_path: str | None = None) -> PlanOutcome:
    """Plan the next round into ``out_dir`` only (``<next_id>.yaml``, the plan page,
    ``plan.json``, the stored plan): nothing logged, the params folder left alone.
    ``campaigns`` may be comma-separated text and the dates ISO text ("" = default), as a
    notebook's parameters are."""
    if isinstance(campaigns, str):
        campaigns = [c.strip() for c in campaigns.split(",") if c.strip()]
    out = Path(out_dir)
    plan, raw = _prepare(next_id, campaigns or None, _date(sale_start), _date(sale_end), budget,
                         Path(campaigns_dir), data_path)
    params_path = out / f"{next_id}.yaml"
    atomic_write_text(params_path, params_yaml(plan, raw))
    summary = write_outputs(plan, raw, out, params_path.name)
    return PlanOutcome(plan, params_path, summary, None, raw)
