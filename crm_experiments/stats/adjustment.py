"""Regression adjustment on many pre-period covariates, for every metric of an experiment.

One comparison (an arm against the control, one metric ``y``) is adjusted on the covariate
columns ``X`` (the shop's pre-period metrics, purchase history, dummies of lifecycle state,
tier, gender ...). :func:`compare_regression` picks, by the rule below, one of:

* ``lin_ols_hc2``: Lin's (2013) interacted OLS ``y ~ 1 + T + (X - X̄) + T·(X - X̄)`` with HC2
  errors (:func:`~crm_experiments.stats.lin.compare_adjusted`), when the smaller arm has
  at least :data:`OLS_ROWS_PER_PARAMETER` rows per parameter of its own fit (``k + 2``).
  Conversion and other 0/1 metrics are adjusted the same way (a linear probability model:
  under randomisation Lin's estimator is consistent whatever the outcome's distribution).
* ``lin_ridge``: the same interacted model fitted as one ridge regression per arm
  (scikit-learn ``RidgeCV``, penalty chosen by generalised cross-validation on covariates
  standardised with the pooled mean and sd), when covariates are many for the arm's size
  (between :data:`RIDGE_ROWS_PER_PARAMETER` and :data:`OLS_ROWS_PER_PARAMETER` rows per
  parameter). The arm's adjusted mean is its prediction at the pooled covariate mean,
  ``m_a = ȳ_a - (z̄_a - z̄)'β_a``; its variance the HC3-type ``Σ (e_i/(1 - h_i))² / n_a²`` from
  the arm's residuals ``e`` and the ridge fit's leverages
  ``h_i = 1/n_a + z̃_i'(Z̃'Z̃ + λI)⁻¹z̃_i`` (``z̃`` centred in the arm); arms independent,
  normal reference. (The plain residual variance was about 10% too small in simulations with
  120-customer arms and 11 covariates; the leverage correction brings the spread of the
  estimates over their standard error to 1.01-1.02 at 200 per arm, bench_methods.)
* ``post_stratified``: for arms too small for a regression, the difference of within-stratum
  means weighted by the pooled stratum shares, ``Σ_s w_s (ȳ_ts - ȳ_cs)``, variance
  ``Σ_s w_s² (s²_ts/n_ts + s²_cs/n_cs)``, t reference with Satterthwaite's degrees of freedom
  (Miratrix, Sekhon & Yu 2013, *JRSS B*). Strata with fewer than :data:`MIN_STRATUM_ROWS`
  customers in either arm are pooled into one.
* otherwise the plain comparison (Welch's t, or the unpooled two-proportion z for 0/1).

Covariates constant within either arm (their interaction column is then collinear with the
intercept) and covariates linearly dependent on the others are dropped before the fit; what
remains is reported in :class:`Adjustment`. ``variance_reduction`` of an adjusted effect is
``1 - se² / se_plain²`` against the plain comparison's standard error (``se_unadjusted``), so
the adjusted interval is ``sqrt(1 - variance_reduction)`` times the plain one's width, and
:func:`equivalent_extra_sample` turns it into customers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import linalg
from sklearn.linear_model import RidgeCV

from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.effects import (
    _effect,
    compare_means,
    compare_proportions,
    compare_ratios,
    lin_design,
)
from crm_experiments.stats.lin import LinDesign, _chunks, take, tsqr_r
from crm_experiments.stats.result import Effect

#: OLS needs this many rows in the smaller arm per parameter of one arm's fit (k slopes + 2)
OLS_ROWS_PER_PARAMETER = 20
#: ridge needs this many rows in the smaller arm per parameter; below, no regression is fitted
#: (post-stratification or the plain comparison): all adjusted estimators were liberal there
RIDGE_ROWS_PER_PARAMETER = 15
#: a stratum needs this many customers in each arm to stand alone, else it is pooled
MIN_STRATUM_ROWS = 5
#: ridge penalties tried by generalised cross-validation (covariates standardised)
#: the label of the stratum pooling the small ones
POOLED = "(pooled)"
RIDGE_PENALTIES = tuple(float(a) for a in np.logspace(-2, 5, 29))
METHODS = ("auto", "ols", "ridge", "post_stratification", "none")


@dataclass(frozen=True)
class Adjustment:
    """What adjusted one comparison: ``method`` (``lin_ols_hc2``, ``lin_ridge``,
    ``post_stratified`` or ``none``), the covariate columns used, the ridge penalties of the
    arm and control fits (``None`` unless ridge), the strata used, and ``reason`` for a
    comparison left unadjusted or post-stratified (``no_covariates``, ``too_few_rows``,
    ``declined``)."""

    metric: str
    arm: str
    method: str
    covariates: tuple[str, ...] = ()
    penalties: tuple[float, float] | None = None
    strata: int = 0
    reason: str | None = None


#: a categorical value held by fewer customers stays in the reference level (no dummy): a
#: dummy of a handful of customers adds leverage, not precision
MIN_LEVEL_ROWS = 20


def covariate_columns(frame: pd.DataFrame, numeric: Sequence[str] = (),
                      categorical: Sequence[str] = (),
                      min_level_rows: int = MIN_LEVEL_ROWS) -> pd.DataFrame:
    """Numeric covariate matrix: the ``numeric`` columns as floats, each ``categorical`` column
    as 0/1 dummies named ``column=value`` for every value held by at least ``min_level_rows``
    customers except the most frequent (the reference, with the rare values).

    >>> f = pd.DataFrame({"pre": [1.0, 2.0, 3.0], "state": ["a", "b", "a"]})
    >>> list(covariate_columns(f, ["pre"], ["state"], min_level_rows=1).columns)
    ['pre', 'state=b']
    """
    parts = [frame[list(numeric)].astype("float64")] if numeric else []
    for col in categorical:
        values = frame[col].astype(str)
        counts = values.value_counts()
        common = set(counts.index[1:][counts.iloc[1:] >= min_level_rows])
        for v in sorted(common):
            parts.append(pd.DataFrame({f"{col}={v}": (values == v).astype("float64")}))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)


def usable_columns(x: np.ndarray, treatment: np.ndarray, *,
                   rows: np.ndarray | None = None) -> list[int]:
    """Indices of the columns of ``x`` that vary within both arms and are linearly independent
    of the others within each arm (QR with column pivoting on the within-arm centred matrix,
    each column scaled by its largest absolute value; a column is kept while its pivot's
    ``|R_jj|`` exceeds ``1e-9`` of the largest).

    The rows are streamed in chunks (:data:`~crm_experiments.stats.lin.CHUNK_ROWS`): the
    pivoted QR runs on the ``R`` factor of the stacked chunks' QR (TSQR), which has the same
    column norms and pivots as the whole matrix, so no copy of the arm's matrix is made.
    ``rows``: indices into a larger ``x`` (one per treatment value), read without a copy.

    >>> x = np.column_stack([np.arange(8.0), 2 * np.arange(8.0), np.ones(8)])
    >>> usable_columns(x, np.array([1, 0] * 4, bool))
    [0]
    """
    on = np.asarray(treatment, dtype=bool)
    x = np.asarray(x, dtype=float)
    x = x.reshape(len(on) if rows is None else len(x), -1)
    arms = [np.flatnonzero(on), np.flatnonzero(~on)]
    if rows is not None:
        arms = [rows[a] for a in arms]
    summary = []  # per arm: column means, minima, maxima
    for rows in arms:
        if not len(rows):
            return []
        total = np.zeros(x.shape[1])
        low, high = np.full(x.shape[1], np.inf), np.full(x.shape[1], -np.inf)
        for idx in _chunks(rows):
            part = take(x, idx, None)
            total += part.sum(axis=0)
            low, high = np.minimum(low, part.min(axis=0)), np.maximum(high, part.max(axis=0))
        summary.append((total / len(rows), low, high))
    keep = [j for j in range(x.shape[1]) if all(hi[j] - lo[j] > 0 for _, lo, hi in summary)]
    for rows, (mean, low, high) in zip(arms, summary, strict=True):
        if not keep:
            break
        mean, low, high = mean[keep], low[keep], high[keep]
        scale = np.maximum(high - mean, mean - low)
        r = tsqr_r(((take(x, idx, keep) - mean) / scale for idx in _chunks(rows)), len(keep))
        _, r, pivot = linalg.qr(r, mode="economic", pivoting=True)
        diag = np.abs(np.diag(r))
        rank = int((diag > diag.max() * 1e-9).sum()) if len(diag) else 0
        keep = sorted(keep[p] for p in pivot[:rank])
    return keep


def lin_identified(x, treatment) -> bool:
    """Whether Lin's regression (:func:`~crm_experiments.stats.lin.compare_adjusted`) is
    identified with a residual left in each arm: each arm has more rows than its own
    intercept and slopes (``k + 2`` for ``k`` covariate columns) and the design has full
    column rank (a covariate constant within an arm makes its interaction column zero).
    Otherwise HC2 errors of a saturated or rank-deficient fit are zero or undefined and the
    interval would claim a precision the data do not have.

    >>> import numpy as np
    >>> lin_identified(np.arange(6.0), np.array([1, 1, 1, 1, 0, 0], bool))  # 2 controls
    False
    >>> lin_identified(np.arange(8.0), np.array([1, 1, 1, 1, 0, 0, 0, 0], bool))
    True
    """
    on = np.asarray(treatment, dtype=bool)
    xs = np.asarray(x, dtype=float).reshape(len(on), -1)
    if min(on.sum(), (~on).sum()) < xs.shape[1] + 2:
        return False
    _, design = lin_design(np.zeros(len(on)), xs, on)
    return int(np.linalg.matrix_rank(design.T @ design)) == design.shape[1]


def _plain(y: np.ndarray, on: np.ndarray, binary: bool, alpha: float, labels) -> Effect:
    s_t, s_c = MomentStats.from_arrays(y[on]), MomentStats.from_arrays(y[~on])
    return (compare_proportions if binary else compare_means)(s_t, s_c, alpha, **labels)


def _ridge_arm(y: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """One arm's ridge fit on standardised covariates ``z`` (pooled mean 0): its adjusted mean
    at ``z = 0`` (the intercept), that mean's variance and the chosen penalty."""
    fit = RidgeCV(alphas=RIDGE_PENALTIES, fit_intercept=True).fit(z, y)
    resid = y - fit.predict(z)
    zc = z - z.mean(axis=0)
    gram = zc.T @ zc + fit.alpha_ * np.eye(z.shape[1])
    n = len(y)
    leverage = 1 / n + np.einsum("ij,ij->i", zc @ np.linalg.pinv(gram), zc)
    var_mean = float(np.sum((resid / (1 - np.minimum(leverage, 0.99))) ** 2)) / n**2
    return float(fit.intercept_), var_mean, float(fit.alpha_)


