"""The planner on three demo campaigns with known truth (tests/plan/conftest.py): it keeps the
truly better arm, drops the truly unprofitable one, contacts the truly responsive lifecycle
states, writes params that validate and evaluate as they are, logs to MLflow, and its holdout
share gives the power it claims."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from mlflow.tracking import MlflowClient

from crm_experiments.cli import main
from crm_experiments.demo.generator import generate_shop
from crm_experiments.params import load_params
from crm_experiments.plan.gather import PlanError
from crm_experiments.plan.run import make_plan
from crm_experiments.stats.design import power_at
from tests.plan.conftest import HORIZON, REAL

STATES = ("new_one", "new_repeat", "old_one", "old_repeat", "silent", "sleeping", "lost")


def _truth(truths, arm, state=None) -> float:
    """Mean over the campaigns of the true effect on net profit per customer."""
    vals = []
    for t in truths.values():
        e = t["effects"][str(HORIZON)][arm]
        vals.append(e["overall"]["net_profit"] if state is None
                    else e["by_lifecycle_state"][state]["net_profit"])
    return float(np.mean(vals))


@pytest.fixture(scope="module")
def planned(past):
    return make_plan("camp_next", campaigns_dir=past["campaigns_dir"],
                     drafts_dir=past["root"] / "drafts")


def test_arms_follow_the_truth(past, planned):
    kinds = planned.plan.kinds.set_index("kind")
    truth = {k: _truth(past["truths"], k) for k in kinds.index}
    best = max(truth, key=truth.get)
    worst = min(truth, key=truth.get)
    assert best == "coupon_200_30" and truth[best] > 5
    assert worst == "coupon_60_50" and truth[worst] < 0
    assert kinds.loc[best, "decision"] == "keep"
    assert planned.plan.primary == best
    assert kinds.loc[worst, "decision"] == "drop"
    # the pooled estimates cover the truths they estimate
    for k in kinds.index:
        assert kinds.loc[k, "ci_low"] <= truth[k] <= kinds.loc[k, "ci_high"], k
    names = {a["name"] for a in planned.plan.arms}
    assert best in names and worst not in names and "control" in names
    assert kinds.loc[best, "method"].startswith("random effects, Paule-Mandel")
    assert kinds.loc[best, "k"] == 3


def test_states_follow_the_truth(past, planned):
    states = planned.plan.states.set_index("state")
    truth = {s: _truth(past["truths"], planned.plan.primary, s) for s in STATES}
    targeted = set(states.index[states["action"] == "target"])
    # contacted: exactly the states where the kept coupon truly earns > 0.5 per customer
    assert targeted == {s for s, v in truth.items() if v > 0.5}, (truth, targeted)
    assert states.loc["lost", "action"] == "suppress"
    # the truly most responsive states get the kept (deep) coupon; silent against the
    # policy's light incentive, which the reason says
    assert states.loc["sleeping", "arm_kind"] == "coupon_200_30"
    assert states.loc["silent", "arm_kind"] == "coupon_200_30"
    assert "evidence says" in states.loc["silent", "reason"]


def test_params_are_valid_runnable_and_logged(past, planned, tmp_path, monkeypatch):
    params = load_params(planned.params_path)
    # a draft, outside the folder the schedule reads
    assert planned.params_path == past["root"] / "drafts" / "camp_next.yaml"
    assert not (past["campaigns_dir"] / "camp_next.yaml").exists()
    assert params.campaign_id == "camp_next"
    latest = load_params(past["campaigns_dir"] / f"{REAL}.yaml")
    assert params.data.path == latest.data.path          # the latest campaign's data
    assert str(params.sale.start) == "2026-11-01" and str(params.sale.end) == "2026-11-11"
    shares = {a.name: a.planned_share for a in params.arms}
    # the control arm's share is the design's holdout share of the round (it was the share of
    # the primary arm's comparison before, 5.8% vs 6.4% on the demo)
    assert shares["control"] == pytest.approx(planned.plan.design.holdout_share, abs=1e-9)
    # summary: the params' language, and the other language beside it; escaped
    html = planned.summary_path.read_text(encoding="utf-8")
    zh = (planned.summary_path.parent / "summary.zh.html").read_text(encoding="utf-8")
    assert 'lang="en"' in html and 'lang="zh-CN"' in zh and "下一轮计划" in zh
    assert "<script" not in html and "<script" not in zh
    # MLflow: a FINISHED run tagged next_round_plan holding params and summary
    client = MlflowClient()
    run = client.get_run(planned.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["report_type"] == "next_round_plan"
    logged = {f.path for f in client.list_artifacts(planned.run_id, "plan")}
    assert {"plan/camp_next.yaml", "plan/summary.html", "plan/plan.json",
            "plan/result.json"} <= logged

    # runnable as is: generate the next round's data for exactly these params, evaluate
    out = make_plan("camp_next2", campaigns_dir=past["campaigns_dir"],
                    drafts_dir=tmp_path / "drafts", data_path=str(tmp_path / "data"),
                    sale_start=None, sale_end=None)
    p2 = load_params(out.params_path)
    generate_shop(tmp_path / "data", p2, n_customers=2_000)
    # the real command, into its own MLflow store (the planner's store stays as it was)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'next.db'}")
    reports = tmp_path / "reports"
    assert main(["run", str(out.params_path), "--horizon", str(HORIZON),
                     "--reports-dir", str(reports)]) == 0
    assert (reports / "camp_next2" / f"{HORIZON}d" / "report.html").exists()


def test_holdout_gives_the_power_it_claims(past, planned):
    """1,000 simulated experiments of the planned design (primary arm vs holdout), with the
    past control sd and a pre-period covariate giving the planned variance reduction, analysed
    with the covariate adjustment: the rejection rate matches the claimed power, at the
    planner's effect and at the truth's effect."""
    d = planned.plan.design
    assert d.reachable and d.power >= 0.8
    rng = np.random.default_rng(7)
    rho = np.sqrt(d.variance_reduction)

    def rejection_rate(effect: float, reps: int = 1_000) -> float:
        n_t, n_h = d.n_treated, d.n_holdout
        treat = np.r_[np.ones(n_t), np.zeros(n_h)]
        x = rng.standard_normal((reps, n_t + n_h))
        y = d.sd * (rho * x + np.sqrt(1 - rho ** 2) * rng.standard_normal(x.shape)) \
            + effect * treat
        # covariate adjustment (pooled within-arm slope), then a z test on the difference
        xc = np.where(treat == 1, x - x[:, treat == 1].mean(1, keepdims=True),
                      x - x[:, treat == 0].mean(1, keepdims=True))
        yc = np.where(treat == 1, y - y[:, treat == 1].mean(1, keepdims=True),
                      y - y[:, treat == 0].mean(1, keepdims=True))
        slope = (xc * yc).sum(1, keepdims=True) / (xc ** 2).sum(1, keepdims=True)
        r = y - slope * x
        diff = r[:, treat == 1].mean(1) - r[:, treat == 0].mean(1)
        se = np.sqrt(r[:, treat == 1].var(1, ddof=1) / n_t + r[:, treat == 0].var(1, ddof=1)
                     / n_h)
        return float((np.abs(diff / se) > 1.959964).mean())

    planned_rate = rejection_rate(d.effect)
    truth = _truth(past["truths"], planned.plan.primary)
    claimed_truth = power_at(d.n_total, d.holdout_share, truth, d.sd,
                             variance_reduction=d.variance_reduction).power
    truth_rate = rejection_rate(truth)
    print(f"planned effect {d.effect:.3f}: claimed {d.power:.3f}, simulated {planned_rate:.3f};"
          f" true effect {truth:.3f}: claimed {claimed_truth:.3f}, simulated {truth_rate:.3f};"
          f" holdout {d.holdout_share:.3f} of {d.n_total}, sd {d.sd:.2f}, "
          f"vr {d.variance_reduction:.3f}")
    assert abs(planned_rate - d.power) <= 0.04
    assert abs(truth_rate - claimed_truth) <= 0.04


def test_expected_profit_interval(planned):
    e = planned.plan.expected_profit
    assert e["low"] < e["estimate"] < e["high"]
    assert e["estimate"] > 0


def test_cli_plan_and_errors(past, capsys):
    code = main(["plan", "--next-id", "camp_cli", "--campaigns", "camp_a,camp_b,camp_c",
                 "--sale-start", "2026-06-01", "--sale-end", "2026-06-10", "--budget", "5000",
                 "--campaigns-dir", str(past["campaigns_dir"]),
                 "--drafts-dir", str(past["root"] / "drafts"),
                 "--out-dir", str(past["root"] / "cli-plan")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "coupon_200_30: keep" in out and "coupon_60_50: drop" in out
    raw = yaml.safe_load((past["root"] / "drafts" / "camp_cli.yaml").read_text(encoding="utf-8"))
    assert raw["sale"] == {"start": "2026-06-01", "end": "2026-06-10"}
    plan = json.loads((past["root"] / "cli-plan" / "plan.json").read_text(encoding="utf-8"))
    assert any("Budget 5,000" in r for r in plan["reasons"])
    # an existing params file is not replaced; an unknown campaign is an error (exit 2)
    assert main(["plan", "--next-id", "camp_cli", "--campaigns-dir",
                 str(past["campaigns_dir"]), "--drafts-dir", str(past["root"] / "drafts")]) == 2
    assert "exists" in capsys.readouterr().err
    with pytest.raises(PlanError, match="no FINISHED evaluation"):
        make_plan("camp_x", campaigns=["nope"], campaigns_dir=past["campaigns_dir"])


def test_notebook_runs(past, tmp_path):
    import papermill as pm

    from crm_experiments.params import NOTEBOOKS_DIR

    out = tmp_path / "results"
    pm.execute_notebook(str(NOTEBOOKS_DIR / "next_round_plan.ipynb"),
                        str(tmp_path / "executed.ipynb"),
                        parameters={"next_id": "camp_nb", "campaigns": "", "sale_start": "",
                                    "sale_end": "", "budget": None, "results_dir": str(out)},
                        kernel_name="python3", progress_bar=False, cwd=str(past["root"]))
    load_params(out / "camp_nb.yaml")
    assert (out / "summary.html").exists()
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert plan["primary"] == "coupon_200_30"


def test_the_plan_reads_aggregates_not_the_per_customer_table(past, tmp_path):
    """A stored evaluation holds one row per customer (``customers``); the plan downloads
    everything else of the result and reads it without that table."""
    from crm_experiments.plan.gather import PER_CUSTOMER_TABLE, RESULTS, read_evaluation
    from crm_experiments.tracking.client import mlflow_client

    client, exp_id = mlflow_client()
    run = next(r for r in client.search_runs([exp_id], f"tags.campaign_id = '{REAL}'"))
    stored = {f.path.rsplit("/", 1)[-1]
              for f in client.list_artifacts(run.info.run_id, f"{RESULTS}/tables")}
    assert PER_CUSTOMER_TABLE in stored  # what the run logged
    result = read_evaluation(client, run.info.run_id, REAL, tmp_path)
    got = {p.name for p in (tmp_path / run.info.run_id / "tables").iterdir()}
    assert got == stored - {PER_CUSTOMER_TABLE}
    assert "customers" not in result.tables() and not result.table("economics").empty


def test_params_rebuilt_from_a_runs_mlflow_params(past):
    """Without the campaign's YAML the plan rebuilds its params from the run's flat MLflow
    params, which also hold the run's own keys (params file, arm positions): those are not
    campaign params and are left out."""
    from types import SimpleNamespace

    from crm_experiments.plan.output import base_params

    params = load_params(past["campaigns_dir"] / f"{REAL}.yaml")
    logged = {**params.flat(), "params_file": f"{REAL}.yaml", "control.arm": "control",
              "treatment_1.arm": params.treatment_arms[0], "treatment_1.label": "None"}
    rebuilt = base_params(SimpleNamespace(campaign_id=REAL, params=logged), None)
    assert rebuilt == params.model_dump(mode="json")
