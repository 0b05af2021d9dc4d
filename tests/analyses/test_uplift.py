"""analyses.uplift: what the coupon-uplift page's segment table holds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_experiments.analyses.uplift import segment_effects
from crm_experiments.params import load_params
from tests.conftest import write_params


def test_segment_columns_with_one_value_are_left_out(tmp_path):
    """An imported shop: every tier 'unknown', no gender; one group would only repeat the
    whole comparison, so the segment table has the columns that split customers."""
    params = load_params(write_params(tmp_path / "p.yaml", tmp_path))
    rng = np.random.default_rng(3)
    n = 1200
    customers = pd.DataFrame({
        "arm": rng.choice(["control", "coupon_100_10", "coupon_200_30"], n),
        "lifecycle_state": rng.choice(["lost", "sleeping"], n),
        "tier": "unknown", "gender": None, "province": rng.choice(["Zhejiang", "Jiangsu"], n),
        "net_profit": rng.gamma(1.0, 20.0, n), "pre_gross_profit": rng.gamma(1.0, 20.0, n)})
    found = segment_effects(customers, params)
    assert set(found.segment) == {"lifecycle_state", "province"}
    assert len(found) == 2 * 2 * 2  # two values x two treatment arms per column
    customers["tier"] = rng.choice(["vip", "regular"], n)
    assert set(segment_effects(customers, params).segment) == {"lifecycle_state", "tier",
                                                                "province"}


def test_next_round_targets_in_batches_equal_one_pass():
    """The next round's list is scored in batches (bounded memory on millions of customers):
    the same rows as scoring everyone at once."""
    from crm_experiments.analyses.uplift import next_round_targets
    from crm_experiments.uplift import analyse_uplift
    from tests.uplift.test_units import synthetic

    df = synthetic(3000, seed=4).assign(customer_id=lambda d: [f"K{i}" for i in range(len(d))])
    model = analyse_uplift(df, arm="arm", control="ctl", outcome="profit",
                           features=["segment", "spend"], n_boot=5, seed=1).model
    one = next_round_targets(model, df, batch=len(df))
    pd.testing.assert_frame_equal(next_round_targets(model, df, batch=700), one)
    assert list(one.columns) == ["customer_id", "recommended_arm",
                                 "expected_incremental_profit"]
    assert len(next_round_targets(model, df.iloc[:0])) == 0
