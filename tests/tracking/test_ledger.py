"""The ledger closes the RUNNING runs of gone processes only: a live run (this process), a run
of another host and, outside the evaluation's lock, a run without owner tags are left alone."""

from __future__ import annotations

import subprocess
import sys

from crm_experiments.io.process import Owner
from crm_experiments.tracking.client import REPORT_TYPE, mlflow_client
from crm_experiments.tracking.ledger import mark_interrupted, reap_dead_runs


def _run(client, exp_id, owner: Owner | None, campaign="c"):
    tags = {"campaign_id": campaign, "horizon_days": "7", "report_type": REPORT_TYPE,
            **(owner.tags() if owner else {})}
    return client.create_run(exp_id, tags=tags).info.run_id


def test_only_runs_of_gone_processes_are_closed(tracking):
    client, exp_id = mlflow_client()
    me = Owner.me()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = _run(client, exp_id, Owner(proc.pid, me.host, me.started))
    live = _run(client, exp_id, me)
    elsewhere = _run(client, exp_id, Owner(proc.pid, me.host + "-other", 0.0))
    untagged = _run(client, exp_id, None)
    assert reap_dead_runs(client, exp_id) == [dead]
    run = client.get_run(dead)
    assert run.info.status == "FAILED" and run.data.tags["error"].startswith("interrupted: ")
    assert {r: client.get_run(r).info.status for r in (live, elsewhere, untagged)} == \
        dict.fromkeys((live, elsewhere, untagged), "RUNNING")
    # under the evaluation's lock, a run without owner tags holds no lock: it is dead;
    # the live run is still left alone
    assert mark_interrupted(client, exp_id, "c", 7, REPORT_TYPE) == 1
    assert client.get_run(untagged).info.status == "FAILED"
    assert client.get_run(live).info.status == "RUNNING"


def test_model_versions_of_a_closed_run_are_deleted(tracking):
    client, exp_id = mlflow_client()
    untagged = _run(client, exp_id, None)  # a run killed by an older runner, which
    client.create_registered_model("clv_churn.model")  # registered before finishing
    client.create_model_version("clv_churn.model", f"runs:/{untagged}/results/m", untagged)
    finished = _run(client, exp_id, Owner.me(), campaign="d")
    client.set_terminated(finished, "FINISHED")
    client.create_model_version("clv_churn.model", f"runs:/{finished}/results/m", finished)
    assert mark_interrupted(client, exp_id, "c", 7, REPORT_TYPE) == 1
    versions = client.search_model_versions("name = 'clv_churn.model'")
    assert [v.run_id for v in versions] == [finished]
