"""The ledger of evaluations: MLflow runs say which (campaign, horizon) evaluations are done,
a lock file per evaluation says which one a process is running now, and the runs of killed
processes are found and closed.

Shared by ``crm-exp run`` and ``crm-exp schedule`` (:func:`crm_experiments.pipeline.runner.
run_evaluation` takes the lock unless its caller holds it), so a manual run and a scheduler
never evaluate the same (campaign, horizon) at once, and neither takes the other's live run
for an interrupted one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from crm_experiments.io.process import Owner

#: Tags of a run found RUNNING after its process ended: what happened and when it was found.
INTERRUPTED_TAG, INTERRUPTED_AT_TAG = "interrupted", "interrupted_found_at"
#: The folder of the evaluation locks inside the reports folder.
LOCKS = ".locks"

log = logging.getLogger(__name__)


def finished_keys(client, experiment_ids: list[str], report_type: str) -> set[tuple[str, int]]:
    """(campaign_id, horizon) pairs with a FINISHED run."""
    if not experiment_ids:
        return set()
    runs = client.search_runs(
        experiment_ids,
        filter_string=f"tags.report_type = '{report_type}' and attributes.status = 'FINISHED'",
        max_results=50_000)
    return {(r.data.tags.get("campaign_id"), int(r.data.tags.get("horizon_days", -1)))
            for r in runs}


def close_interrupted(client, run, why: str) -> None:
    """Mark ``run`` FAILED: its process ended before finishing. Tags ``error`` and
    ``interrupted`` (why), ``interrupted_found_at`` (UTC, ISO 8601: when it was found; the
    moment of the kill is unknown)."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    msg = f"interrupted: {why}"
    client.set_tag(run.info.run_id, INTERRUPTED_TAG, why[:500])
    client.set_tag(run.info.run_id, INTERRUPTED_AT_TAG, now)
    client.set_tag(run.info.run_id, "error", msg[:4000])
    client.set_terminated(run.info.run_id, "FAILED")
    drop_model_versions(client, run.info.run_id)


def drop_model_versions(client, run_id: str) -> int:
    """Delete the registered model versions that point at ``run_id`` (a run that did not
    finish: since models are registered only after FINISHED, such versions were left by
    an older version of the runner). Returns how many."""
    try:
        versions = client.search_model_versions(f"run_id = '{run_id}'")
    except Exception:  # noqa: BLE001 - e.g. a store without a model registry
        log.warning("could not look up the model versions of run %s", run_id, exc_info=True)
        return 0
    for v in versions:
        client.delete_model_version(v.name, v.version)
        log.warning("deleted model %s version %s: its run %s did not finish",
                    v.name, v.version, run_id)
    return len(versions)


def reap_dead_runs(client, exp_id: str) -> list[str]:
    """Close (:func:`close_interrupted`) every RUNNING run of the experiment whose owner
    process (its ``owner.*`` tags, :class:`~crm_experiments.io.process.Owner`) is gone from
    this host: killed, or ended without marking it. Runs of live processes, of other hosts
    and runs without owner tags are left alone. Returns the ids closed."""
    runs = client.search_runs([exp_id], filter_string="attributes.status = 'RUNNING'",
                              max_results=1000)
    closed = []
    for run in runs:
        owner = Owner.from_tags(run.data.tags)
        if owner is None or owner.alive() is not False:
            continue
        close_interrupted(client, run, f"its {owner} ended before the run finished "
                                       "(killed, or the machine stopped)")
        log.warning("MLflow run %s (%s) marked FAILED: its %s ended before it finished",
                    run.info.run_id, run.data.tags.get("mlflow.runName", ""), owner)
        closed.append(run.info.run_id)
    return closed


def mark_interrupted(client, exp_id: str, campaign_id: str, horizon_days: int,
                     report_type: str) -> int:
    """Mark FAILED the runs of (campaign, horizon) still RUNNING whose process is gone.
    Called while holding the evaluation's lock; a run whose owner is still alive (e.g. one
    started with another reports folder, so another lock) is left alone, as is one on another
    host. A run without owner tags (made before they existed) is taken as dead: it holds no
    lock. Returns how many were marked."""
    runs = client.search_runs(
        [exp_id],
        filter_string=(f"tags.report_type = '{report_type}' and attributes.status = 'RUNNING' "
                       f"and tags.campaign_id = '{campaign_id}' "
                       f"and tags.horizon_days = '{horizon_days}'"))
    marked = 0
    for r in runs:
        owner = Owner.from_tags(r.data.tags)
        if owner is not None and owner.alive() is not False:
            continue
        close_interrupted(client, r, f"its {owner or 'process'} ended before finishing")
        marked += 1
    return marked


def lock_dir(reports_root: str | Path) -> Path:
    """Where the evaluation locks are: ``<reports>/.locks``."""
    return Path(reports_root) / LOCKS


@contextlib.contextmanager
def evaluation_lock(folder: Path, key: str) -> Iterator[bool]:
    """Yield True while holding the exclusive lock of ``key`` (``<folder>/<key>.lock``,
    ``fcntl.flock``, non-blocking), False if another process has it. The lock dies with its
    process, so a killed run never blocks the next one."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_holder(folder: Path, key: str) -> str:
    """The process id written in ``key``'s lock file ('' if none): who holds it."""
    try:
        return (folder / f"{key}.lock").read_text(encoding="utf-8").strip()
    except OSError:
        return ""
