"""Relative effects: Fieller's interval never contradicts the absolute test (stats.effects).

Vectorised draws (MomentStats with array fields) for means and proportions; short loops for
Lin's regression and Holm families. Seeds fixed.
"""

import math

import numpy as np
import pytest
from scipy import stats

from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.before_after import difference_in_differences
from crm_experiments.stats.effects import (
    compare_means,
    compare_proportions,
    fieller,
)
from crm_experiments.stats.lin import compare_adjusted
from crm_experiments.stats.multiple import adjust

ALPHA = 0.05


def _excludes_zero(low, high):
    return (np.asarray(low) > 0) | (np.asarray(high) < 0)


def _assert_agree(e, min_bounded=0.9):
    """Where the relative interval is bounded it excludes 0 iff the absolute one does iff
    p < alpha (draws within 1e-9 of the boundary are ties and skipped)."""
    low, high, p = (np.asarray(v, dtype=float) for v in (e.rel_ci_low, e.rel_ci_high, e.p_value))
    bounded = np.isfinite(low) & np.isfinite(high)
    assert bounded.mean() >= min_bounded
    clear = bounded & (np.abs(p - ALPHA) > 1e-9)
    rel = _excludes_zero(low, high)[clear]
    np.testing.assert_array_equal(rel, _excludes_zero(e.ci_low, e.ci_high)[clear])
    np.testing.assert_array_equal(rel, (p < ALPHA)[clear])
    assert 0 < rel.sum() < clear.sum()  # both outcomes occur, so the check can fail


def _delta_disagreements(e):
    """How often the old delta-method interval r ± z·rel_se contradicted p (for the record)."""
    z = stats.norm.ppf(1 - ALPHA / 2)
    rel, se = np.asarray(e.rel_estimate), np.asarray(e.rel_se)
    delta = _excludes_zero(rel - z * se, rel + z * se)
    return int(np.sum(delta != (np.asarray(e.p_value) < ALPHA)))


def test_means_relative_agrees_with_welch():
    rng = np.random.default_rng(181)
    r, n_t, n_c = 4000, 30, 25
    lift = rng.uniform(0, 0.8, (r, 1))
    y_t = rng.lognormal(2.0, 1.0, (r, n_t)) * (1 + lift)
    y_c = rng.lognormal(2.0, 1.0, (r, n_c))
    e = compare_means(MomentStats.from_arrays(y_t, axis=1), MomentStats.from_arrays(y_c, axis=1))
    _assert_agree(e)
    assert _delta_disagreements(e) > 0  # the rule replaced here did contradict the test


def test_proportions_relative_agrees_with_wald_z():
    rng = np.random.default_rng(182)
    r, n = 4000, 300
    p_t = rng.uniform(0.08, 0.2, r)
    y_t = (rng.random((r, n)) < p_t[:, None]).astype(float)
    y_c = (rng.random((r, n)) < 0.1).astype(float)
    e = compare_proportions(MomentStats.from_arrays(y_t, axis=1),
                            MomentStats.from_arrays(y_c, axis=1))
    _assert_agree(e)


def test_lin_relative_agrees_with_hc2_test():
    """Lin: m_c = b0 and m_t = b0 + b_T come from the two arms' disjoint rows (stats.lin), so
    their HC2 covariance is 0 (statsmodels' dense fit gives rounding noise there)."""
    rng = np.random.default_rng(183)
    rows = []
    for _ in range(150):
        n = 80
        x = rng.lognormal(1.0, 0.8, n)
        t = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
        y = 2 + x * (1 + 0.3 * t) + rng.uniform(-0.5, 1.5) * t + rng.normal(0, 2, n)
        rows.append(compare_adjusted(y, x, t))
    stacked = {f: np.array([getattr(e, f) for e in rows])
               for f in ("rel_ci_low", "rel_ci_high", "ci_low", "ci_high", "p_value")}
    _assert_agree(type("E", (), stacked))
    e = rows[0]
    assert e.cov_means == pytest.approx(0.0, abs=1e-12 * e.var_mean_control)
    assert e.var_mean_arm - 2 * e.cov_means + e.var_mean_control == pytest.approx(e.se**2)


