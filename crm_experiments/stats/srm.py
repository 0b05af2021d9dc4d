"""Sample-ratio mismatch: did the arms get the share of customers the plan said?

Chi-square goodness of fit (``scipy.stats.chisquare``) of the observed arm counts against
``n · planned share``. A p-value below ``alpha`` (0.001 by default: the check runs on every
experiment, so it must rarely cry wolf) means assignment or logging is broken and the effects
should not be trusted.

>>> r = check_sample_ratio({"control": 1000, "coupon": 1000}, {"control": 0.5, "coupon": 0.5})
>>> r.passed, r.p_value
(True, 1.0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class SampleRatioResult:
    """Observed vs planned arm shares; ``passed`` = ``p_value >= alpha``."""

    arms: tuple[str, ...]
    counts: tuple[int, ...]
    observed_shares: tuple[float, ...]
    expected_shares: tuple[float, ...]
    statistic: float
    p_value: float
    alpha: float
    passed: bool
    message: str
    method: str = "chi_square_goodness_of_fit"

    def to_frame(self) -> pd.DataFrame:
        """One row per arm."""
        return pd.DataFrame({
            "arm": self.arms, "n": self.counts, "observed_share": self.observed_shares,
            "expected_share": self.expected_shares, "statistic": self.statistic,
            "p_value": self.p_value, "passed": self.passed,
        })

    def to_dict(self) -> dict:
        return asdict(self)


def check_sample_ratio(counts: dict[str, int], planned: dict[str, float],
                       alpha: float = 0.001) -> SampleRatioResult:
    """Chi-square test of ``counts`` per arm against ``planned`` shares (normalised to sum 1).

    Every counted arm needs a planned share and vice versa (a planned arm with 0 customers is
    counted as 0).
    """
    unplanned = sorted(set(counts) - set(planned))
    if unplanned:
        raise ValueError(f"arms without a planned share: {', '.join(map(str, unplanned))}")
    arms = tuple(planned)
    shares = np.array([float(planned[a]) for a in arms])
    if np.any(shares <= 0) or len(arms) < 2:
        raise ValueError("planned shares must be positive, for at least two arms")
    shares = shares / shares.sum()
    observed = np.array([int(counts.get(a, 0)) for a in arms])
    n = observed.sum()
    res = stats.chisquare(observed, n * shares)
    p = float(res.pvalue)
    passed = bool(p >= alpha)
    worst = int(np.argmax(np.abs(observed / n - shares)))
    detail = (f"{arms[worst]} has {observed[worst] / n:.2%} of {n} customers, "
              f"planned {shares[worst]:.2%}")
    message = (f"Sample ratio OK (chi-square p = {p:.3g}; {detail})." if passed else
               f"SAMPLE RATIO MISMATCH (chi-square p = {p:.2g} < {alpha:g}): {detail}; "
               "assignment or tracking is broken, do not trust the effects.")
    return SampleRatioResult(
        arms=arms, counts=tuple(int(c) for c in observed),
        observed_shares=tuple(float(c / n) for c in observed),
        expected_shares=tuple(float(s) for s in shares), statistic=float(res.statistic),
        p_value=p, alpha=alpha, passed=passed, message=message)