def compare_ridge(y, x, treatment, alpha: float = 0.05, **labels: str
                  ) -> tuple[Effect, tuple[float, float]]:
    """Lin's interacted adjustment fitted by ridge per arm (module docstring), method
    ``lin_ridge``; returns the effect and the (arm, control) penalties."""
    y = np.asarray(y, dtype=float)
    on = np.asarray(treatment, dtype=bool)
    x = np.asarray(x, dtype=float).reshape(len(y), -1)
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    m_t, v_t, pen_t = _ridge_arm(y[on], z[on])
    m_c, v_c, pen_c = _ridge_arm(y[~on], z[~on])
    effect = _effect(m_t=m_t, m_c=m_c, var_m_t=v_t, var_m_c=v_c, n_t=int(on.sum()),
                     n_c=int((~on).sum()), df=math.inf, alpha=alpha, method="lin_ridge",
                     labels=labels)
    return effect, (pen_t, pen_c)


def pooled_strata(strata, treatment, min_rows: int = MIN_STRATUM_ROWS) -> np.ndarray:
    """Stratum labels with every stratum that has fewer than ``min_rows`` customers in either
    arm merged into one pooled stratum (itself merged into the largest when still short).

    >>> s = np.array(list("aaaaaaaaaabbbbbbbbbbc"))
    >>> on = np.array([1, 0] * 10 + [1], bool)
    >>> sorted(map(str, set(pooled_strata(s, on))))
    ['a', 'b']
    """
    s = np.asarray(strata).astype(object).astype(str)
    on = np.asarray(treatment, dtype=bool)

    def short(labels: np.ndarray, label: str) -> bool:
        rows = labels == label
        return min((rows & on).sum(), (rows & ~on).sum()) < min_rows

    small = [v for v in np.unique(s) if short(s, v)]
    out = np.where(np.isin(s, small), POOLED, s).astype(object)
    if small and short(out, POOLED) and len(np.unique(out)) > 1:
        labels, counts = np.unique(out[out != POOLED], return_counts=True)
        out = np.where(out == POOLED, labels[np.argmax(counts)], out)
    return out


