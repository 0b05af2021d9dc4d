"""analyses.uplift: what the coupon-uplift page's segment table holds."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from crm_experiments.analyses.from_evaluation import stored_evaluation
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


def test_uplift_takes_the_evaluations_money(small_shop, tmp_path, monkeypatch):
    """With the evaluation stored beside it (as the runner leaves it), the uplift analysis
    takes the evaluation's money and net-profit effects instead of comparing the arms again:
    the same economics and best single arm as computing them, and no second comparison."""
    import crm_experiments.analyses.uplift as up
    from crm_experiments.analyses.campaign import evaluate
    from crm_experiments.io.reader import load_shop

    params = load_params(small_shop)
    shop = load_shop(params.data.path, params=params, validate=False)
    evaluate(params, 30, shop).write(tmp_path / "results")
    read = []  # Parquet files read
    read_parquet = pd.read_parquet

    def spy(path, *args, **kwargs):
        read.append(os.path.basename(path))
        return read_parquet(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_parquet", spy)
    stored = stored_evaluation(tmp_path / "results")
    assert "customers.parquet" not in read   # the per-customer table is not read here
    monkeypatch.setattr(pd, "read_parquet", read_parquet)
    own = up.analyse_campaign_uplift(shop, params, 30, max_train=1000)
    monkeypatch.setattr(up, "compare_campaign",
                        lambda *a, **k: pytest.fail("the arms were compared again"))
    monkeypatch.setattr(up, "campaign_customers",
                        lambda *a, **k: pytest.fail("the customer table was computed again"))
    taken = []  # the columns of the per-customer tables taken from the evaluation
    real = up.evaluation_customers

    def spied(*args, **kwargs):
        table = real(*args, **kwargs)
        taken.append(set(table.columns))
        return table

    monkeypatch.setattr(up, "evaluation_customers", spied)
    reused = up.analyse_campaign_uplift(shop, params, 30, max_train=1000, evaluation=stored)
    # not every column; province is not in the evaluation's table (it comes with the shop's
    # customer attributes)
    assert taken == [{"customer_id", *up.USED_COLUMNS} - {"province"}]
    pd.testing.assert_frame_equal(reused.economics, own.economics, check_dtype=False)
    assert reused.uplift.best_single_arm == own.uplift.best_single_arm
    assert reused.uplift.recommended_policy == own.uplift.recommended_policy
    for name in ("policy_values", "ranking", "segment_effects", "next_round_targets"):
        pd.testing.assert_frame_equal(reused.tables()[name], own.tables()[name], obj=name)
    assert up.evaluation_money(stored, params, 7) is None       # another horizon's: not used
    assert stored_evaluation(tmp_path / "nothing") is None
    # read as every stored result: checked against the evaluation's schema
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "results", broken)
    effects = broken / "tables" / "effects.parquet"
    pd.read_parquet(effects).drop(columns=["se"]).to_parquet(effects, index=False)
    assert stored_evaluation(broken) is None
