"""Random-effects meta-analysis of one kind of treatment across campaigns.

Paule-Mandel estimate of the between-campaign variance tau² (statsmodels
``combine_effects(method_re="pm")``, which truncates tau² at 0; its DerSimonian-Laird branch
does not, and a negative tau² would make the pooled interval too narrow). The interval of the
pooled mean is ``mean ± z · se_re``; the *prediction* variance for a new campaign adds tau².
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm

METHOD = "random effects, Paule-Mandel tau² (statsmodels combine_effects method_re='pm')"


@dataclass(frozen=True)
class Pooled:
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    k: int
    method: str

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def prediction_se(self) -> float:
        """Standard error of a NEW campaign's effect: se² + tau²."""
        return math.sqrt(self.se ** 2 + (0.0 if math.isnan(self.tau2) else self.tau2))


def pool(estimates, ses, alpha: float = 0.05) -> Pooled:
    """Pool per-campaign estimates with standard errors ``ses``."""
    from statsmodels.stats.meta_analysis import combine_effects

    eff = np.asarray(estimates, dtype=float)
    se = np.asarray(ses, dtype=float)
    ok = np.isfinite(eff) & np.isfinite(se) & (se > 0)
    eff, se = eff[ok], se[ok]
    z = float(norm.ppf(1 - alpha / 2))
    if len(eff) == 0:
        nan = math.nan
        return Pooled(nan, nan, nan, nan, nan, nan, 0, "no estimate")
    if len(eff) == 1:
        m, s = float(eff[0]), float(se[0])
        return Pooled(m, s, m - z * s, m + z * s, math.nan, math.nan, 1,
                      "single campaign (nothing to pool)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = combine_effects(eff, se ** 2, method_re="pm", alpha=alpha)
    m, s = float(res.mean_effect_re), float(res.sd_eff_w_re)
    q, df = float(res.q), len(eff) - 1
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return Pooled(m, s, m - z * s, m + z * s, max(0.0, float(res.tau2)), i2, len(eff), METHOD)
