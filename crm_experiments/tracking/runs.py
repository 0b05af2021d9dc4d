"""What a finished or failed run leaves in MLflow beyond its metrics: registered models and
the FAILED state with its error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path


def register_models(client, run_id: str, results: Path, campaign_id: str, horizon_days: int,
                     progress: Callable[[str], None]) -> None:
    """Every MLflow model a notebook saved under ``results/<notebook>/models/<name>`` becomes a
    new version of the registered model ``<notebook>.<name>``, tagged with the campaign."""
    import mlflow

    for mlmodel in sorted(results.glob("*/models/*/MLmodel")):
        model_dir = mlmodel.parent
        name = f"{model_dir.parent.parent.name}.{model_dir.name}"
        rel = model_dir.relative_to(results).as_posix()
        version = mlflow.register_model(f"runs:/{run_id}/results/{rel}", name,
                                        tags={"campaign_id": campaign_id,
                                              "horizon_days": str(horizon_days)})
        progress(f"registered model {name} version {version.version}")


def fail_run(client, run_id: str, exc: BaseException) -> None:
    """Mark the run FAILED with the error; never hide the original exception."""
    try:
        client.set_tag(run_id, "error", f"{type(exc).__name__}: {exc}"[:4000])
        client.set_terminated(run_id, "FAILED")
    except Exception:  # noqa: BLE001 - the original error matters more
        logging.getLogger(__name__).exception("could not mark MLflow run %s FAILED", run_id)