def compare_post_stratified(y, strata, treatment, alpha: float = 0.05, **labels: str
                            ) -> tuple[Effect, int]:
    """Post-stratified difference (module docstring), method ``post_stratified``, on strata
    already pooled (:func:`pooled_strata`); returns the effect and the number of strata."""
    y = np.asarray(y, dtype=float)
    on = np.asarray(treatment, dtype=bool)
    s = np.asarray(strata)
    levels = np.unique(s)
    n = len(y)
    m_t = m_c = v_t = v_c = 0.0
    parts, dofs = [], []
    for level in levels:
        rows = s == level
        w = rows.sum() / n
        yt, yc = y[rows & on], y[rows & ~on]
        m_t += w * yt.mean()
        m_c += w * yc.mean()
        for part, arm_y in ((w**2 * yt.var(ddof=1) / len(yt), yt),
                            (w**2 * yc.var(ddof=1) / len(yc), yc)):
            parts.append(part)
            dofs.append(len(arm_y) - 1)
        v_t += parts[-2]
        v_c += parts[-1]
    parts_a, dofs_a = np.array(parts), np.array(dofs)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = parts_a.sum() ** 2 / np.sum(parts_a**2 / dofs_a)
    effect = _effect(m_t=m_t, m_c=m_c, var_m_t=v_t, var_m_c=v_c, n_t=int(on.sum()),
                     n_c=int((~on).sum()), df=float(df), alpha=alpha,
                     method="post_stratified", labels=labels)
    return effect, len(levels)


