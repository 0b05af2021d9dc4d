import numpy as np
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.stats import proportion as smp
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.effects import (
    bootstrap_mean_diff,
    compare_cuped,
    compare_means,
    compare_proportions,
    compare_ratios,
    lin_design,
)
from crm_experiments.stats.lin import compare_adjusted


@pytest.fixture
def revenue():
    rng = np.random.default_rng(11)
    y_t = rng.lognormal(3.0, 1.0, 3000) * (rng.random(3000) < 0.25)
    y_c = rng.lognormal(3.0, 1.0, 2500) * (rng.random(2500) < 0.22)
    return y_t, y_c


def test_welch_matches_scipy_and_statsmodels(revenue):
    y_t, y_c = revenue
    e = compare_means(MomentStats.from_arrays(y_t), MomentStats.from_arrays(y_c),
                      metric="revenue", arm="coupon_a")
    ref = stats.ttest_ind(y_t, y_c, equal_var=False)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert e.df == pytest.approx(ref.df, rel=1e-9)
    low, high = CompareMeans(DescrStatsW(y_t), DescrStatsW(y_c)).tconfint_diff(
        alpha=0.05, usevar="unequal")
    assert (e.ci_low, e.ci_high) == pytest.approx((low, high), rel=1e-9)
    assert e.estimate == pytest.approx(y_t.mean() - y_c.mean())
    assert e.rel_estimate == pytest.approx(y_t.mean() / y_c.mean() - 1)
    assert (e.metric, e.arm, e.control, e.method) == ("revenue", "coupon_a", "control", "welch_t")
    assert (e.n_arm, e.n_control) == (3000, 2500)


def test_relative_interval_is_fieller(revenue):
    """Hand check: the bounds are where Welch's pivot (m_t - ρ m_c)/sqrt(v_t + ρ² v_c) equals
    the absolute interval's t quantile (root-finding, not the quadratic formula); rel_se stays
    the delta-method standard error."""
    y_t, y_c = revenue
    e = compare_means(MomentStats.from_arrays(y_t), MomentStats.from_arrays(y_c))
    m_t, m_c = y_t.mean(), y_c.mean()
    s2_t, s2_c = y_t.var(ddof=1) / len(y_t), y_c.var(ddof=1) / len(y_c)
    r = m_t / m_c
    assert e.rel_se == pytest.approx(np.sqrt(r**2 * (s2_t / m_t**2 + s2_c / m_c**2)))
    q = stats.t.ppf(0.975, e.df)

    def excess(rho):
        return abs(m_t - rho * m_c) / np.sqrt(s2_t + rho**2 * s2_c) - q

    low = optimize.brentq(excess, r / 3, r)
    high = optimize.brentq(excess, r, 3 * r)
    assert (e.rel_ci_low, e.rel_ci_high) == pytest.approx((low - 1, high - 1), rel=1e-9)
    # asymmetric, unlike the delta method's r ± z·se
    assert high - r > r - low


@pytest.mark.parametrize("counts", [(130, 1000, 100, 1000), (45, 800, 61, 1200)])
def test_proportions_match_statsmodels_wald(counts):
    k_t, n_t, k_c, n_c = counts
    y_t = np.r_[np.ones(k_t), np.zeros(n_t - k_t)]
    y_c = np.r_[np.ones(k_c), np.zeros(n_c - k_c)]
    e = compare_proportions(MomentStats.from_arrays(y_t), MomentStats.from_arrays(y_c))
    low, high = smp.confint_proportions_2indep(k_t, n_t, k_c, n_c, method="wald", compare="diff")
    assert (e.ci_low, e.ci_high) == pytest.approx((low, high), rel=1e-9)
    ref = smp.test_proportions_2indep(k_t, n_t, k_c, n_c, method="wald", compare="diff")
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert e.method == "two_proportion_z_unpooled"


def test_ratio_delta_method_matches_linearisation():
    rng = np.random.default_rng(3)
    d_t, d_c = rng.poisson(1.2, 4000), rng.poisson(1.1, 4000)
    y_t, y_c = rng.gamma(2 * d_t + 1e-12, 30.0), rng.gamma(2 * d_c + 1e-12, 28.0)
    e = compare_ratios(MomentStats.from_arrays(y_t, den=d_t), MomentStats.from_arrays(y_c, den=d_c))
    r_t, r_c = y_t.sum() / d_t.sum(), y_c.sum() / d_c.sum()
    assert e.estimate == pytest.approx(r_t - r_c)
    # var(R) = var of the linearised unit contributions (y - R d) / mean(d), divided by n
    lin_t = (y_t - r_t * d_t) / d_t.mean()
    lin_c = (y_c - r_c * d_c) / d_c.mean()
    se = np.sqrt(lin_t.var(ddof=1) / 4000 + lin_c.var(ddof=1) / 4000)
    assert e.se == pytest.approx(se, rel=1e-9)
    assert e.p_value == pytest.approx(2 * stats.norm.sf(abs(e.estimate / se)), rel=1e-9)


