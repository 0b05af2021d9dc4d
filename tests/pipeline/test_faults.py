"""Faults around `crm-exp run`: a real run process killed with SIGKILL at several moments
(right after its MLflow run is created, inside the evaluation notebook, while publishing),
then one more command: no MLflow run is left RUNNING (the killed one is FAILED, tagged
interrupted and when), no scratch folder is left in $TMPDIR, no notebook kernel outlives it,
and the next run completes with its models registered only once FINISHED. A manual run and
the scheduler share one lock: neither runs an evaluation the other is running, neither marks
the other's live run interrupted. A reports folder that cannot be written (a file in the way,
a read-only or full file system) is refused before any work.

The kill moments are reached without fixed sleeps: ``CRM_EXP_STOP_AT`` makes the run stop
itself (SIGSTOP) at a named point, and the notebook moment is the runner's progress line plus
its kernel process appearing."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from crm_experiments.cli.main import main
from crm_experiments.params import load_params
from crm_experiments.pipeline import runner
from crm_experiments.pipeline.schedule import run_due
from crm_experiments.tracking.client import mlflow_client
from crm_experiments.tracking.ledger import evaluation_lock, lock_dir
from tests.conftest import write_params

pytestmark = pytest.mark.slow

TODAY = dt.date(2100, 1, 1)  # every horizon of the shop is due


@pytest.fixture
def shop(small_shop, tracking, tmp_path, monkeypatch):
    """The small shop as a one-campaign folder evaluated at 7 days only; this test's own
    $TMPDIR (for the subprocesses and this process) and reports folder."""
    data = load_params(small_shop).data.path
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    params = write_params(campaigns / "shop.yaml", Path(data), horizons=[7])
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return {"params": params, "campaigns": campaigns, "tmp": tmp,
            "reports": tmp_path / "reports", "uri": tracking, "cwd": tmp_path,
            "campaign_id": load_params(params).campaign_id}


class Run:
    """A `crm-exp run PARAMS --horizon 7` subprocess whose stderr lines are read as they come."""

    def __init__(self, shop: dict, stop_at: str | None = None):
        env = {**os.environ, "MLFLOW_TRACKING_URI": shop["uri"], "TMPDIR": str(shop["tmp"])}
        env.pop(runner.STOP_AT_ENV, None)
        if stop_at:
            env[runner.STOP_AT_ENV] = stop_at
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crm_experiments.cli", "run", str(shop["params"]),
             "--horizon", "7", "--reports-dir", str(shop["reports"])],
            cwd=shop["cwd"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and self.lines.empty():
                pytest.fail(f"never printed {text!r}: {''.join(self.seen)[-2000:]}")
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.lines.get(timeout=min(left, 1)))

    def kernels(self) -> list[psutil.Process]:
        try:
            return [p for p in psutil.Process(self.proc.pid).children(recursive=True)
                    if "ipykernel" in " ".join(p.cmdline())]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


def _runs(uri: str):
    client = MlflowClient(tracking_uri=uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids) if ids else []


def _scratch(shop: dict) -> list[str]:
    return sorted(p.name for p in shop["tmp"].glob("crm-exp-*"))


def _killed_leftovers(shop: dict, run: Run) -> str:
    """What a SIGKILLed run leaves (checked so each test can fail): its RUNNING run, its
    scratch folders; returns the run id."""
    running = [r for r in _runs(shop["uri"]) if r.info.status == "RUNNING"]
    assert [r.data.tags["owner.pid"] for r in running] == [str(run.proc.pid)]
    assert any(f"-{run.proc.pid}-" in name for name in _scratch(shop)), _scratch(shop)
    return running[0].info.run_id


def _assert_cleaned(shop: dict, run_id: str) -> None:
    assert not [r for r in _runs(shop["uri"]) if r.info.status == "RUNNING"]
    killed = MlflowClient(tracking_uri=shop["uri"]).get_run(run_id)
    assert killed.info.status == "FAILED"
    assert "interrupted" in killed.data.tags["error"]
    assert "ended before the run finished" in killed.data.tags["interrupted"]
    dt.datetime.fromisoformat(killed.data.tags["interrupted_found_at"])
    assert sorted(p.name for p in shop["tmp"].iterdir()) == []  # nothing at all left


def test_killed_after_the_run_is_created_while_a_scheduler_and_a_manual_run_wait(shop,
                                                                                  caplog):
    run = Run(shop, stop_at="run_created")
    run.wait_for("stopped at run_created")
    (live,) = [r for r in _runs(shop["uri"]) if r.info.status == "RUNNING"]

    # a scheduler meanwhile: the evaluation is locked by the manual run, so it is skipped,
    # and the live run is not taken for an interrupted one
    outcomes, errors = run_due(TODAY, campaigns_dir=shop["campaigns"],
                               reports_root=shop["reports"])
    assert errors == [] and [o.status for o in outcomes] == ["skipped_locked"]
    # a second manual run: refused, not run twice
    assert main(["run", str(shop["params"]), "--horizon", "7",
                 "--reports-dir", str(shop["reports"])]) == 2
    assert [(r.info.run_id, r.info.status) for r in _runs(shop["uri"])] == \
        [(live.info.run_id, "RUNNING")]

    run.kill()
    run_id = _killed_leftovers(shop, run)
    # one more command, any that opens the store: here `crm-exp campaigns`
    with caplog.at_level(logging.WARNING, logger="crm_experiments.tracking.ledger"):
        assert main(["campaigns"]) == 0
    assert f"MLflow run {run_id} (" in caplog.text and "marked FAILED" in caplog.text
    _assert_cleaned(shop, run_id)


def test_a_manual_run_is_refused_while_the_scheduler_holds_the_evaluation(shop, capsys):
    key = f"{shop['campaign_id']}-7d"
    with evaluation_lock(lock_dir(shop["reports"]), key) as held:  # as run_due takes it
        assert held
        assert main(["run", str(shop["params"]), "--horizon", "7",
                     "--reports-dir", str(shop["reports"])]) == 2
    err = capsys.readouterr().err
    assert "is being evaluated by another process" in err and "not run twice" in err
    assert _runs(shop["uri"]) == [] and _scratch(shop) == []


def test_killed_inside_the_notebook(shop):
    run = Run(shop)
    run.wait_for("executing campaign_evaluation.ipynb")
    deadline = time.monotonic() + 120
    while not (kernels := run.kernels()):
        assert time.monotonic() < deadline and run.proc.poll() is None, "no kernel started"
        time.sleep(0.1)
    run.kill()
    run_id = _killed_leftovers(shop, run)
    # the kernel notices its parent is gone (ipykernel's parent poller) and exits
    _, alive = psutil.wait_procs(kernels, timeout=30)
    for p in alive:
        p.kill()
    assert alive == [], "a notebook kernel outlived its killed run"
    mlflow_client()  # one more command: every command opens the store this way
    _assert_cleaned(shop, run_id)


def test_killed_while_publishing_then_the_next_run_completes(shop, monkeypatch):
    run = Run(shop, stop_at="publishing")
    run.wait_for("stopped at publishing")
    run.kill()
    run_id = _killed_leftovers(shop, run)
    assert not (shop["reports"] / shop["campaign_id"] / "7d" / "report.html").exists()

    statuses = []  # the run's state whenever models are registered

    def spy(client, rid, *args, **kwargs):
        statuses.append(client.get_run(rid).info.status)

    monkeypatch.setattr(runner, "register_models", spy)
    outcome = runner.run_evaluation(shop["params"], 7, reports_root=shop["reports"])
    _assert_cleaned(shop, run_id)
    assert outcome.report_path.is_file() and statuses == ["FINISHED"]
    finished = [r for r in _runs(shop["uri"]) if r.info.status == "FINISHED"]
    assert [r.info.run_id for r in finished] == [outcome.run_id]


def _run_cli(shop: dict, reports: Path, wrap: tuple[str, ...] = ()
             ) -> subprocess.CompletedProcess:
    """`crm-exp run` into ``reports`` (behind ``wrap``, a command that execs the rest)."""
    cmd = [sys.executable, "-m", "crm_experiments.cli", "run", str(shop["params"]),
           "--horizon", "7", "--reports-dir", str(reports)]
    return subprocess.run([*wrap, *cmd], cwd=shop["cwd"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "MLFLOW_TRACKING_URI": shop["uri"],
                                            "TMPDIR": str(shop["tmp"])})


def test_reports_path_that_is_a_file_is_refused_before_any_work(shop, capsys):
    reports = shop["cwd"] / "reports-file"
    reports.write_text("not a folder", encoding="utf-8")
    assert main(["run", str(shop["params"]), "--horizon", "7",
                 "--reports-dir", str(reports)]) == 2
    err = capsys.readouterr().err
    assert f"{reports}: the reports folder cannot be written ({reports} is a file" in err
    assert "preflight" not in err  # refused before the preflight
    assert _runs(shop["uri"]) == [] and _scratch(shop) == []


def _namespace_mounts() -> bool:
    """Whether this process may mount in a mount namespace of its own (root, `unshare`)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "mount", "-t", "tmpfs", "tmpfs", "/mnt"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _namespace_mounts(),
                    reason="needs root and unshare to mount a read-only file system in a "
                           "private mount namespace (chmod does not stop root)")
