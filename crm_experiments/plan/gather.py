"""Past evaluations from MLflow: FINISHED runs tagged ``report_type=campaign_evaluation``, the
longest horizon per campaign, with their result tables (``results/tables/*.csv``)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crm_experiments.errors import CrmError
from crm_experiments.tracking.client import REPORT_TYPE, mlflow_client

TABLES = ("effects", "economics", "segment_effects", "design", "heterogeneity")


class PlanError(CrmError):
    """The plan cannot be made from what MLflow holds."""


@dataclass
class PastCampaign:
    """One finished evaluation: its run, flat params (``arms.<name>.<field>``), tables."""

    campaign_id: str
    horizon_days: int
    run_id: str
    params: dict[str, str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    @property
    def control_arm(self) -> str:
        return self.params.get("control_arm", "control")

    @property
    def sale_start(self) -> str:
        return self.params.get("sale.start", "")

    def arm_kind(self, arm: str) -> tuple[float, float]:
        """(coupon face value, threshold) of an arm: the kind of treatment it is."""
        face = float(self.params.get(f"arms.{arm}.coupon_face_value", 0) or 0)
        threshold = float(self.params.get(f"arms.{arm}.coupon_threshold", 0) or 0)
        return face, threshold


def gather_evaluations(campaign_ids: list[str] | None = None) -> list[PastCampaign]:
    """Every campaign's FINISHED evaluation at its longest horizon (oldest sale first)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    client, exp_id = mlflow_client()
    query = f"tags.report_type = '{REPORT_TYPE}' and attributes.status = 'FINISHED'"
    runs = []
    token = None
    while True:
        page = client.search_runs([exp_id], query, max_results=1000, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            break
    best: dict[str, object] = {}
    for run in runs:
        cid = run.data.tags.get("campaign_id")
        if not cid or (campaign_ids and cid not in campaign_ids):
            continue
        h = int(run.data.tags.get("horizon_days", "0"))
        prev = best.get(cid)
        key = (h, run.info.end_time or 0)
        if prev is None or key > (int(prev.data.tags["horizon_days"]), prev.info.end_time or 0):
            best[cid] = run
    if campaign_ids:
        missing = sorted(set(campaign_ids) - set(best))
        if missing:
            raise PlanError(f"no FINISHED evaluation in MLflow for campaign(s) {missing}")
    if not best:
        raise PlanError("no FINISHED campaign evaluation in MLflow; run `crm-exp run` first")
    out = []
    work = Path(tempfile.mkdtemp(prefix="crm-exp-plan-"))
    try:
        for cid, run in best.items():
            past = PastCampaign(cid, int(run.data.tags["horizon_days"]), run.info.run_id,
                                dict(run.data.params))
            local = Path(client.download_artifacts(run.info.run_id, "results", str(work / cid)))
            for name in TABLES:
                path = local / "tables" / f"{name}.csv"
                if path.exists() and path.stat().st_size > 1:
                    try:
                        past.tables[name] = pd.read_csv(path)
                    except pd.errors.EmptyDataError:
                        past.tables[name] = pd.DataFrame()
            if "effects" not in past.tables or "economics" not in past.tables:
                raise PlanError(f"run {run.info.run_id} ({cid}) has no results/tables/"
                                "effects.csv or economics.csv")
            summary = local / "summary.json"
            if summary.exists():
                past.summary = json.loads(summary.read_text(encoding="utf-8"))
            out.append(past)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sorted(out, key=lambda p: (p.sale_start, p.campaign_id))
