"""The shop-wide holdout's MLflow run (``crm-exp holdout``): one FINISHED run per analysis,
tagged ``report_type=shop_holdout`` (so the evaluation ledger, ``crm-exp campaigns`` and the
plan, which read ``campaign_evaluation`` runs, never see it), with the holdout's parameters,
its metrics (:meth:`~crm_experiments.analyses.holdout.HoldoutAnalysis.metrics`) and the page
as an artifact."""

from __future__ import annotations

from pathlib import Path

from crm_experiments.io.process import Owner
from crm_experiments.tracking.client import mlflow_client
from crm_experiments.tracking.runs import fail_run, log_metrics, log_params

REPORT_TYPE = "shop_holdout"


def log_holdout(summary: dict, metrics: dict[str, float], page: Path) -> str:
    """Log one holdout analysis; returns the run id. Ids and numbers only (no names)."""
    client, exp_id = mlflow_client()
    cid = summary["campaign_id"]
    run = client.create_run(exp_id, tags={
        "campaign_id": cid, "report_type": REPORT_TYPE,
        "mlflow.runName": f"{cid}-holdout-{summary['start']}", **Owner.me().tags()})
    run_id = run.info.run_id
    try:
        log_params(client, run_id, {f"shop_holdout.{k}": summary[k] for k in
                                    ("start", "end", "measured_to", "share", "alpha")})
        log_metrics(client, run_id, metrics)
        client.log_artifact(run_id, str(page), "report")
        client.set_terminated(run_id, "FINISHED")
    except BaseException as exc:
        fail_run(client, run_id, exc)
        raise
    return run_id