def _adjusted_data(n, rho, effect, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(100, 20, n)
    y = 50 + rho * (x - 100) + np.sqrt(1 - rho**2) * rng.normal(0, 20, n)
    t = (rng.random(n) < 0.5).astype(float)
    return y + effect * t, x, t


def test_lin_matches_hand_built_statsmodels_ols():
    y, x, t = _adjusted_data(3000, 0.6, 2.0, seed=5)
    e = compare_adjusted(y, x, t, metric="gmv")
    xc = x - x.mean()
    X = sm.add_constant(np.column_stack([t, xc, t * xc]))
    ref = sm.OLS(y, X).fit(cov_type="HC2")
    assert e.estimate == pytest.approx(ref.params[1], rel=1e-10)
    assert e.se == pytest.approx(ref.bse[1], rel=1e-10)
    assert e.p_value == pytest.approx(ref.pvalues[1], rel=1e-8)
    assert (e.ci_low, e.ci_high) == pytest.approx(tuple(ref.conf_int(0.05)[1]), rel=1e-10)
    assert e.method == "lin_ols_hc2"
    assert e.mean_arm - e.mean_control == pytest.approx(e.estimate)


def test_lin_accepts_several_covariates():
    y, x, t = _adjusted_data(1000, 0.5, 1.0, seed=6)
    x2 = np.column_stack([x, np.random.default_rng(1).normal(size=1000)])
    _, design = lin_design(y, x2, t)
    assert design.shape == (1000, 6)
    assert np.isfinite(compare_adjusted(y, x2, t).se)


def test_cuped_from_moments_agrees_with_lin_on_large_samples():
    rho = 0.6
    y, x, t = _adjusted_data(200_000, rho, 1.5, seed=8)
    on = t == 1
    cuped = compare_cuped(MomentStats.from_arrays(y[on], x[on]),
                          MomentStats.from_arrays(y[~on], x[~on]))
    lin = compare_adjusted(y, x, t)
    assert cuped.estimate == pytest.approx(lin.estimate, abs=0.02 * lin.se)
    assert cuped.se == pytest.approx(lin.se, rel=0.01)
    assert cuped.rel_se == pytest.approx(lin.rel_se, rel=0.02)
    assert cuped.variance_reduction == pytest.approx(rho**2, abs=0.01)
    assert lin.variance_reduction == pytest.approx(rho**2, abs=0.01)
    assert cuped.method == "cuped"


def test_moment_path_equals_row_path_for_cuped_strata():
    y, x, t = _adjusted_data(4000, 0.5, 1.0, seed=9)
    on = t == 1
    whole = compare_cuped(MomentStats.from_arrays(y[on], x[on]),
                          MomentStats.from_arrays(y[~on], x[~on]))
    halves = [slice(0, 2000), slice(2000, None)]
    arm = sum((MomentStats.from_arrays(y[h][on[h]], x[h][on[h]]) for h in halves[1:]),
              MomentStats.from_arrays(y[halves[0]][on[halves[0]]], x[halves[0]][on[halves[0]]]))
    ctl = sum((MomentStats.from_arrays(y[h][~on[h]], x[h][~on[h]]) for h in halves[1:]),
              MomentStats.from_arrays(y[halves[0]][~on[halves[0]]], x[halves[0]][~on[halves[0]]]))
    split = compare_cuped(arm, ctl)
    assert split.estimate == pytest.approx(whole.estimate, rel=1e-10)
    assert split.ci_high == pytest.approx(whole.ci_high, rel=1e-10)


def test_bootstrap_is_seeded_and_close_to_welch(revenue):
    y_t, y_c = revenue
    a = bootstrap_mean_diff(y_t, y_c, n_resamples=2000, seed=1, method="percentile")
    b = bootstrap_mean_diff(y_t, y_c, n_resamples=2000, seed=1, method="percentile")
    assert a == b
    w = compare_means(MomentStats.from_arrays(y_t), MomentStats.from_arrays(y_c))
    assert a.estimate == pytest.approx(w.estimate)
    assert a.ci_low == pytest.approx(w.ci_low, abs=0.15 * w.se)
    assert a.ci_high == pytest.approx(w.ci_high, abs=0.15 * w.se)
    # the bootstrap ratio interval is skewed (right-shifted) where the delta method is
    # symmetric; the widths agree
    assert a.rel_ci_high - a.rel_ci_low == pytest.approx(w.rel_ci_high - w.rel_ci_low, rel=0.1)
    assert np.isnan(a.p_value) and a.method == "bootstrap_percentile"


def test_bootstrap_bca_runs():
    rng = np.random.default_rng(2)
    e = bootstrap_mean_diff(rng.lognormal(size=300), rng.lognormal(size=300), n_resamples=999)
    assert e.method == "bootstrap_bca" and e.ci_low < e.estimate < e.ci_high


def test_array_fields_give_array_results():
    rng = np.random.default_rng(4)
    y_t, y_c = rng.normal(1, 1, (50, 200)), rng.normal(1, 1, (50, 200))
    e = compare_means(MomentStats.from_arrays(y_t, axis=1), MomentStats.from_arrays(y_c, axis=1))
    assert e.p_value.shape == (50,)
    ref = stats.ttest_ind(y_t, y_c, axis=1, equal_var=False)
    np.testing.assert_allclose(e.p_value, ref.pvalue, rtol=1e-9)


def test_to_frame_has_one_row_with_every_field(revenue):
    y_t, y_c = revenue
    f = compare_means(MomentStats.from_arrays(y_t), MomentStats.from_arrays(y_c)).to_frame()
    assert len(f) == 1
    for col in ("metric", "arm", "control", "n_arm", "n_control", "mean_arm", "mean_control",
                "estimate", "ci_low", "ci_high", "p_value", "rel_estimate", "rel_ci_low",
                "rel_ci_high", "method", "alpha", "variance_reduction"):
        assert col in f.columns
