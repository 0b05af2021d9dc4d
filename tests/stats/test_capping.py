"""Capping money outcomes (:mod:`crm_experiments.stats.capping`): the pooled empirical
percentile as the cap, net profit following gross profit, idempotence, everything else
untouched; and on a heavy-tailed sample a smaller standard error than without capping."""

import numpy as np
import pandas as pd
import pytest

from crm_experiments.stats.capping import cap_money, pooled_cap, winsorize
from crm_experiments.stats.table import compare_arms


def _table(n: int = 2_000, seed: int = 7) -> pd.DataFrame:
    """Per-customer money like a shop's: 30% buyers with lognormal revenue (sigma 1.5),
    gross profit 45% of it, a 0.05 message cost for the treated; the treatment arm's buyers
    spend 3x more (so the arms' own percentiles differ from the pooled one)."""
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.3, "control", "coupon")
    buys = rng.random(n) < 0.3
    revenue = np.where(buys, rng.lognormal(4.0, 1.5, n), 0.0) * np.where(arm == "coupon", 3, 1)
    df = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "arm": arm,
                       "orders": buys.astype(int), "revenue": revenue,
                       "gross_profit": 0.45 * revenue, "pre_revenue": rng.lognormal(3, 1, n),
                       "message_cost": np.where(arm == "coupon", 0.05, 0.0)})
    df["net_profit"] = df["gross_profit"] - df["message_cost"]
    return df


def test_cap_is_the_pooled_empirical_percentile_of_both_arms():
    df = _table()
    out, applied = cap_money(df, 99)
    for col in ("revenue", "gross_profit"):
        pooled = np.percentile(df[col], 99, method="inverted_cdf")
        assert applied.caps[col] == pooled
        assert out[col].max() == pooled
        assert applied.n_capped[col] == int((df[col] > pooled).sum()) <= 0.01 * len(df)
        # not either arm's own percentile: one cap for every arm
        for _, g in df.groupby("arm"):
            assert np.percentile(g[col], 99, method="inverted_cdf") != pytest.approx(pooled)
    # the cap does not depend on which customer is in which arm
    shuffled = df.assign(arm=np.random.default_rng(1).permutation(df["arm"].to_numpy()))
    assert cap_money(shuffled, 99)[1].caps == applied.caps
    assert applied.percentile == 99 and applied.n_customers == len(df)
    assert applied.not_capped == ()


def test_only_values_above_the_cap_change_and_net_profit_follows_gross_profit():
    df = _table()
    before = df.copy()
    out, applied = cap_money(df, 99.5)
    pd.testing.assert_frame_equal(df, before)  # the input is not modified
    for col in ("revenue", "gross_profit"):
        above = df[col] > applied.caps[col]
        assert (out.loc[~above, col] == df.loc[~above, col]).all()
        assert (out.loc[above, col] == applied.caps[col]).all()
    # net profit = capped gross profit - costs, costs untouched
    np.testing.assert_allclose(out["net_profit"], out["gross_profit"] - df["message_cost"])
    untouched = ["customer_id", "arm", "orders", "pre_revenue", "message_cost"]
    pd.testing.assert_frame_equal(out[untouched], df[untouched])
    assert list(out.columns) == list(df.columns)


def test_capping_is_idempotent_and_off_returns_the_table_itself():
    df = _table()
    once, first = cap_money(df, 99.5)
    twice, second = cap_money(once, 99.5)
    pd.testing.assert_frame_equal(twice, once)
    assert second.caps == first.caps and set(second.n_capped.values()) == {0}
    same, applied = cap_money(df, None)
    assert same is df and applied is None


def test_a_percentile_that_is_zero_caps_nothing():
    """0.2% buyers: the 99.5th percentile of revenue is 0; capping would erase revenue."""
    df = pd.DataFrame({"arm": ["c", "t"] * 500, "revenue": [0.0] * 998 + [50.0, 900.0]})
    df["gross_profit"] = 0.45 * df["revenue"]
    df["net_profit"] = df["gross_profit"]
    out, applied = cap_money(df, 99.5)
    assert applied.not_capped == ("revenue", "gross_profit") and applied.caps == {}
    pd.testing.assert_frame_equal(out, df)
    assert applied.to_dict()["not_capped"] == ["revenue", "gross_profit"]


def test_winsorize_and_percentile_checks():
    capped, cap = winsorize(np.array([5.0, np.nan, 1.0, 2.0, 40.0]), 75)
    assert cap == 5.0
    np.testing.assert_array_equal(capped, [5.0, np.nan, 1.0, 2.0, 5.0])
    assert np.isnan(pooled_cap([], 99))
    with pytest.raises(ValueError, match="percentile"):
        cap_money(_table(100), 120)


def test_capping_lowers_the_standard_error_on_a_heavy_tailed_sample():
    """300 A/A draws of 600 customers from a heavy-tailed revenue (lognormal, sigma 2): the
    Welch standard error of the capped difference (99th percentile) is smaller in every draw,
    and the estimates' spread over the draws is smaller too."""
    rng = np.random.default_rng(18)
    est, se = {None: [], 99: []}, {None: [], 99: []}
    for _ in range(300):
        df = pd.DataFrame({"arm": np.repeat(["control", "treated"], 300),
                           "revenue": np.where(rng.random(600) < 0.4,
                                               rng.lognormal(4, 2, 600), 0.0)})
        for p in est:
            capped, _ = cap_money(df, p, columns=("revenue",))
            e = compare_arms(capped, arm="arm", control="control", metrics=["revenue"],
                             correction=None).effects[0]
            est[p].append(e.estimate)
            se[p].append(e.se)
    ratio = np.array(se[99]) / np.array(se[None])
    assert (ratio < 1).all()
    assert np.mean(ratio) < 0.8
    assert np.std(est[99]) < 0.8 * np.std(est[None])
