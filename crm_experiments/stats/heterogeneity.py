"""Does the effect differ between segments (lifecycle state, tier, RFM segment, province)?

Two tests of "the arm-vs-control effect is the same in every segment":

* :func:`interaction_test` on rows: OLS of the metric on treatment, segment dummies and
  treatment x segment dummies (plus the centred covariate when given),

      y = b0 + b_T·T + Σ_s c_s·D_s + Σ_s g_s·T·D_s (+ b_x·(x - x̄)) + e,  s = 2..k

  with HC2 errors (statsmodels' OLS HC2, computed in row chunks by
  :class:`~crm_experiments.stats.lin.ChunkedOLS`, which explains why), and the Wald test of
  ``g_2 = … = g_k = 0`` (chi-square with ``k - 1`` df, as statsmodels ``wald_test``; robust
  inference uses the normal reference).
  Method ``ols_hc2_interaction_wald``.
* :func:`cochran_q` on per-segment effects (any estimator, e.g. the covariate-adjusted ones
  of the report): inverse-variance weights ``w_s = 1 / se_s²``, pooled ``θ̄ = Σ w_s θ_s / Σ w_s``,

      Q = Σ w_s (θ_s - θ̄)²  ~  χ²(k - 1) under no heterogeneity,   I² = max(0, (Q - (k-1)) / Q)

  (Cochran 1954; Higgins & Thompson 2002). ``I²`` is the share of the spread of the segment
  effects beyond what sampling noise explains. Method ``cochran_q``.

Without a covariate the two agree exactly: the interacted model is saturated, its HC2 variance
of each cell mean is ``s²/n``, so the Wald statistic equals Q of the per-segment Welch
effects. A large p-value is no proof that segments respond alike (small segments have little
power); the per-segment effects with corrected intervals (:mod:`.multiple`) show the sizes.

:func:`cochran_q` also accepts Effects with array fields (many simulated experiments at once).

>>> from crm_experiments.stats.aggr import MomentStats
>>> from crm_experiments.stats.effects import compare_means
>>> s = MomentStats.from_arrays
>>> vip = compare_means(s([3.0, 4, 5, 6]), s([1.0, 2, 3, 4]), arm="coupon", metric="revenue")
>>> new = compare_means(s([1.0, 2, 3, 4]), s([1.0, 2, 3, 4]), arm="coupon", metric="revenue")
>>> q = cochran_q([vip, new], segment="tier")
>>> q.df, round(q.statistic, 3), q.differs
(1, 2.4, False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS

from crm_experiments.stats.arms import ArmCodes
from crm_experiments.stats.lin import ChunkedOLS
from crm_experiments.stats.result import Effect


@dataclass(frozen=True)
class HeterogeneityResult:
    """Test that one arm's effect on one metric is equal across the levels of ``segment``.

    ``statistic`` is chi-square distributed with ``df`` degrees of freedom under no
    heterogeneity; ``i_squared`` only for Cochran's Q (NaN for the interaction test).
    """

    arm: str
    metric: str
    segment: str
    statistic: Any
    df: int
    p_value: Any
    method: str
    alpha: float
    n_segments: int
    i_squared: Any = math.nan

    @property
    def differs(self) -> Any:
        """``p_value < alpha``: the effect differs between segments."""
        return self.p_value < self.alpha

    @property
    def message(self) -> str:
        """One plain line for the report."""
        test = "Wald chi-square" if self.method.startswith("ols") else "Cochran's Q"
        i2 = "" if np.isnan(self.i_squared) else f", I² {self.i_squared:.0%}"
        detail = (f"({test} {self.statistic:.2f}, {self.df} df, p = {self.p_value:.3g}{i2})")
        if self.differs:
            return (f"{self.arm}: the effect on {self.metric} DIFFERS between {self.segment} "
                    f"segments {detail}.")
        return (f"{self.arm}: no evidence that the effect on {self.metric} differs between "
                f"{self.n_segments} {self.segment} segments {detail}.")

    def to_frame(self) -> pd.DataFrame:
        """One row: the fields and the message."""
        return pd.DataFrame([{**asdict(self), "message": self.message}])


def heterogeneity_frame(results: Sequence[HeterogeneityResult]) -> pd.DataFrame:
    """One row per result."""
    return pd.concat([r.to_frame() for r in results], ignore_index=True)


def cochran_q(effects: Sequence[Effect], *, segment: str = "segment",
              alpha: float | None = None) -> HeterogeneityResult:
    """Cochran's Q and I² over per-segment ``effects`` of one arm and metric (module docstring).

    Each effect needs a finite ``se`` (all estimators but the bootstrap give one; the
    bootstrap's standard error works too). ``alpha`` defaults to the effects' own.
    """
    effects = list(effects)
    k = len(effects)
    if k < 2:
        raise ValueError("Cochran's Q needs the effects of at least 2 segments")
    theta = np.array([np.asarray(e.estimate, dtype=float) for e in effects])
    se = np.array([np.asarray(e.se, dtype=float) for e in effects])
    w = 1.0 / se**2
    pooled = (w * theta).sum(axis=0) / w.sum(axis=0)
    q = (w * (theta - pooled) ** 2).sum(axis=0)
    df = k - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(q > 0, np.maximum(0.0, (q - df) / q), 0.0)
    p = stats.chi2.sf(q, df)

    def scalar(v: Any) -> Any:
        return float(v) if np.ndim(v) == 0 else v

    first = effects[0]
    return HeterogeneityResult(
        arm=first.arm, metric=first.metric, segment=segment, statistic=scalar(q), df=df,
        p_value=scalar(p), method="cochran_q", alpha=first.alpha if alpha is None else alpha,
        n_segments=k, i_squared=scalar(i2))


def _interaction_design(y, treated, codes, k, x) -> tuple[np.ndarray, np.ndarray]:
    """Columns: const, T, D_2..D_k, T·D_2..T·D_k[, x - x̄]; returns (X, interaction column ids)."""
    t = treated.astype(float)
    dummies = (codes[:, None] == np.arange(1, k)[None, :]).astype(float)
    cols = [np.ones_like(y), t, dummies, t[:, None] * dummies]
    if x is not None:
        cols.append((x - x.mean())[:, None])
    design = np.column_stack(cols)
    inter = np.arange(2 + (k - 1), 2 + 2 * (k - 1))
    return design, inter


def _interaction_wald(y, treated, codes, k, x) -> tuple[float, float]:
    """Chi-square Wald statistic of the ``k - 1`` interactions and its p-value: OLS HC2 of
    :func:`_interaction_design` fitted chunk by chunk
    (:class:`~crm_experiments.stats.lin.ChunkedOLS`), equal to statsmodels'
    ``OLS(...).fit(cov_type="HC2").wald_test(..., use_f=False)``, which needs the dense
    design; statsmodels itself when the design is singular."""
    t = treated.astype(float)
    levels = np.arange(1, k)
    xc = None if x is None else x - x.mean()

    def design(start: int, stop: int) -> np.ndarray:
        dummies = (codes[start:stop, None] == levels[None, :]).astype(float)
        ts = t[start:stop]
        cols = [np.ones(stop - start), ts, dummies, ts[:, None] * dummies]
        return np.column_stack(cols if xc is None else [*cols, xc[start:stop]])

    inter = np.arange(2 + (k - 1), 2 + 2 * (k - 1))
    ols = ChunkedOLS(design, len(y), 2 * k + (x is not None))
    if ols.singular:
        full, inter = _interaction_design(y, treated, codes, k, x)
        fit = OLS(y, full).fit(cov_type="HC2")
        restriction = np.zeros((len(inter), full.shape[1]))
        restriction[np.arange(len(inter)), inter] = 1.0
        wald = fit.wald_test(restriction, use_f=False, scalar=True)
        return float(wald.statistic), float(wald.pvalue)
    beta, cov = ols.fit(y)
    b = beta[inter]
    statistic = float(b @ np.linalg.solve(cov[np.ix_(inter, inter)], b))
    return statistic, float(stats.chi2.sf(statistic, len(inter)))


def interaction_test(df: pd.DataFrame, arm_col: str, control: str, metric: str,
                     segment_col: str, covariate: str | None = None, *,
                     alpha: float = 0.05) -> tuple[HeterogeneityResult, ...]:
    """Wald test of the treatment x segment interactions, per non-control arm (sorted).

    ``df``: one row per customer with the arm, the metric, the segment and optionally a
    pre-period covariate. Every segment needs at least 2 customers in the arm and in the
    control (the HC2 leverage of a single customer is 1); segments are compared within the
    rows of the arm and the control only.
    """
    cols = [arm_col, metric, segment_col, *([covariate] if covariate else [])]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) {', '.join(missing)} not found; columns are "
                         f"{', '.join(map(str, df.columns))}")
    if df[cols].isna().any().any():
        raise ValueError(f"missing values in {', '.join(c for c in cols if df[c].isna().any())}")
    arms = ArmCodes(df[arm_col])
    control = str(control)
    if control not in arms:
        raise ValueError(f"control arm '{control}' not found in column '{arm_col}'")
    out = []
    for arm in [a for a in arms.names if a != control]:
        on = arms.rows(arm)
        keep = on | arms.rows(control)
        sub = df.loc[keep, cols[1:]]
        treated = on[keep]
        codes, levels = pd.factorize(sub[segment_col].astype(str), sort=True)
        k = len(levels)
        if k < 2:
            raise ValueError(f"column '{segment_col}' has a single segment; nothing to compare")
        in_arm = np.bincount(codes[treated], minlength=k)
        in_control = np.bincount(codes[~treated], minlength=k)
        thin = [str(levels[i]) for i in range(k) if min(in_arm[i], in_control[i]) < 2]
        if thin:
            raise ValueError(f"segment(s) {', '.join(thin)} have fewer than 2 customers in "
                             f"'{arm}' or '{control}'; merge or drop them")
        y = sub[metric].to_numpy(dtype=float)
        x = None if covariate is None else sub[covariate].to_numpy(dtype=float)
        statistic, p_value = _interaction_wald(y, treated, codes, k, x)
        out.append(HeterogeneityResult(
            arm=arm, metric=metric, segment=segment_col, statistic=statistic,
            df=k - 1, p_value=p_value, method="ols_hc2_interaction_wald",
            alpha=alpha, n_segments=k))
    return tuple(out)
