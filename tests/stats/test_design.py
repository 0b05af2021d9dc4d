"""Design: parity with statsmodels power, CUPED-aware MDE, and simulated power vs claimed."""

import math

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower, zt_ind_solve_power

from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.design import (
    minimum_detectable_effect,
    power_at,
    recommend_holdout_share,
    sample_size,
)
from crm_experiments.stats.effects import compare_cuped, compare_means


def test_mde_matches_statsmodels_directly():
    d = minimum_detectable_effect(20_000, 0.2, 50.0, alpha=0.05, power=0.8, baseline_mean=60.0)
    es = zt_ind_solve_power(effect_size=None, nobs1=16_000, alpha=0.05, power=0.8, ratio=0.25)
    assert d.mde == pytest.approx(es * 50.0, rel=1e-8)
    assert d.mde_relative == pytest.approx(es * 50.0 / 60.0, rel=1e-8)
    assert (d.n_treated, d.n_holdout) == (16_000, 4_000)
    # closed form (1.96 + 0.84) · se is within 0.1 % at these sizes; the t test agrees too
    se = 50.0 * math.sqrt(1 / 16_000 + 1 / 4_000)
    assert d.mde == pytest.approx((1.959964 + 0.841621) * se, rel=1e-3)
    t_es = TTestIndPower().solve_power(effect_size=None, nobs1=16_000, alpha=0.05, power=0.8,
                                       ratio=0.25)
    assert d.mde == pytest.approx(t_es * 50.0, rel=1e-3)
    one = minimum_detectable_effect(20_000, 0.2, 50.0, two_sided=False)
    assert one.mde < d.mde
    assert len(d.to_frame()) == 1 and "detects" in d.message


def test_power_and_sample_size_match_statsmodels_and_each_other():
    p = power_at(10_000, 0.3, 3.0, 40.0)
    ref = NormalIndPower().power(3.0 / 40.0, nobs1=7_000, alpha=0.05, ratio=3_000 / 7_000)
    assert p.power == pytest.approx(ref, rel=1e-10)
    n = sample_size(3.0, 40.0, 0.3, power=0.9)
    assert n.power >= 0.9
    # one customer fewer falls short of the target
    assert power_at(n.n_total - 2, 0.3, 3.0, 40.0).power < 0.9
    assert power_at(n.n_total, 0.3, 3.0, 40.0).power == pytest.approx(n.power)


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.8])
def test_cuped_aware_mde_shrinks_by_sqrt_one_minus_rho_squared(rho):
    plain = minimum_detectable_effect(8_000, 0.25, 30.0)
    cuped = minimum_detectable_effect(8_000, 0.25, 30.0, variance_reduction=rho**2)
    assert cuped.mde / plain.mde == pytest.approx(math.sqrt(1 - rho**2), rel=1e-10)
    assert cuped.effective_sd == pytest.approx(30.0 * math.sqrt(1 - rho**2))
    n_plain = sample_size(2.0, 30.0, 0.25).n_total
    n_cuped = sample_size(2.0, 30.0, 0.25, variance_reduction=rho**2).n_total
    assert n_cuped / n_plain == pytest.approx(1 - rho**2, rel=2e-3)


def test_recommended_share_is_smallest_reaching_power_and_flags_unreachable():
    r = recommend_holdout_share(10_000, 3.5, 49.5)
    assert r.reachable and r.power >= 0.8
    assert power_at(10_000, r.holdout_share - 0.002, 3.5, 49.5).power < 0.8
    assert 0.05 < r.holdout_share < 0.5 and r.holdout_share < recommend_holdout_share(
        10_000, 3.0, 49.5).holdout_share
    easy = recommend_holdout_share(200_000, 3.5, 49.5)
    assert easy.holdout_share == 0.05 and easy.power > 0.99
    hard = recommend_holdout_share(2_000, 3.5, 49.5)
    assert not hard.reachable and hard.holdout_share == 0.5 and hard.power < 0.8
    assert "UNREACHABLE" in hard.message


def _rejection_rate(r, draw, estimator, n_experiments=2000, seed=0, batch=500):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_experiments // batch):
        arm = draw(rng, (batch, r.n_treated), r.effect)
        ctl = draw(rng, (batch, r.n_holdout), 0.0)
        hits += int(np.sum(estimator(arm, ctl, r.alpha).p_value < r.alpha))
    return hits / n_experiments


def _gamma_revenue(rng, shape, shift):
    # gamma(2, 35): mean 70, sd 35·sqrt(2) ≈ 49.5, right-skewed like spend per customer
    return MomentStats.from_arrays(rng.gamma(2.0, 35.0, shape) + shift, axis=1)


def _correlated(rng, shape, shift, rho=0.6):
    x = rng.standard_normal(shape)
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(shape)
    return MomentStats.from_arrays(70 + 49.5 * y + shift, 70 + 49.5 * x, axis=1)


@pytest.mark.slow
def test_claimed_power_is_achieved_in_simulation():
    """2,000 simulated experiments at the recommended design, Welch (and CUPED) tests."""
    sd = 35.0 * math.sqrt(2.0)
    r = recommend_holdout_share(4_000, 5.5, sd)
    observed = _rejection_rate(r, _gamma_revenue, compare_means, seed=1)
    print(f"welch: share {r.holdout_share:.3f} claimed {r.power:.4f} observed {observed:.4f}")
    assert abs(observed - r.power) <= 0.03
    c = recommend_holdout_share(4_000, 5.5, sd, variance_reduction=0.36)
    assert c.holdout_share < r.holdout_share
    observed = _rejection_rate(c, _correlated, compare_cuped, seed=2)
    print(f"cuped: share {c.holdout_share:.3f} claimed {c.power:.4f} observed {observed:.4f}")
    assert abs(observed - c.power) <= 0.03
