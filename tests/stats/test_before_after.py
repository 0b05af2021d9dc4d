import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import optimize, stats
from statsmodels.stats.weightstats import DescrStatsW

from crm_experiments.stats.before_after import (
    compare_to_baseline,
    did_by_arm,
    difference_in_differences,
)


@pytest.fixture
def windows():
    rng = np.random.default_rng(21)
    base = rng.gamma(1.5, 40, 2500) * (rng.random(2500) < 0.3)
    cur = 0.6 * base + rng.gamma(1.5, 45, 2500) * (rng.random(2500) < 0.3)
    return cur, base


def test_unpaired_baseline_is_welch_and_not_causal(windows):
    cur, base = windows
    r = compare_to_baseline(cur, base[:2000], metric="revenue")
    ref = stats.ttest_ind(cur, base[:2000], equal_var=False)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.estimate == pytest.approx(cur.mean() - base[:2000].mean())
    assert r.rel_estimate == pytest.approx(cur.mean() / base[:2000].mean() - 1)
    assert (r.method, r.causal, r.paired) == ("welch_t", False, False)
    assert "NOT a causal" in r.label
    f = r.to_frame()
    assert not f.loc[0, "causal"] and len(f) == 1
    assert (r.n_current, r.n_baseline) == (2500, 2000)


def test_paired_baseline_matches_ttest_rel_and_tconfint(windows):
    cur, base = windows
    r = compare_to_baseline(cur, base, paired=True, alpha=0.1)
    ref = stats.ttest_rel(cur, base)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    low, high = DescrStatsW(cur - base).tconfint_mean(alpha=0.1)
    assert (r.ci_low, r.ci_high) == pytest.approx((low, high), rel=1e-9)
    assert r.df == len(cur) - 1 and r.method == "paired_t"
    # pairing removes the shared customer level: narrower than the unpaired interval
    unpaired = compare_to_baseline(cur, base, alpha=0.1)
    assert r.ci_high - r.ci_low < unpaired.ci_high - unpaired.ci_low
    # relative interval: Fieller with the pairing; its bounds are where the paired t pivot
    # of cur - ρ·base equals the t quantile (root-finding by hand)
    ratio = cur.sum() / base.sum()
    q = stats.t.ppf(0.95, len(cur) - 1)

    def excess(rho):
        d = cur - rho * base
        return abs(d.mean()) / (d.std(ddof=1) / np.sqrt(len(d))) - q

    bounds = optimize.brentq(excess, ratio / 2, ratio), optimize.brentq(excess, ratio, 2 * ratio)
    assert (r.rel_ci_low + 1, r.rel_ci_high + 1) == pytest.approx(bounds, rel=1e-9)
    assert (r.rel_ci_low > 0 or r.rel_ci_high < 0) == (r.ci_low > 0 or r.ci_high < 0)


def test_paired_needs_same_customers(windows):
    cur, base = windows
    with pytest.raises(ValueError, match="same customers"):
        compare_to_baseline(cur, base[:10], paired=True)


def _panel(n=3000, effect=4.0, seed=3):
    rng = np.random.default_rng(seed)
    t = rng.random(n) < 0.6
    level = rng.gamma(2, 30, n) + 8 * t  # treated start higher: DiD removes that
    pre = level + rng.normal(0, 15, n)
    post = level + 5 + effect * t + rng.normal(0, 15, n)
    return pre, post, t


def test_did_equals_welch_on_changes_and_long_panel_ols():
    pre, post, t = _panel()
    e = difference_in_differences(pre, post, t, metric="revenue", arm="coupon")
    change = post - pre
    assert e.estimate == pytest.approx(change[t].mean() - change[~t].mean(), rel=1e-12)
    welch_se = np.sqrt(change[t].var(ddof=1) / t.sum() + change[~t].var(ddof=1) / (~t).sum())
    assert e.se == pytest.approx(welch_se, rel=1e-10)
    assert e.method == "did_change_ols_hc2" and e.arm == "coupon"
    hc2 = sm.OLS(change, sm.add_constant(t.astype(float))).fit(cov_type="HC2")
    assert [e.estimate, e.se, e.ci_low, e.ci_high, e.p_value] == pytest.approx(
        [hc2.params[1], hc2.bse[1], *hc2.conf_int(0.05)[1], hc2.pvalues[1]], rel=1e-10)
    assert e.estimate == pytest.approx(e.mean_arm - e.mean_control)
    assert e.rel_estimate == pytest.approx(e.mean_arm / e.mean_control - 1)
    n = len(pre)
    long = pd.DataFrame({"y": np.r_[pre, post], "treated": np.r_[t, t].astype(float),
                         "post": np.r_[np.zeros(n), np.ones(n)], "customer": np.r_[
                             np.arange(n), np.arange(n)]})
    ref = smf.ols("y ~ treated * post", long).fit(cov_type="cluster",
                                                   cov_kwds={"groups": long.customer})
    assert e.estimate == pytest.approx(ref.params["treated:post"], rel=1e-10)
    # cluster-robust (by customer) on the panel and HC2 on the changes agree up to
    # small-sample factors
    assert e.se == pytest.approx(ref.bse["treated:post"], rel=0.01)
    assert e.ci_low < 4.0 < e.ci_high


def test_did_clustered_matches_statsmodels_cluster():
    pre, post, t = _panel(seed=8)
    households = np.arange(len(pre)) // 3
    e = difference_in_differences(pre, post, t, cluster=households)
    X = sm.add_constant(t.astype(float))
    ref = sm.OLS(post - pre, X).fit(cov_type="cluster", cov_kwds={"groups": households})
    assert e.se == pytest.approx(ref.bse[1], rel=1e-10)
    assert e.method == "did_change_ols_cluster"


def test_did_by_arm_one_effect_per_treated_arm():
    pre, post, t = _panel(seed=4)
    rng = np.random.default_rng(0)
    arm = np.where(t, rng.choice(["a", "b"], len(t)), "control")
    df = pd.DataFrame({"arm": arm, "gmv_pre": pre, "gmv_post": post})
    effects = did_by_arm(df, "arm", "control", "gmv_pre", "gmv_post")
    assert [(e.arm, e.metric) for e in effects] == [("a", "gmv_post"), ("b", "gmv_post")]
    on = (arm == "a") | (arm == "control")
    direct = difference_in_differences(pre[on], post[on], arm[on] == "a")
    assert effects[0].estimate == pytest.approx(direct.estimate)
    assert effects[0].n_control == (arm == "control").sum()


def test_did_relative_interval_covers_in_simulation():
    """Relative DiD (vs the treated counterfactual) covers its truth ~95 % (400 runs)."""
    rng = np.random.default_rng(9)
    hits = 0
    for _ in range(400):
        n = 1000
        t = rng.random(n) < 0.5
        level = rng.gamma(2, 30, n)
        pre = level + rng.normal(0, 10, n)
        # everybody +10 % (mean level 60 -> 66), the treated another +3.3 = +5 % of 66
        post = level * 1.1 + rng.normal(0, 10, n) + 3.3 * t
        e = difference_in_differences(pre, post, t)
        truth = 3.3 / 66.0
        hits += e.rel_ci_low <= truth <= e.rel_ci_high
    assert 0.92 <= hits / 400 <= 0.98
