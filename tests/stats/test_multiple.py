import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.effects import bootstrap_mean_diff, compare_means, compare_proportions
from crm_experiments.stats.multiple import adjust, holm


@pytest.fixture
def family():
    rng = np.random.default_rng(21)
    ctl = rng.lognormal(3, 1, 2000)
    out = []
    for i, shift in enumerate([0.0, 1.0, 3.0, 6.0]):
        arm = rng.lognormal(3, 1, 2000) + shift
        out.append(compare_means(MomentStats.from_arrays(arm), MomentStats.from_arrays(ctl),
                                 metric="revenue", arm=f"a{i}"))
    y = np.r_[np.ones(260), np.zeros(1740)]
    c = np.r_[np.ones(200), np.zeros(1800)]
    out.append(compare_proportions(MomentStats.from_arrays(y), MomentStats.from_arrays(c),
                                   metric="conversion", arm="a0"))
    return out


def test_holm_p_values_and_bonferroni_intervals(family):
    adj = adjust(family, "holm")
    want = multipletests([e.p_value for e in family], alpha=0.05, method="holm")[1]
    np.testing.assert_allclose([e.p_value_adjusted for e in adj], want)
    m = len(family)
    for e in adj:
        q = stats.t.ppf(1 - 0.05 / (2 * m), e.df)
        assert e.ci_low_adjusted == pytest.approx(e.estimate - q * e.se)
        assert e.ci_low_adjusted < e.ci_low and e.ci_high_adjusted > e.ci_high
        assert e.rel_ci_low_adjusted < e.rel_ci_low
        assert "Holm" in e.correction and "0.99" in e.correction
    # originals are untouched (frozen values)
    assert family[0].p_value_adjusted is None


@pytest.mark.parametrize("seed", range(40))
def test_holm_equals_statsmodels(seed):
    """Our Holm step-down against statsmodels' multipletests on random families, with ties,
    p-values of 0 and 1, and p-values at the step-down thresholds."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 30))
    p = rng.uniform(0, 0.2, m) ** rng.uniform(0.5, 3)
    p[rng.random(m) < 0.15] = 1.0
    p[rng.random(m) < 0.05] = 0.0
    if m > 3:
        p[1] = p[2]  # a tie
        p[3] = 0.05 / m  # on the first threshold
    for alpha in (0.05, 0.1, 0.5):
        want_reject, want_p, _, _ = multipletests(p, alpha=alpha, method="holm")
        reject, adjusted = holm(p, alpha)
        np.testing.assert_array_equal(reject, want_reject)
        np.testing.assert_allclose(adjusted, want_p, rtol=1e-15, atol=0)


def test_holm_does_not_collect_garbage(monkeypatch):
    import gc

    calls = []
    monkeypatch.setattr(gc, "collect", lambda *a, **k: calls.append(1) or 0)
    holm(np.array([0.01, 0.2, 0.03]), 0.05)
    assert calls == []
    multipletests([0.01, 0.2, 0.03], method="holm")  # the reason holm() exists
    assert calls


def test_bh_uses_fdr_bh_and_fcr_width(family):
    adj = adjust(family, "bh")
    rej, want, _, _ = multipletests([e.p_value for e in family], alpha=0.05, method="fdr_bh")
    np.testing.assert_allclose([e.p_value_adjusted for e in adj], want)
    level = 0.05 * max(rej.sum(), 1) / len(family)
    e = adj[1]
    q = stats.t.ppf(1 - level / 2, e.df)
    assert e.ci_high_adjusted == pytest.approx(e.estimate + q * e.se)


def test_bootstrap_effects_count_but_get_nan():
    rng = np.random.default_rng(1)
    b = bootstrap_mean_diff(rng.normal(size=100), rng.normal(size=100), n_resamples=500,
                            method="percentile")
    w = compare_means(MomentStats.from_arrays(rng.normal(size=100)),
                      MomentStats.from_arrays(rng.normal(size=100)))
    adj = adjust([b, w], "holm")
    assert math.isnan(adj[0].p_value_adjusted) and math.isnan(adj[0].ci_low_adjusted)
    assert adj[1].p_value_adjusted == pytest.approx(w.p_value)  # one tested effect
    assert "over 2 comparisons" in adj[1].correction


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown correction"):
        adjust([], "sidak")
