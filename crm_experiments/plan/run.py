"""``make_plan``: gather, decide, write and log in one call (what ``crm-exp plan`` runs)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from crm_experiments.params import CAMPAIGN_ID_PATTERN
from crm_experiments.plan.decide import Plan, build_plan
from crm_experiments.plan.gather import PlanError, gather_evaluations
from crm_experiments.plan.output import base_params, next_params, publish


@dataclass(frozen=True)
class PlanOutcome:
    plan: Plan
    params_path: Path
    summary_path: Path
    run_id: str
    params: dict


def make_plan(next_id: str, *, campaigns: list[str] | None = None,
              sale_start: dt.date | None = None, sale_end: dt.date | None = None,
              budget: float | None = None, campaigns_dir: str | Path = "params/campaigns",
              out_dir: str | Path | None = None, data_path: str | None = None,
              force: bool = False) -> PlanOutcome:
    if not CAMPAIGN_ID_PATTERN.match(next_id):
        raise PlanError(f"--next-id {next_id!r}: use 1-64 characters of a-z, 0-9, '_' or '-'")
    if sale_start and sale_end and sale_end < sale_start:
        raise PlanError(f"sale end {sale_end} is before sale start {sale_start}")
    if budget is not None and not budget > 0:
        raise PlanError(f"--budget {budget}: must be positive")
    past = gather_evaluations(campaigns or None)
    if next_id in {p.campaign_id for p in past}:
        raise PlanError(f"--next-id {next_id!r} is already an evaluated campaign")
    campaigns_dir = Path(campaigns_dir)
    base = base_params(past[-1], campaigns_dir)
    plan = build_plan(past, next_id, budget=budget,
                      fixed_cost=float(base.get("costs", {}).get("fixed_cost", 0.0)),
                      alpha=float(base.get("alpha", 0.05)))
    raw = next_params(plan, base, sale_start=sale_start, sale_end=sale_end, data_path=data_path)
    out = Path(out_dir) if out_dir else Path("reports") / next_id / "plan"
    params_path, summary, run_id = publish(plan, raw, campaigns_dir / f"{next_id}.yaml", out,
                                           force=force)
    return PlanOutcome(plan, params_path, summary, run_id, raw)
