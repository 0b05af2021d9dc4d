"""What a finished or failed run leaves in MLflow beyond its metrics: registered models and
the FAILED state with its error."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

#: What MLflow accepts in a param or metric name (mlflow.utils.validation): word characters,
#: dashes, periods, spaces, colons and slashes.
_UNSAFE = re.compile(r"[^\w\-. :/]")


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


def mlflow_name(key: str) -> str:
    """``key`` as MLflow accepts it: each character MLflow refuses (e.g. from a channel name
    in the params or a segment value in the data) becomes ``_``, and a short hash of the
    original keeps different keys apart.

    >>> mlflow_name("costs.message_cost.sms")
    'costs.message_cost.sms'
    >>> mlflow_name('costs.message_cost."><b>')
    'costs.message_cost.___b__0e1fd9'
    """
    if not _UNSAFE.search(key):
        return key
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:6]
    return f"{_UNSAFE.sub('_', key)}_{digest}"


def log_params(client, run_id: str, params: dict[str, str]) -> None:
    """Log ``params`` (values cut to MLflow's 6,000 characters) in batches of 90."""
    from mlflow.entities import Param

    flat = [Param(mlflow_name(k), str(v)[:6000]) for k, v in params.items()]
    for i in range(0, len(flat), 90):
        client.log_batch(run_id, params=flat[i:i + 90])


def log_metrics(client, run_id: str, metrics: dict[str, float]) -> None:
    """Log ``metrics`` at one timestamp in batches of 900."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    batch = [Metric(mlflow_name(k), float(v), now, 0) for k, v in metrics.items()]
    for i in range(0, len(batch), 900):
        client.log_batch(run_id, metrics=batch[i:i + 900])
