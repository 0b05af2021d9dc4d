"""Past evaluations from MLflow: FINISHED runs tagged ``report_type=campaign_evaluation``, the
longest horizon per campaign, each read back through the evaluation's declared schema
(:meth:`crm_experiments.analyses.campaign.Evaluation.read` on the run's ``results`` artifact),
never by globbing files or guessing at column names."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from crm_experiments.analyses.campaign import Evaluation
from crm_experiments.analyses.result import (
    RESULT_FILE,
    TABLES_DIR,
    ResultSchemaError,
    StoredResult,
)
from crm_experiments.errors import CrmError
from crm_experiments.tracking.client import REPORT_TYPE, mlflow_client, store_absent

RESULTS = "results"  # the artifact folder the runner logs an evaluation's result into
PER_CUSTOMER_TABLE = "customers.parquet"  # Evaluation.tables()["customers"]: not downloaded


class PlanError(CrmError):
    """The plan cannot be made from what MLflow holds."""


def _param(value: str | None) -> str | None:
    """An MLflow param as text; ``None`` for the ``'None'`` that an unset field is logged as."""
    return None if value is None or value == "None" else value


@dataclass
class PastCampaign:
    """One finished evaluation: its run, flat params (``arms.<name>.<field>``) and the stored
    result (``summary()``, ``table(name)``)."""

    campaign_id: str
    horizon_days: int
    run_id: str
    params: dict[str, str]
    result: StoredResult

    @property
    def summary(self) -> dict:
        return self.result.summary()

    def table(self, name: str) -> pd.DataFrame:
        """A declared table of the evaluation; a PlanError naming the run when it is absent."""
        try:
            return self.result.table(name)
        except ResultSchemaError as exc:
            raise PlanError(f"run {self.run_id} ({self.campaign_id}): {exc}") from None

    @property
    def control_arm(self) -> str:
        return str(self.summary.get("control_arm") or _param(self.params.get("control_arm"))
                   or "control")

    @property
    def sale_start(self) -> str:
        return self.params.get("sale.start", "")

    def arm_kind(self, arm: str) -> tuple[float, float]:
        """(coupon face value, threshold) of an arm: the kind of treatment it is."""
        face = float(_param(self.params.get(f"arms.{arm}.coupon_face_value")) or 0)
        threshold = float(_param(self.params.get(f"arms.{arm}.coupon_threshold")) or 0)
        return face, threshold

    def arm_label(self, arm: str) -> str:
        """The arm's label from the evaluation's summary (the params' ``label``, else the id)."""
        for a in self.summary.get("arms", []):
            if a.get("name") == arm:
                return str(a.get("label") or arm)
        return _param(self.params.get(f"arms.{arm}.label")) or arm


def read_evaluation(client, run_id: str, campaign_id: str, work: Path) -> StoredResult:
    """Download the run's stored result (``result.json`` and ``tables/``) and read it with
    :meth:`Evaluation.read`; a PlanError naming the run when it is missing, in the old layout
    (``tables/*.csv``) or not what the schema declares."""
    names = {Path(f.path).name for f in client.list_artifacts(run_id, RESULTS)}
    if RESULT_FILE not in names:
        old = TABLES_DIR in names and any(
            f.path.endswith(".csv") for f in client.list_artifacts(run_id, f"{RESULTS}/"
                                                                   f"{TABLES_DIR}"))
        why = ("holds its results in the old layout (tables/*.csv, no result.json)" if old
               else f"has no {RESULTS}/{RESULT_FILE}")
        raise PlanError(f"run {run_id} ({campaign_id}) {why}: re-run that evaluation "
                        f"(crm-exp run <params of {campaign_id}>) so that the plan can read it")
    dst = work / run_id
    dst.mkdir(parents=True, exist_ok=True)
    # only what the result is read from (the folder also holds the extra notebooks' results),
    # and not the per-customer table (one row per customer; the plan reads aggregates only)
    wanted = [RESULT_FILE]
    if TABLES_DIR in names:
        wanted += [f"{TABLES_DIR}/{Path(f.path).name}"
                   for f in client.list_artifacts(run_id, f"{RESULTS}/{TABLES_DIR}")
                   if Path(f.path).name != PER_CUSTOMER_TABLE]
    for name in wanted:
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        local = Path(client.download_artifacts(run_id, f"{RESULTS}/{name}",
                                               str((dst / name).parent)))
        if local != dst / name:
            shutil.move(str(local), str(dst / name))
    try:
        return Evaluation.read(dst, lazy=False)  # the caller removes ``work`` afterwards
    except ResultSchemaError as exc:
        raise PlanError(f"run {run_id} ({campaign_id}): {exc}; re-run that evaluation") from None


def gather_evaluations(campaign_ids: list[str] | None = None) -> list[PastCampaign]:
    """Every campaign's FINISHED evaluation at its longest horizon (oldest sale first)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if store_absent():  # nothing to read: do not create an empty store
        raise PlanError("no FINISHED campaign evaluation in MLflow (no tracking store yet); "
                        "run `crm-exp run` first")
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
            result = read_evaluation(client, run.info.run_id, cid, work)
            out.append(PastCampaign(cid, int(run.data.tags["horizon_days"]), run.info.run_id,
                                    dict(run.data.params), result))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sorted(out, key=lambda p: (p.sale_start, p.campaign_id))
