"""MLflow beyond one laptop: a real `mlflow server` on localhost as the tracking URI."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from mlflow.tracking import MlflowClient

from crm_experiments.pipeline.runner import run_evaluation


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited: {(tmp_path / 'server.log').read_text()}")
        else:
            pytest.fail("mlflow server did not start within 120 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_evaluation_against_a_tracking_server(small_shop, mlflow_server, tmp_path,
                                              monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.chdir(tmp_path)
    outcome = run_evaluation(small_shop, 7, reports_root=tmp_path / "reports")
    assert not (tmp_path / "mlflow.db").exists()  # nothing went to a local store
    client = MlflowClient(tracking_uri=mlflow_server)
    run = client.get_run(outcome.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["campaign_id"] == "demo_d11"
    assert {a.path for a in client.list_artifacts(outcome.run_id)} >= {"notebook", "report",
                                                                        "results"}
    assert outcome.summary["mlflow_run_url"].startswith(mlflow_server + "/#/experiments/")