def compare_regression(y, x, treatment, alpha: float = 0.05, *, names: Sequence[str] = (),
                       strata=None, method: str = "auto", binary: bool | None = None,
                       design_cache: dict | None = None, x_rows: np.ndarray | None = None,
                       **labels: str) -> tuple[Effect, Adjustment]:
    """One arm-vs-control comparison adjusted on the covariate columns ``x`` (module
    docstring), with its :class:`Adjustment`. ``method``: ``auto`` (the rule), ``ols``,
    ``ridge``, ``post_stratification`` (needs ``strata``) or ``none``; a forced method the data
    cannot carry falls back to the next by the same rule. The effect's ``se_unadjusted`` is the
    plain comparison's se, ``variance_reduction = 1 - se²/se_unadjusted²``.

    ``design_cache``: a dict the caller keeps for ONE ``(x, treatment)`` and passes with every
    outcome ``y``: the usable columns and the factored Lin design
    (:class:`~crm_experiments.stats.lin.LinDesign`) are computed at the first call and reused.
    ``x_rows``: ``x`` is a larger matrix and ``x[x_rows]`` are ``y``'s rows; Lin's OLS reads
    them chunk by chunk (no copy); the small-sample paths (ridge, the forced-OLS check) copy.

    >>> rng = np.random.default_rng(1)
    >>> pre = rng.gamma(1.0, 50.0, 4000)
    >>> on = rng.random(4000) < 0.5
    >>> y = 0.8 * pre + rng.normal(0, 10, 4000) + 5 * on
    >>> e, a = compare_regression(y, pre, on, names=["pre"], metric="revenue", arm="t")
    >>> a.method, round(e.estimate, 1), e.variance_reduction > 0.9
    ('lin_ols_hc2', 4.7, True)
    """
    if method not in METHODS:
        raise ValueError(f"unknown adjustment method {method!r}; choose one of "
                         f"{', '.join(METHODS)}")
    y = np.asarray(y, dtype=float)
    on = np.asarray(treatment, dtype=bool)
    if x is None:
        x, x_rows = np.empty((len(y), 0)), None
    x = np.asarray(x, dtype=float).reshape(len(y) if x_rows is None else len(x), -1)
    names = tuple(names) or tuple(f"x{j}" for j in range(x.shape[1]))
    binary = bool(np.isin(y, (0.0, 1.0)).all()) if binary is None else binary
    plain = _plain(y, on, binary, alpha, labels)
    tag = {"metric": labels.get("metric", ""), "arm": labels.get("arm", "")}
    if method == "none":
        return plain, Adjustment(**tag, method="none", reason="declined")
    cache = {} if design_cache is None else design_cache
    if "cols" not in cache:
        cache["cols"] = usable_columns(x, on, rows=x_rows) if x.shape[1] else []
    cols = cache["cols"]

    def local() -> np.ndarray:
        return x if x_rows is None else x[x_rows]

    k, n_min = len(cols), int(min(on.sum(), (~on).sum()))
    effect, adjustment = None, None
    if k and method in ("auto", "ols", "ridge"):
        used = tuple(names[j] for j in cols)
        ols_ok = n_min >= OLS_ROWS_PER_PARAMETER * (k + 2)
        if method == "ridge":
            use = "ridge" if n_min >= 3 else None
        elif ols_ok or (method == "ols" and lin_identified(local()[:, cols], on)):
            use = "ols"
        else:
            use = "ridge" if n_min >= RIDGE_ROWS_PER_PARAMETER * (k + 2) else None
        if use == "ols":
            if "lin" not in cache:
                cache["lin"] = LinDesign(
                    x, on, rows=x_rows,
                    columns=None if cols == list(range(x.shape[1])) else cols)
            effect = cache["lin"].compare(y, alpha, **labels)
            adjustment = Adjustment(**tag, method="lin_ols_hc2", covariates=used)
        elif use == "ridge":
            effect, pens = compare_ridge(y, local()[:, cols], on, alpha, **labels)
            adjustment = Adjustment(**tag, method="lin_ridge", covariates=used, penalties=pens)
    if effect is None and strata is not None and method != "ols":
        pooled = pooled_strata(strata, on)
        if len(np.unique(pooled)) > 1 and min(
                min(((pooled == v) & on).sum(), ((pooled == v) & ~on).sum())
                for v in np.unique(pooled)) >= 2:
            effect, n_strata = compare_post_stratified(y, pooled, on, alpha, **labels)
            adjustment = Adjustment(**tag, method="post_stratified", strata=n_strata,
                                    reason="too_few_rows" if k else "no_covariates")
    if effect is None:
        return plain, Adjustment(**tag, method="none",
                                 reason="too_few_rows" if k else "no_covariates")
    with np.errstate(divide="ignore", invalid="ignore"):
        reduction = 1 - (effect.se / plain.se) ** 2 if plain.se > 0 else math.nan
    return replace(effect, se_unadjusted=float(plain.se),
                   variance_reduction=float(reduction)), adjustment


