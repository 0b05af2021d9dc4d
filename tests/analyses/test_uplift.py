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
