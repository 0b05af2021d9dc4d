"""Group-sequential intervals for a planned number of looks (one a day during a sale).

The daily watch compares an arm with the holdout on the SAME customers every day: each look
``k`` is the difference of the arms' mean cumulative outcomes ``D_k = ȳ_arm,k - ȳ_ctl,k``
(every assigned customer from the first day; outcomes accumulate). Its z statistics
``Z_k = D_k / se_k`` are correlated, and the number of looks ``K`` (the sale's days) is known
before the sale. So instead of a confidence sequence (valid for any number of looks, hence
conservative: about 1-2 % false positives under daily peeking) the watch uses a
**Lan-DeMets alpha-spending boundary** calibrated on the estimated joint null distribution.

**Spending.** Look ``k`` may use ``α(t_k) - α(t_{k-1})`` of the total ``α``, with ``t_k = k / K``
the calendar fraction of the sale elapsed (known in advance, so the boundary does not depend on
how the outcomes happen to accumulate). Functions (Lan & DeMets 1983, Biometrika 70:659):

* ``pocock`` (the watch's default): ``α(t) = α · log(1 + (e - 1) t)``; spends roughly evenly,
  so the early days of a sale (when a broken coupon should be caught) keep some power;
* ``obrien_fleming``: ``α(t) = 2 - 2 Φ(z_{1-α/2} / sqrt(t))``; spends almost nothing early and
  keeps the last look near the fixed-sample 1.96.

**Joint null distribution from the data.** Per arm, with ``y_ik`` customer ``i``'s cumulative
outcome at look ``k`` and ``S_jk`` the sample covariance (ddof 1) of ``y_.j`` and ``y_.k``,
``cov(ȳ_j, ȳ_k) = S_jk / n``, so ``cov(D_j, D_k) = S^arm_jk / n_arm + S^ctl_jk / n_ctl`` and
``corr(Z_j, Z_k) = cov(D_j, D_k) / (se_j se_k)``; ``se_k`` is the Welch standard error. The
sums ``Σ_i y_ij y_ik`` come from the engine (``metrics.watch.daily_cross_sums``).

**Critical values.** ``c_1 = z_{1 - Δα_1 / 2}``; then, look by look, ``c_k`` solves

    P(|Z_1| < c_1, ..., |Z_{k-1}| < c_{k-1}, |Z_k| >= c_k) = α(t_k) - α(t_{k-1})

under ``Z ~ N(0, R)``. By the symmetry of the box the left side is twice the probability with
``Z_k >= c_k``, a small multivariate normal rectangle probability computed by
``scipy.stats.multivariate_normal.cdf`` with ``lower_limit`` (Genz's randomised quasi-Monte
Carlo; seeded, so the same data give the same boundary; ``POINTS_PER_DIMENSION`` points per
dimension, within ~0.2 % of the increment), solved in ``c_k`` (to 1e-5) by secant steps from
the previous look's value, or Brent's method below the bound that ignores the past looks,
``z_{1 - Δα_k / 2}``. Look ``k``'s value depends only on the looks up to ``k`` (the leading
block of ``R``), so the boundary of a day uses only the data up to that day and a past day's
value never changes. A look without
variation (``se_k = 0``, e.g. nobody has bought yet) cannot reject: ``c_k = ∞`` and its
increment passes to the next look.

**Interval** at look ``k``: ``D_k ± c_k · se_k``; it excludes 0 exactly when ``|Z_k| >= c_k``.
Under H0 the chance that ANY of the ``K`` planned looks excludes 0 is ``α`` (asymptotically,
normal ``Z``). Coverage of the true effect holds at all looks jointly under a shift: the
covariance does not depend on the effect to first order. The fixed-sample Welch interval is
returned beside it for comparison only.

>>> import numpy as np
>>> t = np.arange(1, 6) / 5
>>> R = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))  # independent increments
>>> round(constant_boundary(R, 0.05), 2)  # Pocock's constant for 5 looks (published 2.413)
2.41
>>> np.round(critical_values(R, t, 0.05, "obrien_fleming"), 2)
array([4.38, 3.1 , 2.55, 2.25, 2.06])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

#: quasi-random points of each Genz integration per dimension (``maxpts``; scipy's default,
#: 10⁶ per dimension for an absolute error of 1e-5, is ~10 times slower). The integrals are
#: small (a look's increment, ~0.005) and come out within ~0.2 % of a 2-million-point
#: integration (tests/stats/test_group_sequential.py checks 0.5 %), i.e. ``c_k`` within ~0.001.
POINTS_PER_DIMENSION = 200
#: seed of the quasi-Monte Carlo randomisation (the same data give the same boundary)
SEED = 20_251_111
SPENDING_FUNCTIONS = ("pocock", "obrien_fleming")


def alpha_spent(t: float | np.ndarray, alpha: float = 0.05,
                spending: str = "pocock") -> np.ndarray:
    """Cumulative ``α(t)`` of the spending function at calendar fractions ``t`` in [0, 1]."""
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    if spending == "pocock":
        return alpha * np.log1p((math.e - 1) * t)
    if spending == "obrien_fleming":
        with np.errstate(divide="ignore"):
            z = stats.norm.ppf(1 - alpha / 2) / np.sqrt(t)
        return 2 * stats.norm.sf(z)
    raise ValueError(f"unknown spending function {spending!r}; one of {SPENDING_FUNCTIONS}")


def _crossing(corr: np.ndarray, c_prev: np.ndarray, c: float, seed: int = SEED,
              maxpts: int | None = None) -> float:
    """``P(|Z_j| < c_prev_j for all j, |Z_last| >= c)`` for ``Z ~ N(0, corr)``."""
    k = len(c_prev) + 1
    lower = np.r_[-c_prev, c]
    upper = np.r_[c_prev, np.inf]
    p = stats.multivariate_normal.cdf(upper, mean=np.zeros(k), cov=corr, allow_singular=True,
                                      lower_limit=lower, releps=0, abseps=1e-12,
                                      maxpts=maxpts or POINTS_PER_DIMENSION * k,
                                      rng=np.random.default_rng(seed))
    return 2.0 * float(p)


def critical_values(corr: np.ndarray, t: Sequence[float] | np.ndarray, alpha: float = 0.05,
                    spending: str = "pocock", *, valid: np.ndarray | None = None,
                    seed: int = SEED) -> np.ndarray:
    """Critical values ``c_1..c_L`` of looks at calendar fractions ``t`` (module docstring).

    ``corr``: ``(L, L)`` correlation of the looks' z statistics; ``valid``: looks that may
    reject (default all); an invalid look gets ``inf`` and spends nothing.
    """
    corr = np.asarray(corr, dtype=float)
    t = np.asarray(t, dtype=float)
    if corr.shape != (len(t), len(t)):
        raise ValueError(f"corr has shape {corr.shape}, expected {(len(t), len(t))}")
    if np.any(np.diff(t) <= 0) or t[0] <= 0 or t[-1] > 1 + 1e-12:
        raise ValueError("look fractions t must increase within (0, 1]")
    valid = np.ones(len(t), bool) if valid is None else np.asarray(valid, bool)
    spent = alpha_spent(t, alpha, spending)
    out = np.full(len(t), np.inf)
    used: list[int] = []
    last = 0.0
    for k in range(len(t)):
        if not valid[k]:
            continue
        target = float(spent[k] - last)
        bound = float(stats.norm.isf(target / 2))  # P(|Z_k| >= c) = target, ignoring the past
        if not used:
            out[k] = bound
        else:
            idx = [*used, k]
            sub, prev = corr[np.ix_(idx, idx)], out[used]

            def excess(c: float, sub=sub, prev=prev, target=target) -> float:
                p = _crossing(sub, prev, c, seed)
                return math.log(max(p, 1e-300)) - math.log(target)

            out[k] = _solve(excess, bound, guess=min(out[used[-1]], bound))
        used.append(k)
        last = float(spent[k])
    return out


def _solve(excess, bound: float, guess: float) -> float:
    """The root of the decreasing ``excess`` below ``bound``: secant steps from ``guess`` (the
    previous look's value; ``log P`` is nearly linear in ``c``), Brent's method if they fail."""
    try:
        r = optimize.root_scalar(excess, x0=guess, x1=guess - 0.02, method="secant",
                                 xtol=1e-5, maxiter=8)
        if r.converged and 0 < r.root <= bound + 1e-6:
            return min(float(r.root), bound)
    except (ValueError, ZeroDivisionError, OverflowError):
        pass
    if excess(bound) >= 0:  # the past looks remove (numerically) nothing
        return bound
    lo = bound - 0.25  # bracket downwards: evaluations near the root are cheap
    while lo > 0 and excess(lo) < 0:
        lo -= 0.25
    return float(optimize.brentq(excess, max(lo, 0.0), bound, xtol=1e-5))


def constant_boundary(corr: np.ndarray, alpha: float = 0.05, seed: int = SEED) -> float:
    """The one critical value ``c`` with ``P(max_k |Z_k| >= c) = α`` (Pocock's 1977 boundary,
    for comparison; the watch spends ``α`` over calendar time instead)."""
    corr = np.asarray(corr, dtype=float)
    k = len(corr)

    def excess(c: float) -> float:
        inside = stats.multivariate_normal.cdf(
            np.full(k, c), mean=np.zeros(k), cov=corr, allow_singular=True,
            lower_limit=np.full(k, -c), abseps=1e-4, releps=0,
            rng=np.random.default_rng(seed))
        return 1.0 - float(inside) - alpha

    return float(optimize.brentq(excess, stats.norm.isf(alpha / 2),
                                 stats.norm.isf(alpha / (2 * k)), xtol=1e-6))


@dataclass(frozen=True)
class LookMoments:
    """One arm's cumulative outcomes at ``L`` looks, as sufficient statistics: ``n`` customers,
    ``sum_y[k] = Σ_i y_ik`` and ``cross[j, k] = Σ_i y_ij y_ik`` (currency² for revenue)."""

    n: int
    sum_y: np.ndarray
    cross: np.ndarray

    @classmethod
    def from_outcomes(cls, y: np.ndarray) -> LookMoments:
        """From a ``(customers, looks)`` matrix of cumulative outcomes."""
        y = np.asarray(y, dtype=float)
        return cls(n=y.shape[0], sum_y=y.sum(axis=0), cross=y.T @ y)

    @property
    def looks(self) -> int:
        return len(self.sum_y)

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.sum_y, float) / self.n

    @property
    def cov(self) -> np.ndarray:
        """Sample covariance (ddof 1) of the outcomes at looks ``j`` and ``k``."""
        m = self.mean
        return (np.asarray(self.cross, float) - self.n * np.outer(m, m)) / (self.n - 1)


@dataclass(frozen=True)
class GroupSequentialResult:
    """``arm - control`` at each look: ``estimate``, ``se`` (Welch), ``critical_value``,
    ``alpha_spent`` (cumulative, at ``t``), ``lower``/``upper`` (``estimate ± c · se``; NaN
    for a look without variation), ``naive_lower``/``naive_upper`` (fixed-sample Welch,
    comparison only), ``corr`` the estimated correlation of the looks' z statistics."""

    metric: str
    arm: str
    control: str
    alpha: float
    spending: str
    planned_looks: int
    t: np.ndarray
    n_arm: int
    n_control: int
    estimate: np.ndarray
    se: np.ndarray
    critical_value: np.ndarray
    alpha_spent: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    naive_lower: np.ndarray
    naive_upper: np.ndarray
    corr: np.ndarray

    @property
    def method(self) -> str:
        return f"group_sequential_{self.spending}"

    @property
    def excludes_zero(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (self.lower > 0) | (self.upper < 0)

    @property
    def stopped_at(self) -> int | None:
        """First look (1-based) whose interval excludes 0, or None."""
        idx = np.flatnonzero(self.excludes_zero)
        return int(idx[0]) + 1 if idx.size else None

    def to_frame(self) -> pd.DataFrame:
        """One row per look."""
        return pd.DataFrame({
            "look": np.arange(1, len(self.estimate) + 1), "metric": self.metric,
            "arm": self.arm, "control": self.control, "n_arm": self.n_arm,
            "n_control": self.n_control, "estimate": self.estimate, "se": self.se,
            "lower": self.lower, "upper": self.upper, "excludes_zero": self.excludes_zero,
            "critical_value": self.critical_value, "alpha_spent": self.alpha_spent,
            "naive_lower": self.naive_lower, "naive_upper": self.naive_upper,
            "alpha": self.alpha, "method": self.method,
        })


def group_sequential(arm: LookMoments, control: LookMoments, *, planned_looks: int,
                     alpha: float = 0.05, spending: str = "pocock", metric: str = "",
                     arm_name: str = "treatment", control_name: str = "control",
                     seed: int = SEED) -> GroupSequentialResult:
    """Group-sequential intervals of ``mean_arm - mean_control`` at looks ``1..L`` of
    ``planned_looks`` (``L = arm.looks <= planned_looks``; module docstring)."""
    looks = arm.looks
    if control.looks != looks or looks == 0:
        raise ValueError("need the same (non-zero) number of looks for arm and control")
    if looks > planned_looks:
        raise ValueError(f"{looks} looks but only {planned_looks} planned")
    if arm.n < 2 or control.n < 2:
        raise ValueError("each arm needs at least 2 customers")
    cov_a, cov_c = arm.cov / arm.n, control.cov / control.n
    cov = cov_a + cov_c
    var_a, var_c = np.clip(np.diag(cov_a), 0, None), np.clip(np.diag(cov_c), 0, None)
    se = np.sqrt(var_a + var_c)
    valid = se > 1e-12 * (1 + np.abs(arm.mean) + np.abs(control.mean))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(se, se)
    corr[~valid, :] = 0.0
    corr[:, ~valid] = 0.0
    np.fill_diagonal(corr, 1.0)
    corr = np.clip(corr, -1.0, 1.0)
    t = np.arange(1, looks + 1) / planned_looks
    c = critical_values(corr, t, alpha, spending, valid=valid, seed=seed)
    est = arm.mean - control.mean
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(valid, c * se, np.nan)
        df = (var_a + var_c) ** 2 / (var_a**2 / (arm.n - 1) + var_c**2 / (control.n - 1))
        naive = np.where(valid, stats.t.ppf(1 - alpha / 2, df) * se, np.nan)
    return GroupSequentialResult(
        metric=metric, arm=arm_name, control=control_name, alpha=alpha, spending=spending,
        planned_looks=planned_looks, t=t, n_arm=arm.n, n_control=control.n, estimate=est,
        se=se, critical_value=c, alpha_spent=alpha_spent(t, alpha, spending),
        lower=est - half, upper=est + half, naive_lower=est - naive, naive_upper=est + naive,
        corr=corr)
