"""One truth in the plan: each past arm's money is its evaluation's economics row, the holdout is
the evaluation's computation (equal numbers when the round is like the evaluated one), the arm
shares are the plan's own design, and a run in the old layout is refused with a clear error."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crm_experiments.analyses.campaign import Evaluation, evaluate
from crm_experiments.params import load_params
from crm_experiments.plan.decide import ECONOMICS, SECONDARY_SHARE, build_plan
from crm_experiments.plan.gather import PastCampaign, PlanError, gather_evaluations
from crm_experiments.plan.run import draft_plan
from crm_experiments.report.format import money, pct
from crm_experiments.tracking.client import REPORT_TYPE, mlflow_client
from tests.plan.conftest import CAMPAIGNS, HORIZON, REAL

MONEY = ("incremental_profit", "incremental_profit_low", "incremental_profit_high", "roi",
         "roi_low", "roi_high", "cost_per_incremental_order")


@pytest.fixture(scope="module")
def drafted(past, tmp_path_factory):
    out = tmp_path_factory.mktemp("draft")
    return draft_plan("camp_figures", out_dir=out, campaigns_dir=past["campaigns_dir"])


def test_arm_money_is_the_evaluations(past, drafted):
    """ROI, cost per incremental order and incremental profit (with intervals) of every past arm
    are the stored evaluation's economics values, bit for bit; so is the effect's interval in
    the evaluation's family; the page shows them."""
    plan = drafted.plan
    table = plan.tables()["campaign_arms"]
    stored = {p.campaign_id: p for p in gather_evaluations()}
    assert set(table["campaign_id"]) == set(CAMPAIGNS)
    for row in table.itertuples():
        econ = stored[row.campaign_id].table("economics").set_index("arm").loc[row.arm]
        for col in ECONOMICS:
            mine, theirs = getattr(row, col), econ[col]
            assert mine == theirs or (pd.isna(mine) and pd.isna(theirs)), (row.arm, col)
        eff = stored[row.campaign_id].table("effects")
        e = eff[(eff["arm"] == row.arm) & (eff["metric"] == "net_profit")].iloc[0]
        assert (row.effect, row.se) == (e["estimate"], e["se"])
        assert (row.ci_low_adjusted, row.ci_high_adjusted) == (e["ci_low_adjusted"],
                                                               e["ci_high_adjusted"])
        assert row.correction == "holm"
    # fixed cost included: ROI = incremental profit / total cost (the evaluation's own ratio)
    assert (table["fixed_cost"] > 0).all()
    html = drafted.summary_path.read_text(encoding="utf-8")
    for row in table.itertuples():
        assert pct(row.roi, "en", 0) in html
        assert money(row.cost_per_incremental_order, "CNY", "en", 2) in html
        assert money(row.incremental_profit, "CNY", "en", 0) in html
    # the stored plan renders the same page
    from crm_experiments.plan.decide import Plan
    from crm_experiments.plan.output import page_options
    from crm_experiments.report.plan_page import plan_page

    again = plan_page(Plan.read(drafted.summary_path.parent),
                      **page_options(plan, drafted.params), params_path=drafted.params_path.name)
    assert again == html


def test_shares_are_the_design(drafted):
    plan = drafted.plan
    shares = {a["name"]: a["planned_share"] for a in plan.arms}
    assert shares["control"] == pytest.approx(plan.design.holdout_share, abs=1e-9)
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-9)
    secondaries = [n for n in shares if n not in ("control", plan.primary)]
    assert all(shares[s] == SECONDARY_SHARE for s in secondaries)
    assert plan.design.n_total == plan.n_audience
    # pooled over three campaigns and without the lost customers: the evaluation's
    # recommendation is shown beside the plan's, with the reasons
    s = plan.summary()
    assert not s["holdout_same"]
    keys = {n["key"] for n in s["holdout_notes"]}
    assert "plan_holdout_why_pooled" in keys and "plan_holdout_why_audience" in keys
    html = drafted.summary_path.read_text(encoding="utf-8")
    evaluation = s["evaluation_design"]
    assert f"{evaluation['n_total']:,}" in html and pct(evaluation["holdout_share"], "en") in html


def _stored(past, cid: str, tmp_path, **kwargs) -> tuple[PastCampaign, Evaluation]:
    params = load_params(past["campaigns_dir"] / f"{cid}.yaml")
    ev = evaluate(params, HORIZON, **kwargs)
    ev.write(tmp_path / cid)
    return PastCampaign(cid, HORIZON, f"run-{cid}", params.flat(),
                        Evaluation.read(tmp_path / cid)), ev