def test_a_read_only_reports_folder_is_refused_before_any_work(shop):
    # (a full one fails the same probe with "no space left on the device"; a folder that
    # fills while publishing is the last test)
    reports = shop["cwd"] / "reports-read-only"
    reports.mkdir()
    script = f"mount --bind -o ro {reports} {reports} && exec \"$@\""
    out = _run_cli(shop, reports, wrap=("unshare", "-m", "sh", "-c", script, "sh"))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert (f"{reports}: the reports folder cannot be written (Read-only file system)"
            in out.stderr)
    assert "preflight" not in out.stderr  # refused before the preflight
    assert _runs(shop["uri"]) == [] and _scratch(shop) == []


def test_an_unwritable_import_out_is_refused_before_reading(tmp_path, capsys):
    export = tmp_path / "orders_export.csv"
    export.write_text("Name,Email\n#1001,a@example.com\n", encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    assert main(["import", "--format", "shopify", str(export),
                 "--out", str(blocker / "data")]) == 2
    err = capsys.readouterr().err
    assert f"{blocker}/data: the output folder cannot be written ({blocker} is a file" in err
    assert "nothing was done" in err and "orders_export.csv" not in err  # not even read


@pytest.mark.skipif(not _namespace_mounts(),
                    reason="needs root and unshare to mount a small file system in a private "
                           "mount namespace")
def test_a_reports_folder_that_fills_while_publishing_fails_the_run_with_a_message(shop):
    reports = shop["cwd"] / "reports-small"
    reports.mkdir()
    # room for the up-front probe, not for the report's pages
    script = f"mount -t tmpfs -o size=48k tmpfs {reports} && exec \"$@\""
    out = _run_cli(shop, reports, wrap=("unshare", "-m", "sh", "-c", script, "sh"))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert "the report could not be written (no space left on the device)" in out.stderr
    (run,) = _runs(shop["uri"])
    assert run.info.status == "FAILED" and "FolderNotWritable" in run.data.tags["error"]
    assert f"the MLflow run {run.info.run_id} is marked FAILED" in out.stderr
    assert _scratch(shop) == []


def test_sigterm_fails_the_run_at_once_and_cleans_up(shop):
    run = Run(shop, stop_at="run_created")
    run.wait_for("stopped at run_created")
    run.proc.send_signal(signal.SIGTERM)
    run.proc.send_signal(signal.SIGCONT)
    assert run.proc.wait(timeout=60) == 130
    run.wait_for("crm-exp run: interrupted")
    (failed,) = _runs(shop["uri"])  # marked by the run itself, no other command needed
    assert failed.info.status == "FAILED"
    assert failed.data.tags["error"] == "KeyboardInterrupt: terminated by SIGTERM"
    assert sorted(p.name for p in shop["tmp"].iterdir()) == []
