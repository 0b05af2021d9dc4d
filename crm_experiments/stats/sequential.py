"""Always-valid intervals for daily looks during a sale: asymptotic confidence sequences.

Looking at a fixed-sample 95 % interval every day of an 11-day sale and acting the first time
it excludes 0 makes a false positive far more likely than 5 % (about 15-20 % under A/A).
A confidence sequence is a sequence of intervals that contains the true effect at ALL looks
simultaneously with probability ≥ 1 - α (asymptotically), so it may be checked as often as
wanted and the sale stopped at the first look that excludes 0.

When the looks are planned (one per sale day) and their correlation can be estimated, the
calibrated group-sequential boundary of :mod:`crm_experiments.stats.group_sequential` is
narrower and errs at the nominal rate; the sale watch uses that one and keeps this sequence
beside it (valid for unplanned looks too, and conservative: about 1-2 % under daily looks).

**Boundary** (normal-mixture / "Robbins" boundary of Howard, Ramdas, McAuliffe & Sekhon 2021,
*Time-uniform, nonparametric, nonasymptotic confidence sequences*, Ann. Statist.; in its
asymptotic form from Waudby-Smith, Arnold, Wu, Lindon & Ramdas, *Time-uniform central limit
theory and asymptotic confidence sequences*, Ann. Statist. 2024: their two-sided asymptotic
confidence sequence with a Gaussian mixture). With ``t`` observations and an estimator ``θ̂_t``
that is an average of ``t`` unit-level terms of variance ``σ²``, estimated by ``σ̂_t²``:

    θ̂_t ± σ̂_t · sqrt( 2 (t ρ² + 1) / (t² ρ²) · log( sqrt(t ρ² + 1) / α ) )

It comes from Ville's inequality applied to the Gaussian mixture (mixing variance ``ρ²``) of
the exponential martingales ``exp(λ S_t - λ² t / 2)``; the mixture is symmetric in ``λ``, so
the bound is two-sided at ``α`` without halving.

**Tuning ρ.** ``ρ`` sets where the sequence is tightest. For a planned number of observations
``t*`` (``planned_n``) the papers suggest

    ρ² = (-2 log α + log(-2 log α + 1)) / t*

an approximate minimiser of the width at ``t = t*`` (the tests check it is within 1 % of the
numerical minimum). Choose ``planned_n`` before the sale (the customers expected by its last
day); ``None`` uses the count at the last look given, which is fine for a finished sale but
makes earlier intervals move as looks are added.

**Two arms.** Here ``θ̂_t = ȳ_arm - ȳ_control`` after ``t = n_arm + n_control`` customers (the
Bernoulli-assigned two-sample case), with the unit-level variance of the difference in means

    σ̂_t² = t · (v_arm / n_arm + v_control / n_control)

(sample variances, ddof=1; proportions are 0/1 outcomes, so ``v ≈ p (1 - p)``), i.e. the
boundary is ``se_t · sqrt(t · 2 (tρ²+1)/(t²ρ²) · log(sqrt(tρ²+1)/α))`` with ``se_t`` the Welch
standard error. The guarantee is asymptotic: it needs a few hundred customers per arm at the
first look for skewed revenue. Checking only once a day is a subset of all times, so the
error rate at daily looks is below ``α`` (the bound is conservative for 11 looks).

Inputs are CUMULATIVE per-arm :class:`~crm_experiments.stats.aggr.MomentStats` at each look
(everything up to and including that day); fields may be arrays (many simulated sales at
once), then every result field gets that shape after the look axis. :func:`simulate_sale`
checks the error rates on simulated 11-day sales.

>>> from crm_experiments.stats.aggr import MomentStats
>>> a = [MomentStats.from_arrays([1.0, 2, 3, 4] * k) for k in (50, 100)]
>>> c = [MomentStats.from_arrays([1.0, 2, 3, 3] * k) for k in (50, 100)]
>>> r = confidence_sequence(a, c)
>>> r.stopped_at, bool(r.lower[0] < r.naive_lower[0])
(2, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from crm_experiments.stats.aggr import MomentStats


def optimal_rho(planned_n: float, alpha: float = 0.05) -> float:
    """``ρ = sqrt((-2 log α + log(-2 log α + 1)) / planned_n)`` (module docstring)."""
    if planned_n <= 0:
        raise ValueError(f"planned_n must be positive, got {planned_n}")
    a = -2 * math.log(alpha)
    return math.sqrt((a + math.log(a + 1)) / planned_n)


def boundary_factor(t: Any, rho: float, alpha: float = 0.05) -> Any:
    """``sqrt(2 (tρ²+1)/(t²ρ²) · log(sqrt(tρ²+1)/α))``: half-width per unit of ``σ̂``."""
    t = np.asarray(t, dtype=float)
    r2 = rho * rho
    return np.sqrt(2 * (t * r2 + 1) / (t * t * r2) * np.log(np.sqrt(t * r2 + 1) / alpha))


@dataclass(frozen=True)
class SequentialResult:
    """Confidence sequence of ``arm - control`` at each look (look 1 = first day).

    Arrays along the first axis are per look: ``n_arm``, ``n_control``, ``estimate`` (metric
    units), ``lower``/``upper`` (the always-valid interval), ``naive_lower``/``naive_upper``
    (the fixed-sample Welch interval at ``1 - alpha``, NOT valid under repeated looks; shown to
    compare). ``rho`` the tuning parameter, ``planned_n`` what it was tuned for.
    """

    metric: str
    arm: str
    control: str
    alpha: float
    rho: float
    planned_n: float
    n_arm: np.ndarray
    n_control: np.ndarray
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    naive_lower: np.ndarray
    naive_upper: np.ndarray
    method: str = "asymptotic_cs_normal_mixture"

    @property
    def excludes_zero(self) -> np.ndarray:
        """Per look (and simulated sale): does the always-valid interval exclude 0?"""
        return (self.lower > 0) | (self.upper < 0)

    @property
    def stopped_at(self) -> int | None:
        """First look (1-based) whose interval excludes 0; None if none (scalar inputs only)."""
        hits = self.excludes_zero
        if hits.ndim != 1:
            raise ValueError("stopped_at is defined for one sale; use excludes_zero")
        idx = np.flatnonzero(hits)
        return int(idx[0]) + 1 if idx.size else None

    @property
    def message(self) -> str:
        day = self.stopped_at
        if day is None:
            return (f"No look excludes 0 (always-valid {1 - self.alpha:.0%} intervals, "
                    f"{len(self.estimate)} looks): keep watching or call it inconclusive.")
        return (f"Look {day} is the first whose always-valid {1 - self.alpha:.0%} interval "
                f"excludes 0 ({self.lower[day - 1]:.4g} to {self.upper[day - 1]:.4g}).")

    def to_frame(self) -> pd.DataFrame:
        """One row per look (scalar inputs)."""
        if self.estimate.ndim != 1:
            raise ValueError("to_frame is defined for one sale")
        return pd.DataFrame({
            "look": np.arange(1, len(self.estimate) + 1), "metric": self.metric,
            "arm": self.arm, "control": self.control, "n_arm": self.n_arm,
            "n_control": self.n_control, "estimate": self.estimate, "lower": self.lower,
            "upper": self.upper, "excludes_zero": self.excludes_zero,
            "naive_lower": self.naive_lower, "naive_upper": self.naive_upper,
            "alpha": self.alpha, "rho": self.rho, "method": self.method,
        })


def confidence_sequence(stats_arm_by_look: Sequence[MomentStats],
                        stats_control_by_look: Sequence[MomentStats], *, alpha: float = 0.05,
                        planned_n: float | None = None, metric: str = "",
                        arm: str = "treatment", control: str = "control") -> SequentialResult:
    """Always-valid intervals for ``mean_arm - mean_control`` at each look (module docstring).

    ``stats_*_by_look``: cumulative sufficient statistics of each arm at each look, in time
    order. ``planned_n``: total customers (both arms) the sequence is tuned for.
    """
    if len(stats_arm_by_look) != len(stats_control_by_look) or not stats_arm_by_look:
        raise ValueError("need the same (non-zero) number of looks for arm and control")
    n_a = np.array([np.broadcast_to(s.n, np.shape(s.sum_y)) for s in stats_arm_by_look],
                   dtype=float)
    n_c = np.array([np.broadcast_to(s.n, np.shape(s.sum_y)) for s in stats_control_by_look],
                   dtype=float)
    if np.any(np.diff(n_a, axis=0) < 0) or np.any(np.diff(n_c, axis=0) < 0):
        raise ValueError("counts decrease between looks; pass cumulative statistics")
    m_a = np.array([s.mean_y for s in stats_arm_by_look], dtype=float)
    m_c = np.array([s.mean_y for s in stats_control_by_look], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        vm_a = np.array([s.var_y for s in stats_arm_by_look], dtype=float) / n_a
        vm_c = np.array([s.var_y for s in stats_control_by_look], dtype=float) / n_c
        se = np.sqrt(vm_a + vm_c)
        t = n_a + n_c
        if planned_n is None:
            planned_n = float(np.max(t[-1]))
        rho = optimal_rho(planned_n, alpha)
        half = se * np.sqrt(t) * boundary_factor(t, rho, alpha)
        df = (vm_a + vm_c) ** 2 / (vm_a**2 / (n_a - 1) + vm_c**2 / (n_c - 1))
        naive = stats.t.ppf(1 - alpha / 2, df) * se
    est = m_a - m_c
    return SequentialResult(
        metric=metric, arm=arm, control=control, alpha=alpha, rho=rho,
        planned_n=float(planned_n), n_arm=n_a.astype(int), n_control=n_c.astype(int),
        estimate=est, lower=est - half, upper=est + half, naive_lower=est - naive,
        naive_upper=est + naive)


#: customers arriving per day of an 11-day sale, control arm (the arm gets ``arm_ratio`` times
#: as many): busy first and last days, a quieter middle
DAILY_CONTROL = (300, 160, 110, 90, 80, 80, 80, 90, 110, 150, 250)
_P_BUY, _MU, _SIGMA = 0.2, 3.5, 1.2


def simulate_sale(n_sales: int = 2000, *, lift: float = 0.0, alpha: float = 0.05,
                  daily_control: Sequence[int] = DAILY_CONTROL, arm_ratio: float = 1.5,
                  planned_n: float | None = None, seed: int = 0,
                  batch: int = 1000) -> dict[str, float]:
    """Error rates of daily looks over ``n_sales`` simulated sales (vectorised, seeded).

    Revenue per customer: 80 % zeros, buyers spend lognormal(3.5, 1.2) (heavy right tail, as
    in :mod:`.simulate`); the arm's buy probability is ``20 % · (1 + lift)``. Each day new
    customers arrive (``daily_control`` in control, ``arm_ratio`` times as many in the arm);
    at the end of each day the cumulative statistics are looked at. ``planned_n`` defaults to
    the planned total of the sale. Returns, over sales:

    * ``cs_any_excludes_zero`` / ``naive_any_excludes_zero``: share of sales where ANY look's
      interval excludes 0 (under ``lift = 0`` the false-positive rate of "stop at the first
      significant day"; otherwise the power of it);
    * ``cs_coverage_all_looks`` / ``naive_coverage_all_looks``: share of sales whose intervals
      contain the true difference at every look simultaneously;
    * ``naive_last_look_excludes_zero``: the single fixed-sample test at the end, for scale.
    """
    rng = np.random.default_rng(seed)
    daily_arm = [round(arm_ratio * k) for k in daily_control]
    if planned_n is None:
        planned_n = float(sum(daily_control) + sum(daily_arm))
    truth = _P_BUY * lift * math.exp(_MU + _SIGMA**2 / 2)
    counts = dict.fromkeys(("cs_any", "naive_any", "cs_cover", "naive_cover", "naive_last"), 0)
    done = 0
    while done < n_sales:
        k = min(batch, n_sales - done)
        arm_looks, ctl_looks = [], []
        arm_cum = ctl_cum = None
        for n_arm, n_ctl in zip(daily_arm, daily_control, strict=True):
            ya = rng.lognormal(_MU, _SIGMA, (k, n_arm)) * (
                rng.random((k, n_arm)) < _P_BUY * (1 + lift))
            yc = rng.lognormal(_MU, _SIGMA, (k, n_ctl)) * (rng.random((k, n_ctl)) < _P_BUY)
            day_a, day_c = MomentStats.from_arrays(ya, axis=1), MomentStats.from_arrays(yc, axis=1)
            arm_cum = day_a if arm_cum is None else arm_cum + day_a
            ctl_cum = day_c if ctl_cum is None else ctl_cum + day_c
            arm_looks.append(arm_cum)
            ctl_looks.append(ctl_cum)
        r = confidence_sequence(arm_looks, ctl_looks, alpha=alpha, planned_n=planned_n)
        naive_out = (r.naive_lower > 0) | (r.naive_upper < 0)
        counts["cs_any"] += int(r.excludes_zero.any(axis=0).sum())
        counts["naive_any"] += int(naive_out.any(axis=0).sum())
        counts["naive_last"] += int(naive_out[-1].sum())
        counts["cs_cover"] += int(((r.lower <= truth) & (truth <= r.upper)).all(axis=0).sum())
        counts["naive_cover"] += int(
            ((r.naive_lower <= truth) & (truth <= r.naive_upper)).all(axis=0).sum())
        done += k
    return {
        "n_sales": n_sales, "looks": len(daily_control), "lift": lift, "true_difference": truth,
        "cs_any_excludes_zero": counts["cs_any"] / n_sales,
        "naive_any_excludes_zero": counts["naive_any"] / n_sales,
        "naive_last_look_excludes_zero": counts["naive_last"] / n_sales,
        "cs_coverage_all_looks": counts["cs_cover"] / n_sales,
        "naive_coverage_all_looks": counts["naive_cover"] / n_sales,
    }
