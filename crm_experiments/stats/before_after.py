"""Before/after comparisons: against a baseline window (not causal) and difference in differences.

**Without a control group** (:func:`compare_to_baseline`) a metric of the current window (the
sale) is compared with the same metric of a baseline window (the same period last year, or the
weeks before). The difference mixes the campaign with seasonality, trend, traffic, assortment
and prices, so the result always carries ``causal=False`` and a plain ``label`` saying so.

* unpaired (two different sets of customers, or the same shop's customers without a link):
  Welch's t, exactly :func:`~crm_experiments.stats.effects.compare_means`;
* ``paired=True`` (both arrays over the same customers, in the same order): the per-customer
  differences ``d_i = current_i - baseline_i``, ``se = sd(d) / sqrt(n)``, t interval with
  ``n - 1`` degrees of freedom (equals ``scipy.stats.ttest_rel``). The relative effect
  ``R - 1`` with ``R = Σcurrent / Σbaseline`` gets Fieller's interval
  (:func:`~crm_experiments.stats.effects.fieller`) with the two means' sample covariance
  (the pairing) and the same t quantile, so it excludes 0 iff the paired interval does.

**With a control group** (:func:`difference_in_differences`) each customer's change
``Δ_i = post_i - pre_i`` is regressed on the treated indicator, ``Δ ~ 1 + T``, by OLS with HC2
errors (statsmodels; cluster-robust by ``cluster`` when given). The slope is

    DiD = mean(Δ | treated) - mean(Δ | control)

and its HC2 standard error equals the Welch standard error of the changes,
``sqrt(v_t/n_t + v_c/n_c)`` (normal reference, as statsmodels' robust inference). It equals the
interaction coefficient of the long 2x2 panel regression ``y ~ treated * post``. In a randomised
campaign it is a cross-check of the post-period comparison (it removes pre-existing level
differences, at the cost of the pre-period noise).

Units: estimates and intervals in the metric's units (currency per customer); ``rel_*`` are
fractions (``0.031`` = +3.1 %).

>>> r = compare_to_baseline([12.0, 15, 11, 14], [10.0, 12, 11, 12], paired=True)
>>> r.estimate, r.causal, r.method
(1.75, False, 'paired_t')
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS

from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.arms import ArmCodes
from crm_experiments.stats.effects import _interval, compare_means, fieller
from crm_experiments.stats.result import Effect

NOT_CAUSAL = ("Before/after comparison without a control group: NOT a causal effect of the "
              "campaign (season, trend, traffic, prices and assortment changes are mixed in).")


@dataclass(frozen=True)
class BaselineComparison:
    """Current window minus baseline window for one metric; never a causal effect.

    ``estimate = mean_current - mean_baseline``; ``rel_estimate = mean_current / mean_baseline
    - 1`` (delta method interval, normal reference); ``p_value`` two-sided; ``df`` of the t
    reference. ``n_*`` count customers in each window (equal when ``paired``).
    """

    metric: str
    n_current: int
    n_baseline: int
    mean_current: float
    mean_baseline: float
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    rel_estimate: float
    rel_ci_low: float
    rel_ci_high: float
    se: float
    df: float
    method: str
    alpha: float
    paired: bool
    causal: bool = False
    label: str = NOT_CAUSAL

    def to_frame(self) -> pd.DataFrame:
        """One row, one column per field."""
        return pd.DataFrame([asdict(self)])


def compare_to_baseline(current, baseline, *, alpha: float = 0.05, paired: bool = False,
                        metric: str = "") -> BaselineComparison:
    """A metric of the current window vs the baseline window (module docstring).

    ``current`` and ``baseline``: per-customer values of the metric in each window (0 for
    customers without purchases). ``paired=True`` needs both arrays over the same customers in
    the same order (method ``paired_t``); otherwise Welch (method ``welch_t``).
    """
    c = np.asarray(current, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if c.size < 2 or b.size < 2:
        raise ValueError("each window needs at least 2 customers")
    if not paired:
        e = compare_means(MomentStats.from_arrays(c), MomentStats.from_arrays(b), alpha)
        return BaselineComparison(
            metric=metric, n_current=int(c.size), n_baseline=int(b.size),
            mean_current=e.mean_arm, mean_baseline=e.mean_control, estimate=e.estimate,
            ci_low=e.ci_low, ci_high=e.ci_high, p_value=e.p_value, rel_estimate=e.rel_estimate,
            rel_ci_low=e.rel_ci_low, rel_ci_high=e.rel_ci_high, se=e.se, df=e.df,
            method="welch_t", alpha=alpha, paired=False)
    if c.shape != b.shape:
        raise ValueError(f"paired=True needs arrays over the same customers; got {c.size} "
                         f"current and {b.size} baseline values")
    n = c.size
    d = c - b
    est = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n))
    df = n - 1
    q = stats.t.ppf(1 - alpha / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = float(2 * stats.t.sf(abs(est / se), df))
        ratio = c.sum() / b.sum()
    # Fieller with the pairing's covariance and the paired t quantile: var(m_c) - 2 cov +
    # var(m_b) = var(d)/n = se², so the interval excludes 0 iff the paired t interval does
    cov = np.cov(c, b, ddof=1) / n
    rel_low, rel_high = (float(v) for v in fieller(c.mean(), b.mean(), cov[0, 0], cov[1, 1],
                                                   cov[0, 1], q))
    return BaselineComparison(
        metric=metric, n_current=n, n_baseline=n, mean_current=float(c.mean()),
        mean_baseline=float(b.mean()), estimate=est, ci_low=est - q * se, ci_high=est + q * se,
        p_value=p, rel_estimate=float(ratio - 1), rel_ci_low=rel_low, rel_ci_high=rel_high,
        se=se, df=float(df), method="paired_t", alpha=alpha, paired=True)


def _rel_se(pre, post, treated, groups) -> float:
    """Delta-method se of ``mean(post|T) / (mean(pre|T) + mean(Δ|C)) - 1`` (sandwich form).

    Linearisation per customer, centred within its arm: treated ``(post - r·pre) / (n_t·m)``,
    control ``-r·Δ / (n_c·m)`` with ``m`` the counterfactual mean; the variance sums squared
    cluster totals (each customer its own cluster when ``groups`` is None; ``n/(n-1)`` or
    ``G/(G-1)`` small-sample factor).
    """
    t = treated
    n_t, n_c = t.sum(), (~t).sum()
    change = post - pre
    m_cf = pre[t].mean() + change[~t].mean()
    r = post[t].mean() / m_cf
    psi = np.where(t, (post - r * pre) / (n_t * m_cf), -r * change / (n_c * m_cf))
    psi = psi - np.where(t, psi[t].mean(), psi[~t].mean())
    if groups is None:
        return float(np.sqrt(n_t / (n_t - 1) * np.sum(psi[t] ** 2)
                             + n_c / (n_c - 1) * np.sum(psi[~t] ** 2)))
    totals = pd.Series(psi).groupby(np.asarray(groups)).sum().to_numpy()
    g = totals.size
    return float(np.sqrt(g / (g - 1) * np.sum(totals**2)))


def _mean_covariance(pre, post, treated, groups, se: float) -> tuple[float, float, float]:
    """``(var(m_arm), var(m_cf), cov(m_arm, m_cf))`` for Fieller's relative DiD interval.

    ``m_arm = mean(post | T)``, ``m_cf = mean(pre | T) + mean(Δ | C)``; ``var(m_cf)`` and the
    covariance from per-customer influence terms centred within their arm (summed per cluster
    when ``groups`` is given; ``n/(n-1)`` per arm or ``G/(G-1)`` factor), and ``var(m_arm)``
    set so that ``var(m_arm) - 2 cov + var(m_cf)`` is exactly the fit's ``se²``: at ``ρ = 1``
    Fieller's pivot is then the DiD test itself.
    """
    t = treated
    n_t, n_c = t.sum(), (~t).sum()
    change = post - pre
    arm = np.where(t, (post - post[t].mean()) / n_t, 0.0)
    cf = np.where(t, (pre - pre[t].mean()) / n_t, (change - change[~t].mean()) / n_c)
    if groups is None:
        w = np.where(t, n_t / (n_t - 1), n_c / (n_c - 1))
        v_cf, c_means = float(np.sum(w * cf**2)), float(np.sum(w * arm * cf))
    else:
        totals = pd.DataFrame({"arm": arm, "cf": cf}).groupby(groups).sum().to_numpy()
        g = len(totals)
        v_cf = float(g / (g - 1) * np.sum(totals[:, 1] ** 2))
        c_means = float(g / (g - 1) * np.sum(totals[:, 0] * totals[:, 1]))
    return se**2 + 2 * c_means - v_cf, v_cf, c_means


def _dummy_ols_hc2(y: np.ndarray, t: np.ndarray, alpha: float
                   ) -> tuple[float, float, float, float, float]:
    """OLS of ``y`` on a constant and the 0/1 ``t`` with HC2 errors: ``(slope, se, ci_low,
    ci_high, p_value)``, normal reference. With one dummy the leverages are ``1 / n_g`` and
    HC2's variance is Welch's ``s_1²/n_1 + s_0²/n_0`` (``ddof = 1``): statsmodels'
    ``OLS(...).fit(cov_type="HC2")`` to rounding (tests), without its pseudo-inverse and
    leverages of the ``n × 2`` design (seconds at millions of customers)."""
    y1, y0 = y[t], y[~t]
    slope = float(y1.mean() - y0.mean())
    se = math.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))
    low, high, p_value = _interval(slope, se, math.inf, alpha)
    return slope, se, float(low), float(high), float(p_value)


def difference_in_differences(y_pre, y_post, treatment, *, alpha: float = 0.05, cluster=None,
                              metric: str = "", arm: str = "treatment",
                              control: str = "control") -> Effect:
    """DiD of per-customer outcomes (module docstring), method ``did_change_ols_hc2``.

    ``y_pre``/``y_post``: the metric per customer before and after (same customers, same
    order); ``treatment``: 1/True for the treated arm, 0/False for the control. ``cluster``:
    optional group labels (e.g. household, store) for cluster-robust errors (method
    ``did_change_ols_cluster``).

    In the returned Effect, ``mean_arm`` is the treated post-period mean and ``mean_control``
    the treated customers' counterfactual ``mean(pre | T) + mean(Δ | C)``, so that
    ``estimate = mean_arm - mean_control`` and ``rel_estimate`` is the effect relative to what
    the treated would have had without the campaign (Fieller's interval, normal reference, at
    the DiD test's own critical value and standard error, so it excludes 0 iff the DiD
    interval does; :func:`_mean_covariance`).
    A change constant in both arms has NaN interval and p-value (no sampling error to
    estimate); a counterfactual mean of 0 (no revenue before or after) a NaN relative effect.
    """
    pre = np.asarray(y_pre, dtype=float)
    post = np.asarray(y_post, dtype=float)
    t = np.asarray(treatment).astype(bool)
    if not (pre.shape == post.shape == t.shape):
        raise ValueError("y_pre, y_post and treatment must have one value per customer")
    if t.sum() < 2 or (~t).sum() < 2:
        raise ValueError("need at least 2 treated and 2 control customers")
    change = post - pre
    if cluster is None:
        did, se, low, high, p_value = _dummy_ols_hc2(change, t, alpha)
        method = "did_change_ols_hc2"
    else:
        design = np.column_stack([np.ones_like(change), t.astype(float)])
        groups = pd.factorize(np.asarray(cluster))[0]
        fit = OLS(change, design).fit(cov_type="cluster", cov_kwds={"groups": groups})
        method = "did_change_ols_cluster"
        did = float(fit.params[1])
        low, high = fit.conf_int(alpha)[1]
        p_value, se = float(fit.pvalues[1]), float(fit.bse[1])
    if np.ptp(change[t]) == 0 and np.ptp(change[~t]) == 0:
        # the change is constant in both arms (e.g. no revenue before or after): the
        # difference is exact in the sample, no sampling error to estimate -> no interval, no p
        low = high = p_value = se = math.nan
    m_arm = float(post[t].mean())
    m_cf = m_arm - did
    groups = None if cluster is None else np.asarray(cluster)
    z = stats.norm.ppf(1 - alpha / 2)
    v_arm = v_cf = c_means = math.nan
    if pre[t].mean() + change[~t].mean() == 0 or math.isnan(se):
        # counterfactual 0 (no relative effect) or no sampling error (no interval)
        rel = m_arm / m_cf - 1 if pre[t].mean() + change[~t].mean() != 0 else math.nan
        rel_se = rel_low = rel_high = math.nan
    else:
        rel = m_arm / m_cf - 1
        rel_se = _rel_se(pre, post, t, groups)
        v_arm, v_cf, c_means = _mean_covariance(pre, post, t, groups, se)
        rel_low, rel_high = (float(v) for v in fieller(m_arm, m_cf, v_arm, v_cf, c_means, z))
    return Effect(
        metric=metric, arm=arm, control=control, n_arm=int(t.sum()), n_control=int((~t).sum()),
        mean_arm=m_arm, mean_control=m_cf, estimate=did, ci_low=float(low), ci_high=float(high),
        p_value=p_value, rel_estimate=float(rel), rel_ci_low=rel_low, rel_ci_high=rel_high,
        method=method, alpha=alpha, se=se, rel_se=rel_se, df=math.inf,
        var_mean_arm=float(v_arm), var_mean_control=float(v_cf), cov_means=float(c_means))


def did_by_arm(df: pd.DataFrame, arm_col: str, control: str, pre_col: str, post_col: str, *,
               alpha: float = 0.05, cluster_col: str | None = None,
               metric: str | None = None) -> tuple[Effect, ...]:
    """:func:`difference_in_differences` of every non-control arm vs ``control``, sorted by arm.

    ``df`` has one row per customer with the arm and the metric before (``pre_col``) and after
    (``post_col``); ``metric`` names the result (default ``post_col``).
    """
    for col in (arm_col, pre_col, post_col, *([cluster_col] if cluster_col else [])):
        if col not in df.columns:
            raise ValueError(f"column '{col}' not found; columns are {', '.join(df.columns)}")
    arms = ArmCodes(df[arm_col])
    control = str(control)
    if control not in arms:
        raise ValueError(f"control arm '{control}' not found in column '{arm_col}'")
    needed = (pre_col, post_col, *([cluster_col] if cluster_col else []))
    columns = {c: df[c].to_numpy() for c in needed}
    out = []
    for a in [n for n in arms.names if n != control]:
        on = arms.rows(a)
        keep = on | arms.rows(control)
        out.append(difference_in_differences(
            columns[pre_col][keep], columns[post_col][keep], on[keep], alpha=alpha,
            cluster=None if cluster_col is None else columns[cluster_col][keep],
            metric=metric or post_col, arm=a, control=control))
    return tuple(out)
