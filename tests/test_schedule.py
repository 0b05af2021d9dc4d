"""Scheduled evaluations: `due` lists exactly what is due, `schedule` runs it once, survives a
kill, and two schedulers started together run each evaluation once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from mlflow.tracking import MlflowClient

from crm_experiments.demo.generator import generate_shop
from crm_experiments.params import load_params
from crm_experiments.pipeline.schedule import due, run_due
from tests.conftest import write_params

SALES = {  # campaign: (sale start, sale end)
    "camp_a": ("2025-06-01", "2025-06-18"),
    "camp_b": ("2025-09-01", "2025-09-03"),
    "camp_c": ("2025-11-01", "2025-11-11"),
}


def _campaigns(root, horizons):
    folder = root / "params" / "campaigns"
    folder.mkdir(parents=True)
    for cid, (start, end) in SALES.items():
        path = write_params(folder / f"{cid}.yaml", root / "data" / cid, campaign_id=cid,
                            sale={"start": start, "end": end}, horizons=horizons)
        generate_shop(root / "data" / cid, load_params(path), n_customers=1_500)
    return folder


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory):
    """Three campaigns evaluated 7 and 30 days after their sales."""
    return _campaigns(tmp_path_factory.mktemp("campaigns"), [7, 30])


@pytest.fixture(scope="module")
def weekly_campaigns(tmp_path_factory):
    """The same three campaigns with the 7-day evaluation only (fewer runs to wait for)."""
    return _campaigns(tmp_path_factory.mktemp("weekly"), [7])


def _finished(uri):
    client = MlflowClient(tracking_uri=uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(ids) if ids else []
    return runs, Counter((r.data.tags["campaign_id"], r.data.tags["horizon_days"])
                         for r in runs if r.info.status == "FINISHED")


def test_due_lists_exactly_the_expected_pairs(campaigns, tracking):
    def keys(today):
        pending, errors = due(dt.date.fromisoformat(today), campaigns)
        assert errors == []
        return [(e.campaign_id, e.horizon_days) for e in pending]

    # due date = sale end + H + 1 (the window's last day, sale end + H, has passed)
    assert keys("2025-06-25") == []
    assert keys("2025-06-26") == [("camp_a", 7)]
    assert keys("2025-11-19") == [("camp_a", 7), ("camp_a", 30), ("camp_b", 7),
                                  ("camp_b", 30), ("camp_c", 7)]
    assert keys("2026-01-01")[-1] == ("camp_c", 30)


def test_invalid_campaign_file_is_reported_and_others_still_listed(campaigns, tracking,
                                                                   tmp_path):
    folder = tmp_path / "campaigns"
    folder.mkdir()
    for f in campaigns.glob("*.yaml"):
        (folder / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "broken.yaml").write_text("campaign_id: ../../etc\n", encoding="utf-8")
    pending, errors = due(dt.date(2025, 7, 1), folder)
    assert [(e.campaign_id, e.horizon_days) for e in pending] == [("camp_a", 7)]
    assert len(errors) == 1 and "broken.yaml" in errors[0]


def _schedule_cmd(today, campaigns):
    return [sys.executable, "-m", "crm_experiments.cli", "schedule", "--today", today,
            "--campaigns", str(campaigns)]


@pytest.mark.slow
def test_schedule_concurrency_noop_and_kill(weekly_campaigns, tracking, tmp_path):
    campaigns = weekly_campaigns
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking}
    # two schedulers started together: camp_a 7d and camp_b 7d run once each
    procs = [subprocess.Popen(_schedule_cmd("2025-09-12", campaigns), cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    _, finished = _finished(tracking)
    assert finished == Counter({("camp_a", "7"): 1, ("camp_b", "7"): 1})
    for key in ("camp_a/7d", "camp_b/7d"):
        assert (tmp_path / "reports" / key / "report.html").exists()

    # a second schedule for the same day does nothing
    outcomes, errors = run_due(dt.date(2025, 9, 12), campaigns_dir=campaigns,
                               reports_root=tmp_path / "reports")
    assert outcomes == [] and errors == []

    # killed in the middle of its first evaluation, then started again
    proc = subprocess.Popen(_schedule_cmd("2025-11-20", campaigns), cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        runs, _ = _finished(tracking)
        if any(r.info.status == "RUNNING" for r in runs):
            break
        time.sleep(0.3)
    else:
        pytest.fail("the scheduler never started a run")
    time.sleep(2)  # inside the notebook
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    outcomes, _ = run_due(dt.date(2025, 11, 20), campaigns_dir=campaigns,
                          reports_root=tmp_path / "reports")
    assert {o.status for o in outcomes} == {"finished"}
    runs, finished = _finished(tracking)
    assert set(finished.values()) == {1}  # no duplicate FINISHED run
    assert set(finished) == {("camp_a", "7"), ("camp_b", "7"), ("camp_c", "7")}
    assert not any(r.info.status == "RUNNING" for r in runs)
    interrupted = [r for r in runs if r.info.status == "FAILED"]
    assert interrupted and all("interrupted" in r.data.tags["error"] for r in interrupted)
    for report in (tmp_path / "reports").glob("*/*d/report.html"):
        assert report.read_text(encoding="utf-8").rstrip().endswith("</html>")
