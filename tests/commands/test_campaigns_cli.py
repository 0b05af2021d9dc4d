"""``crm-exp campaigns``: every evaluation run's headline from the tracking store, including
failed runs and runs logged before the headline existed."""

from __future__ import annotations

import csv
import io
import json

from crm_experiments.cli import main
from crm_experiments.tracking import client as tracking_client
from crm_experiments.tracking.headlines import log_headline


def _run(capsys, *argv):
    code = main(["campaigns", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_no_store_yet(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys)
    assert code == 0 and "no campaign evaluations" in out and not err
    assert not (tmp_path / "mlflow.db").exists()  # listing creates no store
    assert json.loads(_run(capsys, "--json")[1]) == []


def test_finished_failed_and_old_runs(tracking, capsys):
    client, exp_id = tracking_client.mlflow_client()
    tags = {"report_type": tracking_client.REPORT_TYPE}
    finished = client.create_run(exp_id, tags={**tags, "campaign_id": "d11",
                                               "horizon_days": "7"}).info.run_id
    summary = {"currency": "CNY", "window_end": "2025-11-18", "best_arm_label": "满200减30",
               "verdict": {"status": "profitable", "best_arm": "coupon_200_30",
                           "incremental_profit": 12345.6, "incremental_profit_low": 2345.6,
                           "incremental_profit_high": 22345.6, "roi": 1.5, "roi_low": 0.25,
                           "roi_high": 2.75},
               "arms": [{"name": "control", "control": True},
                        {"name": "coupon_200_30", "label": "满200减30", "control": False}]}
    log_headline(client, finished, summary, {})
    client.set_terminated(finished, "FINISHED")
    failed = client.create_run(exp_id, tags={**tags, "campaign_id": "d11",
                                             "horizon_days": "30"}).info.run_id
    client.set_terminated(failed, "FAILED")
    old = client.create_run(exp_id, tags={**tags, "campaign_id": "a_old",
                                          "horizon_days": "7"}).info.run_id
    client.log_metric(old, "economics.x.incremental_profit", 1.0)  # the old per-arm keys only
    client.set_terminated(old, "FINISHED")

    code, out, err = _run(capsys)
    assert code == 0 and not err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["started", "campaign", "horizon"]
    body = lines[1:4]
    assert [line.split()[2] for line in body] == ["a_old", "d11", "d11"]  # campaign, horizon
    assert "FINISHED" in body[0] and "profitable" not in body[0]
    assert all(s in body[1] for s in ("7d", "2025-11-18", "FINISHED", "profitable", "满200减30",
                                      "12,346 CNY", "[2,346, 22,346]", "150%", "[25%, 275%]"))
    assert "30d" in body[2] and "FAILED" in body[2]
    assert "3 evaluation run(s)" in out

    rows = json.loads(_run(capsys, "--json")[1])
    assert [(r["campaign_id"], r["horizon_days"], r["status"]) for r in rows] == [
        ("a_old", 7, "FINISHED"), ("d11", 7, "FINISHED"), ("d11", 30, "FAILED")]
    assert rows[1]["best_arm_incremental_profit_low"] == 2345.6
    assert rows[1]["verdict"] == "profitable" and rows[1]["run_id"] == finished
    assert rows[0]["verdict"] is None and rows[0]["best_arm_roi"] is None
    assert rows[2]["verdict"] is None and rows[2]["run_id"] == failed

    table = list(csv.DictReader(io.StringIO(_run(capsys, "--format", "csv")[1])))
    assert len(table) == 3 and table[1]["best_arm_roi_high"] == "2.75"
    assert table[0]["best_arm_incremental_profit"] == "" and table[2]["status"] == "FAILED"

    only = json.loads(_run(capsys, "--campaign", "a_old", "--json")[1])
    assert [r["run_id"] for r in only] == [old]
