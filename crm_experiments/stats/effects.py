"""Arm-vs-control estimators: means, proportions, ratios, covariate-adjusted, bootstrap.

Every estimator returns an :class:`~crm_experiments.stats.result.Effect` with the absolute
difference ``arm - control`` and the relative effect ``arm / control - 1``.

**Relative intervals: Fieller** (one rule for every test-based estimator). The relative effect
is ``ρ - 1`` with ``ρ = m_t / m_c``; ``v_t, v_c`` are the variances of the two estimated means,
``c`` their covariance (0 for independent arms; ``var(b0) + cov(b0, b_T)`` for Lin) and ``q``
the SAME critical value as the absolute interval (``t_{1-α/2, df}`` or ``z_{1-α/2}``). The
interval is the set of ``ρ`` the pivot ``(m_t - ρ m_c) / sqrt(v_t - 2ρc + ρ²v_c)`` does not
reject, i.e. the roots of

    (m_c² - q² v_c) ρ² - 2 (m_t m_c - q² c) ρ + (m_t² - q² v_t) = 0,
    ρ = (B ∓ sqrt(B² - A C)) / A   with A = m_c² - q²v_c, B = m_t m_c - q²c, C = m_t² - q²v_t.

At ``ρ = 1`` the pivot is the absolute test's ``(m_t - m_c) / se``, so the relative interval
excludes 0 exactly when the absolute interval does (``p < α``): the two never contradict. The
delta method (``r ± z·se_r``, symmetric) could: e.g. -8.13 % ... -0.10 % beside p = 0.051.
When ``A <= 0`` the control mean is not significantly different from 0 at level α and the set
is unbounded (the whole line or two half-lines): the bounds are NaN, not a misleading finite
interval. ``rel_se`` keeps the delta-method standard error
``sqrt(v_t/m_c² - 2 m_t c/m_c³ + m_t² v_c/m_c⁴)`` for information. The Effect carries
``var_mean_arm``, ``var_mean_control`` and ``cov_means`` so :mod:`.multiple` can redo Fieller
at an adjusted level. The bootstrap keeps its own (percentile/BCa) relative interval.

The estimators built on :class:`~crm_experiments.stats.aggr.MomentStats` also accept array
fields (many simulated experiments at once); the returned Effect then holds arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.result import Effect

_LABELS = {"metric": "", "arm": "treatment", "control": "control"}


def _interval(est: Any, se: Any, df: Any, alpha: float) -> tuple[Any, Any, Any]:
    """``(ci_low, ci_high, p_value)`` from a t (``df`` finite) or normal (``df = inf``) pivot."""
    est, se = np.asarray(est, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = stats.t.ppf(1 - alpha / 2, df)
        p = 2 * stats.t.sf(np.abs(est / se), df)
    return est - q * se, est + q * se, p


def fieller(m_t: Any, m_c: Any, var_m_t: Any, var_m_c: Any, cov: Any, q: Any
            ) -> tuple[Any, Any]:
    """Fieller interval for ``m_t / m_c - 1`` at critical value ``q`` (module docstring).

    Vectorised; NaN bounds where the set is unbounded (``m_c² <= q² var_m_c``).

    >>> lo, hi = fieller(11.0, 10.0, 0.25, 0.25, 0.0, 1.96)
    >>> round(float(lo), 4), round(float(hi), 4)
    (-0.0361, 0.2574)
    """
    m_t, m_c = np.asarray(m_t, dtype=float), np.asarray(m_c, dtype=float)
    q2 = np.asarray(q, dtype=float) ** 2
    a = m_c**2 - q2 * var_m_c
    b = m_t * m_c - q2 * cov
    c = m_t**2 - q2 * var_m_t
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.sqrt(np.maximum(b**2 - a * c, 0.0))
        bounded = a > 0
        # the estimate m_t/m_c always lies inside a bounded set; guard against rounding
        # (e.g. an arm without buyers: a zero-width set at -100 %)
        rel = m_t / m_c - 1
        low = np.where(bounded, np.minimum((b - root) / a - 1, rel), np.nan)
        high = np.where(bounded, np.maximum((b + root) / a - 1, rel), np.nan)
    return low, high


def _relative(m_t: Any, m_c: Any, var_m_t: Any, var_m_c: Any, cov: Any, q: Any):
    """Relative effect ``m_t/m_c - 1``: ``(rel, rel_se, rel_low, rel_high)``, Fieller bounds,
    delta-method ``rel_se``; NaN/inf (not an exception) when the control mean is 0."""
    m_t, m_c = np.asarray(m_t, dtype=float), np.asarray(m_c, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = m_t / m_c - 1
        rel_se = np.sqrt(np.maximum(
            var_m_t / m_c**2 - 2 * m_t * cov / m_c**3 + m_t**2 * var_m_c / m_c**4, 0.0))
    low, high = fieller(m_t, m_c, var_m_t, var_m_c, cov, q)
    return rel, rel_se, low, high


def _scalar(value: Any) -> Any:
    if np.ndim(value) == 0:
        return float(value)
    return value


def _effect(*, m_t, m_c, var_m_t, var_m_c, n_t, n_c, df, alpha, method, labels,
            variance_reduction=None) -> Effect:
    est = m_t - m_c
    se = np.sqrt(var_m_t + var_m_c)
    low, high, p = _interval(est, se, df, alpha)
    q = stats.t.ppf(1 - alpha / 2, df)
    rel, rel_se, rel_low, rel_high = _relative(m_t, m_c, var_m_t, var_m_c, 0.0, q)
    return Effect(
        **{**_LABELS, **labels}, n_arm=n_t, n_control=n_c,
        mean_arm=_scalar(m_t), mean_control=_scalar(m_c), estimate=_scalar(est),
        ci_low=_scalar(low), ci_high=_scalar(high), p_value=_scalar(p),
        rel_estimate=_scalar(rel), rel_ci_low=_scalar(rel_low), rel_ci_high=_scalar(rel_high),
        method=method, alpha=alpha, se=_scalar(se), rel_se=_scalar(rel_se), df=_scalar(df),
        variance_reduction=None if variance_reduction is None else _scalar(variance_reduction),
        var_mean_arm=_scalar(var_m_t), var_mean_control=_scalar(var_m_c), cov_means=0.0,
    )


def _welch_df(var_m_t: Any, var_m_c: Any, n_t: Any, n_c: Any) -> Any:
    """Welch-Satterthwaite ``(s_t² + s_c²)² / (s_t⁴/(n_t-1) + s_c⁴/(n_c-1))``, s² = var/n."""
    var_m_t, var_m_c = np.asarray(var_m_t, dtype=float), np.asarray(var_m_c, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (var_m_t + var_m_c) ** 2 / (var_m_t**2 / (n_t - 1) + var_m_c**2 / (n_c - 1))


def compare_means(stats_arm: MomentStats, stats_control: MomentStats, alpha: float = 0.05,
                  **labels: str) -> Effect:
    """Difference of means by Welch's t test (method ``welch_t``).

    ``se = sqrt(v_t/n_t + v_c/n_c)`` (sample variances, ddof=1), Welch-Satterthwaite df, CI
    ``d ± t_{1-α/2, df} · se``; relative effect by Fieller with the same t (module docstring).
    ``labels``: ``metric``, ``arm``, ``control`` names carried into the result.
    """
    t, c = stats_arm, stats_control
    vm_t, vm_c = t.var_y / t.n, c.var_y / c.n
    return _effect(m_t=t.mean_y, m_c=c.mean_y, var_m_t=vm_t, var_m_c=vm_c, n_t=t.n, n_c=c.n,
                   df=_welch_df(vm_t, vm_c, t.n, c.n), alpha=alpha, method="welch_t",
                   labels=labels)


def compare_proportions(stats_arm: MomentStats, stats_control: MomentStats,
                        alpha: float = 0.05, **labels: str) -> Effect:
    """Difference of two proportions, Wald z with UNPOOLED variance (``two_proportion_z_unpooled``).

    ``y`` is 0/1, so ``p = Σy / n`` and ``se = sqrt(p_t(1-p_t)/n_t + p_c(1-p_c)/n_c)`` for both
    the interval and the p-value. Equals statsmodels ``test_proportions_2indep(method="wald")``
    and ``confint_proportions_2indep(method="wald")``. Relative effect: Fieller, same z.
    """
    t, c = stats_arm, stats_control
    p_t, p_c = t.mean_y, c.mean_y
    return _effect(m_t=p_t, m_c=p_c, var_m_t=p_t * (1 - p_t) / t.n,
                   var_m_c=p_c * (1 - p_c) / c.n, n_t=t.n, n_c=c.n, df=math.inf, alpha=alpha,
                   method="two_proportion_z_unpooled", labels=labels)


def ratio_variance(s: MomentStats) -> Any:
    """Delta-method variance of ``R = Σy / Σd`` for one arm (customers are the units).

    ``var(R) ≈ (v_y - 2 R c_yd + R² v_d) / (n · mean_d²)`` with sample (co)variances.
    """
    r = s.sum_y / s.sum_d
    return (s.var_y - 2 * r * s.cov_yd + r**2 * s.var_d) / (s.n * s.mean_d**2)


def compare_ratios(stats_arm: MomentStats, stats_control: MomentStats, alpha: float = 0.05,
                   **labels: str) -> Effect:
    """Ratio metric ``Σy / Σd`` (AOV = revenue / orders, ARPU per buyer), method ``delta_ratio``.

    Each arm's ratio gets its delta-method variance (:func:`ratio_variance`); the difference has
    ``se = sqrt(var(R_t) + var(R_c))`` with a normal reference; the relative effect uses the
    same variances in Fieller's interval. ``mean_arm``/``mean_control`` are the ratios, ``n_*``
    count customers (rows), not denominator units.
    """
    t, c = stats_arm, stats_control
    with np.errstate(divide="ignore", invalid="ignore"):
        r_t, r_c = t.sum_y / t.sum_d, c.sum_y / c.sum_d
        v_t, v_c = ratio_variance(t), ratio_variance(c)
    return _effect(m_t=r_t, m_c=r_c, var_m_t=v_t, var_m_c=v_c, n_t=t.n, n_c=c.n, df=math.inf,
                   alpha=alpha, method="delta_ratio", labels=labels)


def compare_cuped(stats_arm: MomentStats, stats_control: MomentStats, alpha: float = 0.05,
                  **labels: str) -> Effect:
    """CUPED from sufficient statistics (method ``cuped``); needs the covariate sums.

    ``θ = pooled within-arm cov(x, y) / pooled within-arm var(x)``; adjusted means
    ``m_a - θ (x̄_a - x̄)`` with ``x̄`` the mean of x over both arms; per-arm residual variance
    ``v_y - 2θ c_xy + θ² v_x``; then Welch as in :func:`compare_means` (θ treated as known).
    ``variance_reduction = 1 - var(adjusted difference) / var(unadjusted difference)``,
    ≈ ``corr(x, y)²`` in large samples.
    """
    t, c = stats_arm, stats_control
    theta = ((t.n - 1) * t.cov_xy + (c.n - 1) * c.cov_xy) / (
        (t.n - 1) * t.var_x + (c.n - 1) * c.var_x)
    x_bar = (t.sum_x + c.sum_x) / (t.n + c.n)

    def adjusted(s: MomentStats) -> tuple[Any, Any]:
        mean = s.mean_y - theta * (s.mean_x - x_bar)
        return mean, (s.var_y - 2 * theta * s.cov_xy + theta**2 * s.var_x) / s.n

    (m_t, vm_t), (m_c, vm_c) = adjusted(t), adjusted(c)
    reduction = 1 - (vm_t + vm_c) / (t.var_y / t.n + c.var_y / c.n)
    return _effect(m_t=m_t, m_c=m_c, var_m_t=vm_t, var_m_c=vm_c, n_t=t.n, n_c=c.n,
                   df=_welch_df(vm_t, vm_c, t.n, c.n), alpha=alpha, method="cuped",
                   labels=labels, variance_reduction=reduction)


def lin_design(y, x, treatment) -> tuple[np.ndarray, np.ndarray]:
    """``(y, X)`` for Lin's regression: columns const, treatment, centred x, treatment·centred x."""
    y = np.asarray(y, dtype=float)
    tr = np.asarray(treatment, dtype=float)
    xc = np.asarray(x, dtype=float).reshape(len(y), -1)
    xc = xc - xc.mean(axis=0)
    return y, np.column_stack([np.ones_like(y), tr, xc, tr[:, None] * xc])


