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

Opening the store checks it first (:func:`check_store`), because every run and the
schedule's ledger live in it: an existing local ``mlflow.db`` that is empty (0 bytes), not an
SQLite database, unreadable or without MLflow's tables is refused with what to do, never
replaced by a new empty store (MLflow would silently create one, and the scheduler would
then evaluate everything again); a tracking server (``http(s)://``) that does not answer
within :data:`SERVER_TIMEOUT_S` is refused in seconds (MLflow itself retries 7 times with
exponential backoff, about 250 s, before failing).

It is also where killed runs are found: every command that reads or writes runs (run,
schedule, due, campaigns, plan) opens the store here, so :func:`mlflow_client` closes the
runs left RUNNING by a process that is gone
(:func:`~crm_experiments.tracking.ledger.reap_dead_runs`) and removes the scratch folders
such processes left in the temporary folder
(:func:`~crm_experiments.io.process.remove_dead_scratch`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from pathlib import Path

from crm_experiments.errors import CrmError

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
#: How long a tracking server may take to answer the first request (s).
SERVER_TIMEOUT_S = 5.0
#: Tables every MLflow SQL store has; a database without them is not an MLflow store.
_MLFLOW_TABLES = {"alembic_version", "experiments", "runs"}


class TrackingStoreError(CrmError):
    """The tracking store cannot be used as it is; the message says what to do."""


def _store_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


def check_store(uri: str) -> None:
    """Refuse a store that is there but broken (see the module docstring); a local store that
    does not exist yet is fine (it is created)."""
    db = _store_path(uri)
    if db is not None:
        _check_sqlite(db)
    elif uri.startswith(("http://", "https://")):
        _check_server(uri)


def _check_sqlite(db: Path) -> None:
    if not db.exists():
        return
    fix = (f"Restore {db.name} from a backup; or, to start an empty store (every run is "
           f"forgotten and `crm-exp schedule` evaluates every due campaign again), move it "
           f"away: mv {db} {db}.broken")
    if not db.is_file():
        raise TrackingStoreError(f"{db}: the tracking store is not a file. {fix}")
    if db.stat().st_size == 0:
        raise TrackingStoreError(
            f"{db}: the tracking store is empty (0 bytes): it was emptied or truncated, so "
            f"every MLflow run and the schedule's ledger are gone from it. {fix}")
    try:
        with open(db, "rb") as fh:
            header = fh.read(16)
        con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            tables = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except (OSError, sqlite3.Error) as exc:
        raise TrackingStoreError(f"{db}: the tracking store cannot be read ({exc}). "
                                 f"{fix}") from None
    if header != b"SQLite format 3\x00":
        raise TrackingStoreError(f"{db}: the tracking store is not an SQLite database "
                                 f"(corrupt or overwritten). {fix}")
    missing = _MLFLOW_TABLES - tables
    if missing:
        raise TrackingStoreError(
            f"{db}: the tracking store is an SQLite database without MLflow's tables "
            f"({', '.join(sorted(missing))} missing): corrupt, or not an MLflow store. {fix}")


def _check_server(uri: str) -> None:
    """Any HTTP answer (even 401 or 404) shows the server is there; no answer within
    :data:`SERVER_TIMEOUT_S` is refused."""
    import requests

    url = f"{uri.rstrip('/')}/health"
    try:
        requests.get(url, timeout=SERVER_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        reason = type(exc).__name__
        if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.Timeout):
            reason = "connection refused or host unreachable"
        elif isinstance(exc, requests.Timeout):
            reason = f"no answer within {SERVER_TIMEOUT_S:.0f} s"
        raise TrackingStoreError(
            f"the MLflow tracking server {public_uri(uri)} cannot be reached ({reason}). "
            "Start it (e.g. `make ui` for the local one), or point MLFLOW_TRACKING_URI at "
            "one that runs, or unset it to use the local mlflow.db") from None


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


def store_absent() -> bool:
    """True when :func:`tracking_uri` is a local SQLite store that does not exist yet: a
    command that only reads (``plan``, ``campaigns``) says there is nothing instead of
    creating an empty store."""
    db = _store_path(tracking_uri())
    return db is not None and not db.exists()


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
    # serialise store creation (and our experiment's) with a lock file beside the database;
    # the store is checked under it too (a store being created is not a broken one).
    lock = None
    db = _store_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(f"{db}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        check_store(uri)
        try:
            client = MlflowClient(tracking_uri=uri)
            exp = client.get_experiment_by_name(EXPERIMENT_NAME)
        except Exception as exc:
            if db is None:
                raise
            raise TrackingStoreError(
                f"{db}: MLflow cannot open the tracking store ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:300]}). Restore it from a backup, or move it "
                f"away (mv {db} {db}.broken) to start an empty one") from None
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
    _clean_after_dead(client, exp_id)
    return client, exp_id


def _clean_after_dead(client, exp_id: str) -> None:
    """Close the runs and remove the scratch folders of processes that are gone (module
    docstring); never stops the command that opened the store."""
    from crm_experiments.io.process import remove_dead_scratch
    from crm_experiments.tracking.ledger import reap_dead_runs

    log = logging.getLogger(__name__)
    try:
        reap_dead_runs(client, exp_id)
    except Exception:  # noqa: BLE001 - a clean-up, not the command's work
        log.warning("could not check the RUNNING MLflow runs for killed ones", exc_info=True)
    for path in remove_dead_scratch():
        log.info("removed %s, left by a process that is gone", path)


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