def test_holdout_is_the_evaluations_for_the_same_round(past, tmp_path):
    """A round like the evaluated one (one campaign, every customer contacted, the best arm
    primary) gets exactly the evaluation's next-round design, and the control share is it."""
    # without lifecycle segments no state can be suppressed: the plan's round has the same
    # customers as the evaluated one
    latest, ev = _stored(past, REAL, tmp_path, segment_columns=("tier",))
    plan = build_plan([latest], "camp_same", fixed_cost=ev.params.costs.fixed_cost,
                      alpha=ev.params.alpha)
    assert plan.n_audience == ev.n_assigned
    assert plan.design == ev.design  # every field: share, counts, power, MDE, message
    assert plan.summary()["holdout_same"] and plan.holdout_notes == []
    shares = {a["name"]: a["planned_share"] for a in plan.arms}
    assert shares["control"] == pytest.approx(ev.design.holdout_share, abs=1e-9)

    from crm_experiments.report.i18n import tr
    from crm_experiments.report.plan_page import plan_page

    html = plan_page(plan, lang="en", currency="CNY", display_name="same")
    assert tr("plan_holdout_same", "en", campaign=REAL).split(":")[0] in html


def test_old_layout_run_is_refused(past, tmp_path, monkeypatch):
    """A run whose results are tables/*.csv (before the result schema) gives a PlanError that
    names the run and says to re-run that evaluation."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'old.db'}")
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "summary.json").write_text(json.dumps({"campaign_id": "old_camp"}))
    pd.DataFrame({"arm": ["a"], "metric": ["net_profit"], "estimate": [1.0]}).to_csv(
        results / "tables" / "effects.csv", index=False)
    client, exp_id = mlflow_client()
    run = client.create_run(exp_id, tags={"campaign_id": "old_camp", "horizon_days": "30",
                                          "report_type": REPORT_TYPE})
    client.log_artifacts(run.info.run_id, str(results), "results")
    client.set_terminated(run.info.run_id, "FINISHED")
    with pytest.raises(PlanError) as err:
        gather_evaluations(["old_camp"])
    message = str(err.value)
    assert run.info.run_id in message and "old_camp" in message
    assert "old layout" in message and "re-run that evaluation" in message


def test_result_missing_a_declared_table_is_refused(past, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'bad.db'}")
    monkeypatch.chdir(tmp_path)
    _, ev = _stored(past, REAL, tmp_path / "work")
    results = ev.write(tmp_path / "results")
    (results / "tables" / "economics.parquet").unlink()
    client, exp_id = mlflow_client()
    run = client.create_run(exp_id, tags={"campaign_id": REAL, "horizon_days": str(HORIZON),
                                          "report_type": REPORT_TYPE})
    client.log_artifacts(run.info.run_id, str(results), "results")
    client.set_terminated(run.info.run_id, "FINISHED")
    with pytest.raises(PlanError, match=f"run {run.info.run_id} \\({REAL}\\).*economics"):
        gather_evaluations([REAL])


def test_a_decision_unlike_the_evaluations_is_explained(drafted):
    from crm_experiments.plan.decide import SAME_DECISION, _decisions_that_differ

    plan = drafted.plan
    latest = plan.arm_table[plan.arm_table["campaign_id"] == plan.latest]
    decision = plan.kinds.set_index("kind")["decision"]
    differing = {r.kind for r in latest.itertuples()
                 if SAME_DECISION[r.evaluation_decision] != decision[r.kind]}
    noted = {r["args"]["kind"] for r in plan.reasons if r["key"] == "plan_note_decision_differs"}
    assert noted == differing
    # e.g. an arm the evaluation would test again (fixed cost, Holm family) that the plan keeps
    arms = pd.DataFrame({"campaign_id": ["c", "c"], "kind": ["k1", "k2"],
                         "evaluation_decision": ["test_again", "roll_out"]})
    kinds = pd.DataFrame({"kind": ["k1", "k2"], "decision": ["keep", "keep"]})
    notes = _decisions_that_differ(arms, kinds, "c")
    assert [(n["args"]["kind"], n["args"]["plan_key"], n["args"]["evaluation_key"])
            for n in notes] == [("k1", "plan_decision_keep", "decision_label_test_again")]


def test_a_holdout_without_spread_is_a_clear_refusal():
    """A past evaluation whose holdout's net profit has no spread (no holdout customer
    bought) cannot size the next holdout: a PlanError naming the campaign, not statsmodels'
    'sd must be positive' traceback."""
    from crm_experiments.plan.decide import _design_inputs

    arms = pd.DataFrame({"campaign_id": ["c_zero"], "kind": ["coupon"], "control_sd": [0.0],
                         "control_mean": [0.0], "n_control": [500], "variance_reduction": [0.2],
                         "se": [0.1], "n_arm": [500]})
    kinds = pd.DataFrame({"kind": ["coupon"], "estimate": [1.0], "ci_high": [2.0], "k": [1]})
    with pytest.raises(PlanError, match=r"no spread \(sd 0\) in the evaluations of c_zero"):
        _design_inputs(arms, kinds, "coupon", 0.05, 0.8, [])
    arms["control_sd"] = 3.0  # with spread it sizes the holdout
    assert _design_inputs(arms, kinds, "coupon", 0.05, 0.8, [])["sd"] == 3.0
