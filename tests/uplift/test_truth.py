"""The uplift analysis against the generator's known per-customer truth (medium demo shop).

Measured on the 30k medium shop (generator version 3, seed 20251111; T-learner with 30
boosting rounds and one outcome model per arm, as the notebook; half the customers held out):
correlation of the estimated with the expected true effect 0.125 (100-10) and 0.306 (200-30);
held-out Qini 200-30 0.088 [0.036, 0.137]; learned policy on the held-out half: true 3.97,
DR 3.84 [1.33, 6.35] per customer; on all customers, true expected profit 4.47 learned vs
3.98 everyone 200-30, 1.19 everyone 100-10, 0 no coupons (5.02 for the oracle). (With three
fold-averaged outcome models per arm, before: 0.14 / 0.28, Qini 0.094, learned 4.38.)

Why the T-learner: on generator seeds 1, 2 and 3 (not the tests' seed) it passed the checks
below (except, on seed 1, the Qini interval's lower end: -0.009, a 0.051 Qini with 100
resamples; 0.005 with the fold-averaged models and the earlier resampling stream), while the
X-learner's 100-10 ranking correlated negatively with the truth on two of them (its second
stage regresses imputed effects dominated by a few big spenders)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_experiments.analyses.uplift import customer_table
from crm_experiments.io.reader import load_shop
from crm_experiments.params import load_params
from crm_experiments.uplift import analyse_uplift, recommend

HORIZON = 30


@pytest.fixture(scope="module")
def fitted(medium_shop):
    params = load_params(medium_shop)
    shop = load_shop(params.data.path, timezone=params.timezone, params=params)
    customers, features = customer_table(shop, params, HORIZON)
    result = analyse_uplift(
        customers, arm="arm", control=params.control_arm, outcome="net_profit",
        features=features, orders="orders", cost_columns=("coupon_cost", "message_cost"),
        test_size=0.5, seed=params.seed, learner="t", max_iter=30, n_boot=100)
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
    # measured: 200-30 0.088 [0.036, 0.137]; 100-10 0.040 [-0.011, 0.106] (its effect
    # varies little across states: -0.1 to 4 CNY, against the 200-30's -1.6 to 13)
    ranking = result.ranking.set_index("arm")
    assert ranking.loc["coupon_200_30", "qini_low"] > 0


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
    # measured: learned 4.47 vs everyone 200-30 3.98, everyone 100-10 1.19, no coupons 0
    assert learned > max(singles.values()) and learned > 0
