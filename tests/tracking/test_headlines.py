"""The headline of an evaluation run and the per-arm keys that line campaigns up in MLflow."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from crm_experiments.tracking import client as tracking_client
from crm_experiments.tracking.headlines import (
    campaign_headlines,
    log_headline,
    position_metrics,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One MLflow store for the module (a new sqlite store takes seconds to create)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('headlines') / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        client, exp_id = tracking_client.mlflow_client()
        yield client, exp_id


def _summary(campaign: str, arms: list[str], best: str, profit: float, roi: float) -> dict:
    return {
        "campaign_id": campaign, "currency": "CNY", "window_end": "2025-11-18",
        "best_arm_label": f"label of {best}",
        "verdict": {"status": "profitable", "best_arm": best, "incremental_profit": profit,
                    "incremental_profit_low": profit - 10, "incremental_profit_high": profit + 10,
                    "roi": roi, "roi_low": float("nan"), "roi_high": roi + 1},
        "arms": [{"name": "holdout", "label": "Holdout", "control": True},
                 *({"name": a, "label": f"label of {a}", "control": False} for a in arms)],
    }


def _metrics(arms: list[str]) -> dict[str, float]:
    out = {"n_assigned": 100.0}
    for i, arm in enumerate(arms):
        out[f"economics.{arm}.incremental_profit"] = 100.0 * (i + 1)
        out[f"economics.{arm}.roi"] = 0.5 * (i + 1)
        out[f"effect.{arm}.revenue.estimate"] = 1.0 * (i + 1)
    return out


def test_position_keys_tell_apart_arms_whose_names_prefix_each_other():
    arms = ["a", "a.b"]
    got = position_metrics(_metrics(arms), _summary("x", arms, "a", 1.0, 1.0))
    assert got == {"treatment_1.incremental_profit": 100.0, "treatment_1.roi": 0.5,
                   "treatment_1.effect.revenue.estimate": 1.0,
                   "treatment_2.incremental_profit": 200.0, "treatment_2.roi": 1.0,
                   "treatment_2.effect.revenue.estimate": 2.0}


def test_two_campaigns_line_up_in_the_compare_view(store):
    client, exp_id = store
    runs = {}
    for campaign, arms, best in (("coupons", ["coupon_100_10", "coupon_200_30"], "coupon_200_30"),
                                 ("sms", ["sms_only", "sms+coupon <b>"], "sms_only")):
        run = client.create_run(exp_id, tags={"campaign_id": campaign, "horizon_days": "7",
                                              "report_type": tracking_client.REPORT_TYPE})
        summary = _summary(campaign, arms, best, 500.0, 2.0)
        log_headline(client, run.info.run_id, summary, _metrics(arms))
        client.set_terminated(run.info.run_id, "FINISHED")
        runs[campaign] = client.get_run(run.info.run_id).data

    a, b = runs["coupons"], runs["sms"]
    headline = {"best_arm.incremental_profit", "best_arm.incremental_profit_low",
                "best_arm.incremental_profit_high", "best_arm.roi", "best_arm.roi_high"}
    positional = {f"treatment_{i}.{c}" for i in (1, 2) for c in
                  ("incremental_profit", "roi", "effect.revenue.estimate")}
    for data in (a, b):
        assert headline | positional <= set(data.metrics)
        assert "best_arm.roi_low" not in data.metrics  # NaN: not logged, not 0
        assert data.tags["verdict"] == "profitable"
        assert data.tags["window_end"] == "2025-11-18" and data.tags["currency"] == "CNY"
    # the same keys in both runs (what the compare view lines up), the names in params
    shared = set(a.metrics) & set(b.metrics)
    assert headline | positional <= shared
    assert a.params["treatment_2.arm"] == "coupon_200_30"
    assert b.params["treatment_2.arm"] == "sms+coupon <b>"
    assert b.params["treatment_1.label"] == "label of sms_only"
    assert a.params["control.arm"] == "holdout"
    assert a.tags["best_arm"] == "coupon_200_30" and b.tags["best_arm_label"] == "label of sms_only"
    # the positional value is the name-keyed one of that arm, not a new computation
    assert a.metrics["treatment_2.incremental_profit"] == 200.0
    assert b.metrics["treatment_2.effect.revenue.estimate"] == 2.0
    assert a.metrics["best_arm.incremental_profit"] == 500.0


def test_the_experiment_opens_on_its_runs(store):
    client, exp_id = store
    assert client.get_experiment(exp_id).tags["mlflow.experimentKind"] == \
        "custom_model_development"
    assert tracking_client.run_url(exp_id, "abc").endswith(
        f"/#/experiments/{exp_id}/runs/abc?workflowType=machine_learning")
    assert tracking_client.experiment_url(exp_id).endswith("?workflowType=machine_learning")
    # a store made before the tag gets it the next time a command opens it
    client.delete_experiment_tag(exp_id, "mlflow.experimentKind")
    assert "mlflow.experimentKind" not in client.get_experiment(exp_id).tags
    client, same = tracking_client.mlflow_client()
    assert same == exp_id
    assert client.get_experiment(exp_id).tags["mlflow.experimentKind"] == \
        "custom_model_development"


def test_headlines_of_runs_without_one_are_blank(store):
    client, exp_id = store
    run = client.create_run(exp_id, tags={"campaign_id": "old", "horizon_days": "30",
                                          "report_type": tracking_client.REPORT_TYPE})
    client.set_terminated(run.info.run_id, "FAILED")
    frame = campaign_headlines(client, [exp_id], tracking_client.REPORT_TYPE)
    (row,) = frame[frame["campaign_id"] == "old"].to_dict("records")
    assert row["campaign_id"] == "old" and row["horizon_days"] == 30
    assert row["status"] == "FAILED" and pd.isna(row["verdict"])
    assert math.isnan(row["best_arm.incremental_profit"])
    assert campaign_headlines(client, [], tracking_client.REPORT_TYPE).empty


@pytest.mark.parametrize("summary", [{}, {"verdict": None, "arms": []}])
def test_a_summary_without_a_verdict_logs_nothing(summary):
    assert position_metrics({"economics.a.roi": 1.0}, summary) == {}
