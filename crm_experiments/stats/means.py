"""Means from sufficient statistics: the t interval of a mean from ``n``, sum and sum of
squares (what an engine aggregation returns), one row per group."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def t_interval(frame: pd.DataFrame, n: str = "n", total: str = "sum", sumsq: str = "sumsq", *,
               alpha: float = 0.05, estimate: str = "mean") -> pd.DataFrame:
    """Add ``estimate = m = sum / n`` and its t interval ``ci_low, ci_high``:

        s² = (sumsq - n m²) / (n - 1)  (floored at 0),   m ± t_{1-α/2, n-1} · s / sqrt(n)

    (quantile from scipy). NaN estimate where ``n = 0``, NaN interval where ``n = 1``; a group
    without spread gets the interval ``[m, m]``.

    >>> t_interval(pd.DataFrame({"n": [3, 1], "sum": [11.0, 4.0], "sumsq": [45.0, 16.0]}))\\
    ...     .round(3)
       n   sum  sumsq   mean  ci_low  ci_high
    0  3  11.0   45.0  3.667  -0.128    7.461
    1  1   4.0   16.0  4.000     NaN      NaN
    """
    nn = frame[n].to_numpy(dtype=float)
    s, ss = frame[total].to_numpy(dtype=float), frame[sumsq].to_numpy(dtype=float)
    mean, low, high = (np.full(len(frame), np.nan) for _ in range(3))
    has, spread = nn > 0, nn > 1
    mean[has] = s[has] / nn[has]
    if spread.any():
        m, k = mean[spread], nn[spread]
        var = np.maximum((ss[spread] - k * m**2) / (k - 1), 0.0)
        half = stats.t.ppf(1 - alpha / 2, k - 1) * np.sqrt(var / k)
        low[spread], high[spread] = m - half, m + half
    return frame.assign(**{estimate: mean, "ci_low": low, "ci_high": high})
