"""Vectorised simulation of many experiments, to check the estimators' error rates.

Each scenario draws a batch of experiments as 2-D arrays (one row per experiment, one column
per customer), reduces them to per-arm :class:`MomentStats` with array fields, and calls the
production estimator once on the whole batch. Scenarios (control arm ``n_control`` customers,
arm ``n_arm``):

* ``proportion``: conversion 10 % in control; the arm converts at ``10 % · (1 + lift)``.
* ``mean``: revenue per customer, 80 % zeros, buyers spend lognormal(μ=3.5, σ=1.2) (heavy
  right tail); the arm's buy probability is ``20 % · (1 + lift)``.
* ``ratio``: orders ~ Poisson(0.8) per customer, revenue = sum of Gamma(2, 40) order values
  (AOV 80); the arm's order values are scaled by ``1 + lift``.
* ``cuped``: pre-period x and outcome y jointly normal, sd 30, ``corr(x, y) = rho``; the arm
  adds ``lift · 100`` (control mean 100).

Under A/A (``lift = 0``) the false-positive rate at ``alpha`` should be ≈ alpha; with a lift,
the 1 - alpha intervals should cover the known true effect in ≈ 1 - alpha of experiments.

>>> r = simulate("proportion", n_experiments=200, lift=0.0, seed=1)
>>> sorted(r)
['coverage', 'false_positive_rate', 'n_experiments', 'rel_coverage', 'variance_reduction']
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.effects import (
    compare_cuped,
    compare_means,
    compare_proportions,
    compare_ratios,
)
from crm_experiments.stats.result import Effect

SCENARIOS = ("proportion", "mean", "ratio", "cuped")
_P_BUY, _MU, _SIGMA = 0.2, 3.5, 1.2


def _draw(scenario: str, rng: np.random.Generator, shape: tuple[int, int], lift: float,
          rho: float) -> tuple[MomentStats, float]:
    """Per-row MomentStats of one arm and the arm's true mean (ratio, proportion)."""
    if scenario == "proportion":
        p = 0.10 * (1 + lift)
        return MomentStats.from_arrays(rng.random(shape) < p, axis=1), p
    if scenario == "mean":
        p = _P_BUY * (1 + lift)
        y = rng.lognormal(_MU, _SIGMA, shape) * (rng.random(shape) < p)
        return MomentStats.from_arrays(y, axis=1), p * np.exp(_MU + _SIGMA**2 / 2)
    if scenario == "ratio":
        orders = rng.poisson(0.8, shape)
        scale = 40.0 * (1 + lift)
        revenue = rng.gamma(np.maximum(2.0 * orders, 1e-300), scale) * (orders > 0)
        return MomentStats.from_arrays(revenue, den=orders, axis=1), 2.0 * scale
    if scenario == "cuped":
        x = rng.standard_normal(shape)
        y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(shape)
        shift = 100.0 * lift
        return MomentStats.from_arrays(100 + 30 * y + shift, 100 + 30 * x, axis=1), 100 + shift
    raise ValueError(f"unknown scenario {scenario!r}; choose one of {SCENARIOS}")


ESTIMATORS: dict[str, Callable[..., Effect]] = {
    "proportion": compare_proportions, "mean": compare_means,
    "ratio": compare_ratios, "cuped": compare_cuped,
}


def simulate(scenario: str, *, n_experiments: int = 2000, lift: float = 0.0,
             n_arm: int = 2400, n_control: int = 1600, alpha: float = 0.05, rho: float = 0.6,
             seed: int = 0, batch: int = 1000) -> dict[str, float]:
    """Rates over ``n_experiments`` simulated experiments of one scenario (module docstring).

    Returns ``false_positive_rate`` (share with ``p < alpha``; a power when ``lift != 0``),
    ``coverage`` / ``rel_coverage`` (share of intervals containing the true absolute / relative
    effect), the mean ``variance_reduction`` (CUPED only, else NaN) and ``n_experiments``.
    """
    rng = np.random.default_rng(seed)
    estimator = ESTIMATORS[scenario]
    hits = cover = rel_cover = 0
    reductions = []
    done = 0
    while done < n_experiments:
        k = min(batch, n_experiments - done)
        arm, truth_arm = _draw(scenario, rng, (k, n_arm), lift, rho)
        ctl, truth_ctl = _draw(scenario, rng, (k, n_control), 0.0, rho)
        e = estimator(arm, ctl, alpha)
        diff, rel = truth_arm - truth_ctl, truth_arm / truth_ctl - 1
        hits += int(np.sum(e.p_value < alpha))
        cover += int(np.sum((e.ci_low <= diff) & (diff <= e.ci_high)))
        rel_cover += int(np.sum((e.rel_ci_low <= rel) & (rel <= e.rel_ci_high)))
        if e.variance_reduction is not None:
            reductions.append(np.asarray(e.variance_reduction))
        done += k
    return {
        "n_experiments": n_experiments,
        "false_positive_rate": hits / n_experiments,
        "coverage": cover / n_experiments,
        "rel_coverage": rel_cover / n_experiments,
        "variance_reduction": float(np.mean(np.concatenate(reductions))) if reductions
        else float("nan"),
    }