def ratio_linearised(y, d, treatment) -> np.ndarray:
    """Each customer's linearised contribution to its arm's ratio ``R_a = Σy / Σd`` plus
    ``R_a``: ``u_i = R_a + (y_i - R_a d_i) / d̄_a``. Its arm mean is ``R_a`` and its sample
    variance over ``n_a`` the delta-method variance of ``R_a``
    (:func:`~crm_experiments.stats.effects.ratio_variance`), so Lin's regression of ``u`` on
    covariates adjusts a ratio metric as it adjusts a mean (Deng et al. 2018, *Applying the
    delta method in metric analytics*, KDD).

    >>> u = ratio_linearised([10.0, 0.0, 30.0, 20.0], [1, 0, 2, 1], np.array([1, 1, 0, 0], bool))
    >>> [round(float(v), 3) for v in u]
    [10.0, 10.0, 14.444, 18.889]
    """
    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    on = np.asarray(treatment, dtype=bool)
    u = np.empty_like(y)
    for rows in (on, ~on):
        r, d_mean = y[rows].sum() / d[rows].sum(), d[rows].mean()
        u[rows] = r + (y[rows] - r * d[rows]) / d_mean
    return u


def compare_ratio_regression(y, d, x, treatment, alpha: float = 0.05, *,
                             names: Sequence[str] = (), method: str = "auto",
                             design_cache: dict | None = None,
                             x_rows: np.ndarray | None = None, **labels: str
                             ) -> tuple[Effect, Adjustment]:
    """A ratio metric ``Σy / Σd`` (e.g. average order value) adjusted on covariates: the rule
    of :func:`compare_regression` on :func:`ratio_linearised` values, against the plain
    delta-method comparison (``delta_ratio``). Post-stratification is not offered here (a
    stratum's own ratio would need its own linearisation)."""
    on = np.asarray(treatment, dtype=bool)
    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    plain = compare_ratios(MomentStats.from_arrays(y[on], den=d[on]),
                           MomentStats.from_arrays(y[~on], den=d[~on]), alpha, **labels)
    effect, how = compare_regression(ratio_linearised(y, d, on), x, on, alpha, names=names,
                                     method=method, binary=False,
                                     design_cache=design_cache, x_rows=x_rows, **labels)
    if how.method == "none":
        return plain, how
    with np.errstate(divide="ignore", invalid="ignore"):
        reduction = 1 - (effect.se / plain.se) ** 2 if plain.se > 0 else math.nan
    return replace(effect, se_unadjusted=float(plain.se),
                   variance_reduction=float(reduction)), how


def equivalent_extra_sample(n: float, variance_reduction: float) -> float:
    """Customers an unadjusted comparison would need on top of ``n`` for the same precision:
    the variance of a mean scales as ``1/n``, so ``n/(1 - r) - n = n·r/(1 - r)`` (0 when the
    adjustment did not help, NaN when unknown).

    >>> equivalent_extra_sample(10_000, 0.2)
    2500.0
    """
    if variance_reduction is None or not np.isfinite(variance_reduction):
        return math.nan
    r = min(max(float(variance_reduction), 0.0), 0.999)
    return float(n) * r / (1 - r)
