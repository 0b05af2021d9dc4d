"""Shares from counts: Wilson intervals, differences of shares, Net Promoter Score.

Each function takes a small frame of counts (one row per group, as :mod:`crm_experiments.
metrics` returns them) and returns a copy with the estimate, ``ci_low`` and ``ci_high`` added
(and ``p_value`` for a difference). Rows with an empty denominator get NaN, not an error.
``z = z_{1-α/2}`` below is the standard normal quantile.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats import proportion


def _nan(frame: pd.DataFrame) -> np.ndarray:
    return np.full(len(frame), np.nan)


def wilson_interval(frame: pd.DataFrame, k: str = "k", n: str = "n", *, alpha: float = 0.05,
                    estimate: str = "rate") -> pd.DataFrame:
    """Add ``estimate = p = k / n`` and its Wilson score interval (statsmodels
    ``proportion_confint(method="wilson")``):

        (p + z²/2n ± z · sqrt(p(1 - p)/n + z²/4n²)) / (1 + z²/n)

    It stays inside [0, 1] and is not empty at ``k = 0`` or ``k = n``.

    >>> wilson_interval(pd.DataFrame({"k": [2, 0], "n": [8, 0]})).round(4)
       k  n  rate  ci_low  ci_high
    0  2  8  0.25  0.0715   0.5907
    1  0  0   NaN     NaN      NaN
    """
    kk, nn = frame[k].to_numpy(), frame[n].to_numpy()
    rate, low, high = _nan(frame), _nan(frame), _nan(frame)
    has = nn > 0
    if has.any():
        rate[has] = kk[has] / nn[has]
        low[has], high[has] = proportion.proportion_confint(kk[has], nn[has], alpha=alpha,
                                                            method="wilson")
    return frame.assign(**{estimate: rate, "ci_low": low, "ci_high": high})


def share_difference(frame: pd.DataFrame, k1: str, n1: str, k2: str, n2: str, *,
                     alpha: float = 0.05, estimate: str = "estimate") -> pd.DataFrame:
    """Add ``estimate = d = p1 - p2`` (``p_i = k_i / n_i``), Newcombe's hybrid score interval
    and the Agresti-Caffo test's ``p_value`` (statsmodels ``confint_proportions_2indep``
    ``method="newcomb"`` and ``test_proportions_2indep`` ``method="agresti-caffo"``).

    With ``[l_i, u_i]`` the Wilson interval of ``p_i``, Newcombe's interval is

        d - sqrt((p1 - l1)² + (u2 - p2)²),   d + sqrt((u1 - p1)² + (p2 - l2)²)

    and it stays finite at 0 % and 100 % and on tiny samples (where the score solver of
    Miettinen-Nurminen can fail). Agresti-Caffo adds one success and one failure to each group,
    ``p̃_i = (k_i + 1) / (n_i + 2)``, and refers
    ``(p̃1 - p̃2) / sqrt(p̃1(1 - p̃1)/(n1 + 2) + p̃2(1 - p̃2)/(n2 + 2))`` to the normal.
    NaN where either group is empty.
    """
    a, m = frame[k1].to_numpy(), frame[n1].to_numpy()
    b, r = frame[k2].to_numpy(), frame[n2].to_numpy()
    est, low, high, p = _nan(frame), _nan(frame), _nan(frame), _nan(frame)
    has = (m > 0) & (r > 0)
    if has.any():
        args = a[has], m[has], b[has], r[has]
        est[has] = args[0] / args[1] - args[2] / args[3]
        low[has], high[has] = proportion.confint_proportions_2indep(
            *args, method="newcomb", compare="diff", alpha=alpha)
        # the test's result also holds the ratio and odds ratio, undefined at a 0 % share
        with np.errstate(divide="ignore", invalid="ignore"):
            p[has] = proportion.test_proportions_2indep(
                *args, method="agresti-caffo", compare="diff").pvalue
    return frame.assign(**{estimate: est, "ci_low": low, "ci_high": high, "p_value": p})


def nps_interval(frame: pd.DataFrame, promoters: str = "promoters",
                 detractors: str = "detractors", n: str = "n", *, alpha: float = 0.05,
                 estimate: str = "nps") -> pd.DataFrame:
    """Add the Net Promoter Score in points (-100..100) and its normal interval:

        nps = 100 (p - d),   se = sqrt((p + d - (p - d)²) / n),   nps ± 100 · z · se

    with ``p``, ``d`` the shares of promoters and detractors (the variance of the difference of
    two shares of one multinomial sample).

    >>> nps_interval(pd.DataFrame({"promoters": [6], "detractors": [2], "n": [10]})).round(1)
       promoters  detractors   n   nps  ci_low  ci_high
    0          6           2  10  40.0    -9.6     89.6
    """
    pro, det, nn = (frame[c].to_numpy(dtype=float) for c in (promoters, detractors, n))
    value, low, high = _nan(frame), _nan(frame), _nan(frame)
    has = nn > 0
    if has.any():
        p, d = pro[has] / nn[has], det[has] / nn[has]
        diff = p - d
        se = np.sqrt(np.maximum(p + d - diff**2, 0.0) / nn[has])
        z = stats.norm.ppf(1 - alpha / 2)
        value[has], low[has], high[has] = 100 * diff, 100 * (diff - z * se), 100 * (diff + z * se)
    return frame.assign(**{estimate: value, "ci_low": low, "ci_high": high})