@pytest.mark.parametrize("clustered", [False, True])
def test_did_relative_agrees_with_the_did_test(clustered):
    """DiD: m_arm = mean(post|T) and the counterfactual mean(pre|T) + mean(Δ|C) are correlated
    through the treated customers' pre and post values; Fieller uses that covariance."""
    rng = np.random.default_rng(186)
    rows = []
    for _ in range(150):
        n = 60
        t = np.arange(n) < n // 2
        level = rng.gamma(2, 30, n)
        pre = level + rng.normal(0, 10, n)
        post = level * 1.1 + rng.normal(0, 10, n) + rng.uniform(-2, 12) * t
        groups = np.arange(n) // 2 if clustered else None
        rows.append(difference_in_differences(pre, post, t, cluster=groups))
    stacked = {f: np.array([getattr(e, f) for e in rows])
               for f in ("rel_ci_low", "rel_ci_high", "ci_low", "ci_high", "p_value")}
    _assert_agree(type("E", (), stacked))
    e = rows[0]
    assert e.cov_means > 0
    assert e.var_mean_arm - 2 * e.cov_means + e.var_mean_control == pytest.approx(e.se**2)


@pytest.mark.parametrize("method", ["holm", "bonferroni"])
def test_adjusted_relative_uses_the_adjusted_critical_value(method):
    """After correction the relative interval excludes 0 iff the adjusted absolute (Bonferroni)
    interval does; for Bonferroni that is also iff the adjusted p < alpha. (Holm's step-down p
    can be significant while the Bonferroni interval touches 0: multiple.py's docstring.)"""
    rng = np.random.default_rng(184)
    rel_ex, abs_ex, p_ok = [], [], []
    for _ in range(120):
        ctl = MomentStats.from_arrays(rng.lognormal(2, 1, 40))
        family = [compare_means(MomentStats.from_arrays(rng.lognormal(2, 1, 40) * (1 + s)), ctl)
                  for s in rng.uniform(0, 1.2, 4)]
        for e in adjust(family, method):
            assert math.isfinite(e.rel_ci_low_adjusted)
            assert e.rel_ci_low_adjusted <= e.rel_ci_low and e.rel_ci_high_adjusted >= e.rel_ci_high
            rel_ex.append(e.rel_ci_low_adjusted > 0 or e.rel_ci_high_adjusted < 0)
            abs_ex.append(e.ci_low_adjusted > 0 or e.ci_high_adjusted < 0)
            p_ok.append(e.p_value_adjusted < ALPHA)
    assert rel_ex == abs_ex
    assert 0 < sum(rel_ex) < len(rel_ex)
    if method == "bonferroni":
        assert rel_ex == p_ok


def test_fieller_against_the_quadratic_by_hand():
    """One case worked from the quadratic (m_c² - q²v_c)ρ² - 2(m_t m_c - q²c)ρ + m_t² - q²v_t
    with np.roots, covariance included."""
    m_t, m_c, v_t, v_c, c, q = 12.0, 10.0, 0.9, 0.6, 0.2, 2.1
    roots = np.sort(np.roots([m_c**2 - q**2 * v_c, -2 * (m_t * m_c - q**2 * c),
                              m_t**2 - q**2 * v_t]).real)
    low, high = fieller(m_t, m_c, v_t, v_c, c, q)
    assert (float(low), float(high)) == pytest.approx(tuple(roots - 1), rel=1e-12)


def test_unbounded_when_control_mean_is_not_significant():
    y_c = np.r_[np.zeros(4), 10.0]  # mean 2, se 2: not different from 0
    e = compare_means(MomentStats.from_arrays(np.full(5, 3.0) + np.arange(5)),
                      MomentStats.from_arrays(y_c))
    assert math.isfinite(e.rel_estimate) and math.isfinite(e.p_value)
    assert math.isnan(e.rel_ci_low) and math.isnan(e.rel_ci_high)
    (a,) = adjust([e])
    assert math.isnan(a.rel_ci_low_adjusted) and math.isnan(a.rel_ci_high_adjusted)


def test_relative_coverage_near_nominal():
    """2,000 experiments, skewed revenue, true relative effect 0.15: coverage 93.5-96.5 %."""
    rng = np.random.default_rng(185)
    r, n, lift = 2000, 400, 0.15
    y_t = rng.lognormal(3.0, 1.0, (r, n)) * (1 + lift)
    y_c = rng.lognormal(3.0, 1.0, (r, n))
    e = compare_means(MomentStats.from_arrays(y_t, axis=1), MomentStats.from_arrays(y_c, axis=1))
    covered = (e.rel_ci_low <= lift) & (lift <= e.rel_ci_high)
    assert 0.935 <= covered.mean() <= 0.965, covered.mean()
