"""The uplift analysis against the generator's known per-customer truth (medium demo shop)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_experiments.io.reader import load_shop
from crm_experiments.params import load_params
from crm_experiments.uplift import analyse_uplift, recommend
from crm_experiments.uplift.present import customer_table

HORIZON = 30


@pytest.fixture(scope="module")
def fitted(medium_shop):
    params = load_params(medium_shop)
    shop = load_shop(params.data.path, timezone=params.timezone, params=params)
    customers, features = customer_table(shop, params, HORIZON)
    result = analyse_uplift(
        customers, arm="arm", control=params.control_arm, outcome="net_profit",
        features=features, orders="orders", cost_columns=("coupon_cost", "message_cost"),
        test_size=0.3, seed=params.seed, n_boot=100)
    truth = pd.read_parquet(params.data.path / "true_effects.parquet").set_index("customer_id")
    return params, customers, result, truth


def _true(truth: pd.DataFrame, ids, arms, kind: str = "net_profit") -> np.ndarray:
    """Columns: control (0), then each arm's true net-profit difference for ``ids``."""
    cols = [truth.loc[ids, f"{kind}_{a}_{HORIZON}d"].to_numpy() for a in arms]
    return np.column_stack([np.zeros(len(ids)), *cols])


def _value(true: np.ndarray, policy, control, arms) -> float:
    index = {a: k for k, a in enumerate([control, *arms])}
    pick = np.array([index[p] for p in policy])
    return float(true[np.arange(len(pick)), pick].mean())


def test_estimated_uplift_correlates_with_truth(fitted):
    params, customers, result, truth = fitted
    ids = customers.loc[result.test_index, "customer_id"]
    true = _true(truth, ids, result.arms, "expected_net_profit")
    for j, arm in enumerate(result.arms):
        r = np.corrcoef(result.test_effects[f"effect_{arm}"], true[:, j + 1])[0, 1]
        print(f"{arm}: correlation with the expected true effect {r:.3f}")
        assert r > 0, arm


def test_policy_value_interval_covers_true_value(fitted):
    params, customers, result, truth = fitted
    ids = customers.loc[result.test_index, "customer_id"]
    true = _true(truth, ids, result.arms)
    v = _value(true, result.test_effects["recommended_arm"], result.control, result.arms)
    row = result.policy_values.set_index("policy").loc["learned policy"]
    print(f"learned policy: true {v:.3f}, DR {row.value_dr:.3f} "
          f"[{row.value_dr_low:.3f}, {row.value_dr_high:.3f}]")
    assert row.value_dr_low <= v <= row.value_dr_high
    assert row.value_ipw_low <= v <= row.value_ipw_high


def test_heldout_qini_interval_excludes_zero(fitted):
    _, _, result, _ = fitted
    print(result.ranking[["arm", "qini", "qini_low", "qini_high"]])
    if not (result.ranking["qini_low"] > 0).any():
        pytest.xfail("held-out Qini on net profit is not distinguishable from 0 at this size: "
                     "even the generator's true expected effect scores an interval containing 0 "
                     "on 30 % of the 43k assigned customers of the 50k demo shop")


def test_learned_policy_vs_single_coupon_and_no_coupon_in_true_profit(fitted):
    params, customers, result, truth = fitted
    true = _true(truth, customers["customer_id"], result.arms, "expected_net_profit")
    model = result.model
    policy, _ = recommend(model.effects(customers), model.arms, model.control,
                          cost_per_treated=model.cost_per_treated)
    learned = _value(true, policy, result.control, result.arms)
    chosen = _value(true, model.predict(customers)["recommended_arm"], result.control,
                    result.arms)
    singles = {a: true[:, j + 1].mean() for j, a in enumerate(result.arms)}
    print(f"true expected profit per customer: learned {learned:.3f}, recommended "
          f"({result.recommended_policy}) {chosen:.3f}, singles {singles}, none 0")
    assert learned > 0 and chosen > 0
    if learned <= max(singles.values()):
        pytest.xfail("the learned policy does not beat the best single coupon in true profit: "
                     "the targeting gain available (~0.25 per customer) is below what the "
                     "per-customer model can resolve against the outcome noise")


@pytest.fixture(scope="module")
def strong_shop(tmp_path_factory):
    """The demo campaign with three times the generator's lifts (30k customers): heterogeneity
    the data can resolve, to show the machinery finds it when it is there."""
    from crm_experiments.demo.generator import generate_shop
    from tests.conftest import write_params

    root = tmp_path_factory.mktemp("strong_shop")
    params_file = write_params(root / "strong.yaml", root / "data")
    params = load_params(params_file)
    generate_shop(root / "data", params, n_customers=30_000,
                  lift_scale={a: 3.0 for a in params.treatment_arms})
    return params_file


def test_with_stronger_effects_ranking_and_policy_value_match_the_truth(strong_shop):
    params = load_params(strong_shop)
    shop = load_shop(params.data.path, timezone=params.timezone, params=params)
    customers, features = customer_table(shop, params, HORIZON)
    result = analyse_uplift(
        customers, arm="arm", control=params.control_arm, outcome="net_profit",
        features=features, test_size=0.3, seed=params.seed, n_boot=100)
    truth = pd.read_parquet(params.data.path / "true_effects.parquet").set_index("customer_id")
    ids = customers.loc[result.test_index, "customer_id"]
    expected = _true(truth, ids, result.arms, "expected_net_profit")
    for j, arm in enumerate(result.arms):
        r = np.corrcoef(result.test_effects[f"effect_{arm}"], expected[:, j + 1])[0, 1]
        assert r > 0.3, (arm, r)
    print(result.ranking[["arm", "qini", "qini_low", "qini_high"]])
    assert (result.ranking["qini_low"] > 0).all()
    v = _value(_true(truth, ids, result.arms), result.test_effects["recommended_arm"],
               result.control, result.arms)
    row = result.policy_values.set_index("policy").loc["learned policy"]
    assert row.value_dr_low <= v <= row.value_dr_high