def bootstrap_mean_diff(y_t, y_c, alpha: float = 0.05, n_resamples: int = 9999,
                        seed: int = 0, method: str = "BCa", **labels: str) -> Effect:
    """Bootstrap intervals for the mean difference and ``mean_t/mean_c - 1`` (scipy).

    Resamples each arm independently (``scipy.stats.bootstrap``, ``method="BCa"`` by default:
    bias-corrected and accelerated, better than percentile for skewed revenue; its jackknife
    costs O(n²) work, so pass ``method="percentile"`` for very large arms). Seeded, so runs
    repeat. A bootstrap gives intervals, not a test: ``p_value`` is NaN, ``se`` is the
    bootstrap standard error. Method name ``bootstrap_bca`` / ``bootstrap_percentile``.
    """
    a, b = np.asarray(y_t, dtype=float), np.asarray(y_c, dtype=float)

    def diff(x1, x2, axis=-1):
        return np.mean(x1, axis=axis) - np.mean(x2, axis=axis)

    def rel(x1, x2, axis=-1):
        return np.mean(x1, axis=axis) / np.mean(x2, axis=axis) - 1

    runs = [stats.bootstrap((a, b), f, n_resamples=n_resamples, vectorized=True,
                            confidence_level=1 - alpha, method=method,
                            rng=np.random.default_rng(seed)) for f in (diff, rel)]
    (d_ci, d_se), (r_ci, r_se) = [(r.confidence_interval, r.standard_error) for r in runs]
    return Effect(
        **{**_LABELS, **labels}, n_arm=len(a), n_control=len(b), mean_arm=float(a.mean()),
        mean_control=float(b.mean()), estimate=float(diff(a, b)), ci_low=float(d_ci.low),
        ci_high=float(d_ci.high), p_value=math.nan, rel_estimate=float(rel(a, b)),
        rel_ci_low=float(r_ci.low), rel_ci_high=float(r_ci.high),
        method=f"bootstrap_{method.lower()}", alpha=alpha, se=float(d_se), rel_se=float(r_se),
        df=math.nan,
    )

