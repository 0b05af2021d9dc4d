"""The result of one arm-vs-control comparison of one metric: :class:`Effect`.

Units: ``estimate`` and its interval are in the metric's units (currency per customer, share of
customers, currency per order); the ``rel_*`` fields are fractions (``0.031`` = +3.1 %).
``se``/``df`` (``inf`` = normal reference) and ``var_mean_arm``/``var_mean_control``/``cov_means``
(variances and covariance of the two estimated means, for Fieller's relative interval; NaN when
the method does not give them) let :mod:`.multiple` widen intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import NamedTuple

import pandas as pd


@dataclass(frozen=True)
class Effect:
    """Arm minus control for one metric.

    ``estimate = mean_arm - mean_control``; ``rel_estimate = mean_arm / mean_control - 1``.
    For adjusted methods (``cuped``, ``lin_ols_hc2``) the means are covariate-adjusted means
    (evaluated at the pooled covariate mean), so both identities still hold. ``p_value`` is
    two-sided; NaN when the method gives no test (bootstrap). The ``*_adjusted`` fields and
    ``correction`` are filled by :func:`crm_experiments.stats.multiple.adjust`.
    """

    metric: str
    arm: str
    control: str
    n_arm: int
    n_control: int
    mean_arm: float
    mean_control: float
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    rel_estimate: float
    rel_ci_low: float
    rel_ci_high: float
    method: str
    alpha: float
    se: float = math.nan
    rel_se: float = math.nan
    df: float = math.inf
    variance_reduction: float | None = None
    #: the plain comparison's se (Welch / two proportions), for adjusted methods
    se_unadjusted: float = math.nan
    var_mean_arm: float = math.nan
    var_mean_control: float = math.nan
    cov_means: float = math.nan
    p_value_adjusted: float | None = None
    ci_low_adjusted: float | None = None
    ci_high_adjusted: float | None = None
    rel_ci_low_adjusted: float | None = None
    rel_ci_high_adjusted: float | None = None
    correction: str | None = None

    @property
    def significant(self) -> bool:
        """``p < alpha`` (the adjusted p-value when a correction was applied)."""
        p = self.p_value if self.p_value_adjusted is None else self.p_value_adjusted
        return bool(p < self.alpha)

    def to_frame(self) -> pd.DataFrame:
        """One row, one column per field."""
        return pd.DataFrame([asdict(self)])


class Shown(NamedTuple):
    """The interval, p-value and relative interval one effect shows (table, chart, economics)."""

    low: float
    high: float
    p_value: float
    rel_low: float
    rel_high: float
    #: whether ``p_value`` and the relative interval are the multiplicity-corrected ones
    corrected: bool


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def shown_interval(effect: Effect | Mapping) -> Shown:
    """What one effect shows, decided per effect (an :class:`Effect` or one row of
    :func:`effects_frame` as a mapping): the corrected interval and p-value where they are
    finite, else the plain ones; the relative interval at the level of that p-value (a
    corrected one is NaN when Fieller's set is unbounded: shown blank, never replaced by the
    uncorrected one)."""
    if isinstance(effect, Mapping):
        get, has = effect.get, effect.__contains__
    else:
        def get(key):
            return getattr(effect, key, None)

        def has(key):
            return hasattr(effect, key)

    def pick(plain: str):
        value = get(f"{plain}_adjusted")
        return value if _finite(value) else get(plain)
    corrected = _finite(get("p_value_adjusted")) and has("rel_ci_low_adjusted")
    rel = "_adjusted" if corrected else ""
    return Shown(pick("ci_low"), pick("ci_high"), pick("p_value"),
                 get(f"rel_ci_low{rel}"), get(f"rel_ci_high{rel}"), corrected)


def effects_frame(effects: Iterable[Effect]) -> pd.DataFrame:
    """One row per effect (arm x metric)."""
    rows = [asdict(e) for e in effects]
    if not rows:
        return pd.DataFrame(columns=[f for f in Effect.__dataclass_fields__])
    return pd.DataFrame(rows)
