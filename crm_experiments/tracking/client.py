"""The MLflow client of every command: where runs are tracked, our experiment, links to runs.

``MLFLOW_TRACKING_URI`` if set, else the project's local store: the nearest ``mlflow.db`` in
the working directory or one of its parents (so a notebook opened in ``notebooks/`` finds the
store that ``make demo`` wrote at the project's root), else a new ``./mlflow.db``; artifacts in
``mlartifacts/`` beside the database. The experiment is ``CRM_EXP_MLFLOW_EXPERIMENT`` or
``crm-experiments``.

The MLflow UI opens our experiment on its runs table, not on a traces view: MLflow 3 opens an
experiment on "Traces" for GenAI work and on "Runs" for machine learning. Versions that decide
by the experiment tag ``mlflow.experimentKind`` get ``custom_model_development`` (set when the
experiment is created, or on an existing one that has no kind yet); MLflow 3.17 decides by the
UI's workflow type instead (the ``workflowType`` query parameter of the page, else the
browser's last choice on the UI's GenAI / Model training switch, GenAI at first; checked in a
headless browser on 3.17.2: a first visit to ``#/experiments/<id>`` opens the GenAI overview,
with the parameter the runs table), so every link we print carries
``?workflowType=machine_learning`` (:func:`experiment_url`, :func:`run_url`).
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

EXPERIMENT_NAME = os.environ.get("CRM_EXP_MLFLOW_EXPERIMENT", "crm-experiments")
#: Tag ``report_type`` of the runs of one campaign evaluation (the schedule's ledger).
REPORT_TYPE = "campaign_evaluation"
LOCAL_UI = "http://127.0.0.1:5000"
#: The experiment tag by which MLflow 3 chooses between its GenAI (traces) and machine
#: learning (runs) views, and our value: runs.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
#: The query parameter by which MLflow 3.17's UI chooses that view for the page it opens.
UI_VIEW_QUERY = "workflowType=machine_learning"


def local_store(start: Path | None = None) -> Path:
    """The ``mlflow.db`` nearest to ``start`` (default: the working directory) going up, else
    ``start / "mlflow.db"`` (created on first use)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "mlflow.db").is_file():
            return folder / "mlflow.db"
    return here / "mlflow.db"


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else ``sqlite:///`` + :func:`local_store`."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{local_store()}"


def mlflow_client():
    """An MLflow client on :func:`tracking_uri` and the id of our experiment (created if
    missing; with a local sqlite store its artifacts go to ``mlartifacts/`` beside it)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    for name in ("alembic", "mlflow.store.db.utils", "mlflow.tracking.fluent"):
        logging.getLogger(name).setLevel(logging.WARNING)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    # Two processes creating a fresh sqlite store at once race in its schema migration:
    # serialise store creation (and our experiment's) with a lock file beside the database.
    lock = None
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        db.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(f"{db}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        client = MlflowClient(tracking_uri=uri)
        exp = client.get_experiment_by_name(EXPERIMENT_NAME)
        if exp is None:
            location = None
            if uri.startswith("sqlite:///"):
                location = (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").as_uri()
            exp_id = client.create_experiment(EXPERIMENT_NAME, artifact_location=location,
                                              tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
        else:
            exp_id = exp.experiment_id
            if not exp.tags.get(EXPERIMENT_KIND_TAG):  # a store made before the tag
                client.set_experiment_tag(exp_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    finally:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)
    return client, exp_id


def _ui_base() -> str:
    uri = public_uri(tracking_uri())
    return uri.rstrip("/") if uri.startswith(("http://", "https://")) else LOCAL_UI


def experiment_url(experiment_id: str) -> str:
    """Where a person opens the experiment's runs table (the module docstring says why the
    query parameter)."""
    return f"{_ui_base()}/#/experiments/{experiment_id}?{UI_VIEW_QUERY}"


def run_url(experiment_id: str, run_id: str) -> str:
    """Where a person opens the run: the tracking server's UI, or for a local store the UI
    that ``make ui`` serves on http://127.0.0.1:5000 (in its machine learning view)."""
    return f"{_ui_base()}/#/experiments/{experiment_id}/runs/{run_id}?{UI_VIEW_QUERY}"


def public_uri(uri: str) -> str:
    """The tracking URI without credentials (user:password@)."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return uri
