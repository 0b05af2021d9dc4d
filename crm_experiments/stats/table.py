"""Front door: every arm against the control, for every metric of a per-customer table.

``compare_arms(df, arm="arm", control="control", metrics=[...])`` takes any pandas table with
one row per customer, an arm column and numeric metric columns, and picks the estimator per
metric:

* a metric with covariates (``covariates={"revenue": "revenue_pre"}`` or a list of columns):
  regression adjustment by :func:`~crm_experiments.stats.adjustment.compare_regression`
  (Lin's interacted OLS with HC2 errors, ``lin_ols_hc2``; ridge per arm, ``lin_ridge``, where
  covariates are many for the arm's size; with ``strata``, post-stratification,
  ``post_stratified``, for arms too small for a regression), reporting the variance reduction
  against the plain comparison; what adjusted each comparison is in ``result.adjustments``;
* a 0/1 (or boolean) metric: two-proportion z, unpooled (``two_proportion_z_unpooled``);
* any other metric: Welch t (``welch_t``);
* a ratio ``{"aov": ("revenue", "orders")}``: ratio of sums, delta method (``delta_ratio``);
  with covariates under the ratio's name, adjusted on its linearised values
  (:func:`~crm_experiments.stats.adjustment.compare_ratio_regression`).

A metric constant within both arms of a comparison (all-zero revenue, no buyer anywhere)
keeps its exact difference of means, but its standard error, interval and p-value are NaN: a
within-arm variance of 0 gives no sampling error to estimate, and a p-value needs an interval.
A column whose fourth powers overflow float64 (|value| above ~1e76) is refused (names the
column and rows), as its variances would be inf/NaN. A control that is 0 throughout (no
buyer in the holdout) has no relative effect (NaN); the absolute difference and its interval
stand.

All effects of the call form one family for the multiple-comparison correction (Holm by
default, see :mod:`.multiple`). With ``planned_shares`` the sample ratio is checked first
(:mod:`.srm`); a failed check is reported in ``result.srm`` and ``result.verdict_withheld``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from crm_experiments.errors import CrmError
from crm_experiments.stats.adjustment import (  # noqa: F401 (lin_identified: public here)
    Adjustment,
    compare_ratio_regression,
    compare_regression,
    lin_identified,
)
from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.arms import ArmCodes
from crm_experiments.stats.effects import (
    compare_cuped,
    compare_means,
    compare_proportions,
    compare_ratios,
)
from crm_experiments.stats.multiple import adjust
from crm_experiments.stats.result import Effect, effects_frame
from crm_experiments.stats.srm import SampleRatioResult, check_sample_ratio


class TableError(CrmError):
    """A table handed to :func:`compare_arms` cannot be compared (names file, column, why)."""


@dataclass(frozen=True)
class ComparisonResult:
    """Effects of every arm vs the control per metric, plus the sample-ratio check."""

    effects: tuple[Effect, ...]
    srm: SampleRatioResult | None
    alpha: float
    correction: str | None
    control: str
    arms: tuple[str, ...]
    #: per (metric, arm) comparison with covariates or strata: what adjusted it
    adjustments: tuple[Adjustment, ...] = ()

    @property
    def verdict_withheld(self) -> bool:
        """True when the sample-ratio check failed: effects are not to be acted on."""
        return self.srm is not None and not self.srm.passed

    def to_frame(self) -> pd.DataFrame:
        """One row per arm x metric (see :class:`~crm_experiments.stats.result.Effect`)."""
        return effects_frame(self.effects)

    def to_dict(self) -> dict:
        """Plain values (NaN kept as float NaN) for JSON or tracking."""
        return {
            "control": self.control, "arms": list(self.arms), "alpha": self.alpha,
            "correction": self.correction, "verdict_withheld": self.verdict_withheld,
            "srm": None if self.srm is None else self.srm.to_dict(),
            "effects": [asdict(e) for e in self.effects],
            "adjustments": [asdict(a) for a in self.adjustments],
        }


ESTIMATORS = {"mean": compare_means, "proportion": compare_proportions,
              "ratio": compare_ratios, "cuped": compare_cuped}


def compare_moments(moments: Mapping[str, MomentStats], *, control: str, metric: str,
                    kind: str = "mean", alpha: float = 0.05) -> tuple[Effect, ...]:
    """Engine path: every arm vs ``control`` from per-arm sufficient statistics.

    ``moments`` as returned by :func:`~crm_experiments.stats.aggr.moments_from_frame`;
    ``kind``: ``"mean"`` (Welch), ``"proportion"``, ``"ratio"`` (needs the denominator sums) or
    ``"cuped"`` (needs the covariate sums). No correction is applied (see :mod:`.multiple`).
    """
    if kind not in ESTIMATORS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(ESTIMATORS)}")
    if control not in moments:
        raise TableError(f"control arm '{control}' not among the arms "
                         f"{', '.join(map(str, moments))}")
    return tuple(ESTIMATORS[kind](s, moments[control], alpha, metric=metric, arm=str(a),
                                  control=str(control))
                 for a, s in sorted(moments.items(), key=lambda kv: str(kv[0]))
                 if a != control)


def _numeric(df: pd.DataFrame, col: str, role: str, source: str) -> np.ndarray:
    if col not in df.columns:
        raise TableError(f"{source}: {role} column '{col}' not found; columns are "
                         f"{', '.join(map(str, df.columns))}")
    s = df[col]
    if s.dtype == bool:
        s = s.astype(float)
    if not pd.api.types.is_numeric_dtype(s):
        bad = s[pd.to_numeric(s, errors="coerce").isna() & s.notna()]
        example = f" (e.g. {bad.iloc[0]!r})" if len(bad) else ""
        raise TableError(f"{source}: {role} column '{col}' is not numeric{example}")
    missing = int(s.isna().sum())
    if missing:
        raise TableError(f"{source}: {role} column '{col}' has {missing} missing value(s); "
                         "fill them (e.g. 0 for customers without purchases) or drop those rows")
    values = s.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise TableError(f"{source}: {role} column '{col}' has infinite values")
    # Welch's df and the delta method square variances: fourth powers must stay in float64,
    # else every variance, interval and p-value turns inf/NaN
    limit = (np.finfo(float).max / len(values)) ** 0.25 / 10
    big = np.flatnonzero(np.abs(values) > limit)
    if len(big):
        rows = ", ".join(str(i + 1) for i in big[:5]) + (" ..." if len(big) > 5 else "")
        raise TableError(f"{source}: {role} column '{col}' has values too large to compare "
                         f"(data rows {rows}, e.g. {values[big[0]]:.3g}; limit {limit:.2g}): "
                         "their variances overflow double precision")
    return values


def _zero_control(e: Effect) -> Effect:
    """Control all 0 (e.g. no buyer in the holdout): ``arm / control - 1`` is undefined, so
    the relative effect and its interval are NaN (Lin's intercept would be ~1e-16 rounding
    noise, giving relative effects of -10^14). The absolute difference stands."""
    nan = float("nan")
    return replace(e, mean_control=0.0, rel_estimate=nan, rel_ci_low=nan, rel_ci_high=nan,
                   rel_se=nan)


def _no_spread(e: Effect, y_t: np.ndarray, y_c: np.ndarray) -> Effect:
    """Both arms constant (e.g. no revenue in either): the difference of the two values is
    exact in the sample, but the within-arm variance is 0, so no standard error, interval or
    p-value exists (statsmodels' Welch gives NaN; Lin's HC2 fit a spurious ~0 error). Keep the
    estimate, blank the inference."""
    m_t, m_c = float(y_t[0]), float(y_c[0])
    nan = float("nan")
    return replace(e, mean_arm=m_t, mean_control=m_c, estimate=m_t - m_c,
                   rel_estimate=m_t / m_c - 1 if m_c else nan, ci_low=nan, ci_high=nan,
                   p_value=nan, se=nan, rel_ci_low=nan, rel_ci_high=nan, rel_se=nan,
                   variance_reduction=None)


def _is_binary(values: np.ndarray) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all())


def one_blas_thread(func):
    """Run ``func`` on one BLAS thread: its many small regressions gain nothing from threads,
    and on a busy 2-core machine two OpenBLAS threads made them 3-4x slower (a
    30,000-customer campaign's family of effects: 2.7 s vs 0.8 s)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)
    return wrapper


@one_blas_thread
def compare_arms(df: pd.DataFrame, *, arm: str, control: str, metrics: Sequence[str] = (),
                 covariates: Mapping[str, str | Sequence[str]] | None = None,
                 strata: str | None = None, adjustment: str = "auto",
                 ratios: Mapping[str, tuple[str, str]] | None = None,
                 binary_metrics: Sequence[str] | None = None, alpha: float = 0.05,
                 planned_shares: Mapping[str, float] | None = None,
                 correction: str | None = "holm", source: str = "table",
                 designs: dict | None = None) -> ComparisonResult:
    """Every non-control arm against ``control`` for each metric and ratio (module docstring).

    ``covariates`` maps a metric to one covariate column or a list of them; ``strata`` names a
    column to post-stratify on where no regression fits (e.g. lifecycle state); ``adjustment``
    is the method rule of :func:`~crm_experiments.stats.adjustment.compare_regression`
    (``auto``, ``ols``, ``ridge``, ``post_stratification``, ``none``).
    ``binary_metrics=None`` auto-detects metrics whose values are all 0/1; pass a list to
    choose. ``correction``: ``"holm"``, ``"bonferroni"``, ``"bh"`` or ``None``. ``source``
    names the table in error messages (a file path). ``designs``: a dict the caller keeps
    for ONE table (same rows, arms and covariate values) to share the factored regression
    designs between calls (e.g. two families on the same customers); by default per call.

    >>> df = pd.DataFrame({"arm": ["c", "t"] * 50, "bought": [0, 1, 1, 0] * 25,
    ...                    "revenue": np.arange(100.0)})
    >>> r = compare_arms(df, arm="arm", control="c", metrics=["bought", "revenue"])
    >>> [(e.metric, e.method) for e in r.effects]
    [('bought', 'two_proportion_z_unpooled'), ('revenue', 'welch_t')]
    """
    covariates = dict(covariates or {})
    ratios = dict(ratios or {})
    if not metrics and not ratios:
        raise TableError(f"{source}: no metric or ratio to compare")
    if arm not in df.columns:
        raise TableError(f"{source}: arm column '{arm}' not found; columns are "
                         f"{', '.join(map(str, df.columns))}")
    if df[arm].isna().any():
        raise TableError(f"{source}: arm column '{arm}' has {int(df[arm].isna().sum())} "
                         "missing value(s)")
    arm_codes = ArmCodes(df[arm])
    codes, rows_of, arms = arm_codes.codes, arm_codes.rows, arm_codes.names
    control = str(control)
    if control not in arms:
        raise TableError(f"{source}: control arm '{control}' not found in column '{arm}'; "
                         f"arms are {', '.join(arms)}")
    if len(arms) < 2:
        raise TableError(f"{source}: column '{arm}' has only the control arm '{control}'")
    counts = {a: arm_codes.count(a) for a in arms}
    small = [a for a, n in counts.items() if n < 2]
    if small:
        raise TableError(f"{source}: arm(s) {', '.join(small)} have fewer than 2 rows "
                         f"(customers or units; {', '.join(f'{a}: {counts[a]}' for a in small)})"
                         ": a mean's variance needs at least 2")
    unknown_cov = sorted(set(covariates) - set(metrics) - set(ratios))
    if unknown_cov:
        raise TableError(f"{source}: covariate given for {', '.join(unknown_cov)}, which is "
                         "not among the metrics")
    treated = [a for a in arms if a != control]
    is_ctl = rows_of(control)

    srm = None
    if planned_shares:
        try:
            srm = check_sample_ratio(counts, {str(k): v for k, v in planned_shares.items()})
        except ValueError as exc:
            raise TableError(f"{source}: planned shares: {exc}") from exc

    if strata is not None and strata not in df.columns:
        raise TableError(f"{source}: strata column '{strata}' not found; columns are "
                         f"{', '.join(map(str, df.columns))}")
    layers = df[strata].astype(str).to_numpy() if strata is not None else None
    effects: list[Effect] = []
    applied: list[Adjustment] = []
    # one covariate matrix per covariate set (the pairs' rows read from it, not copied), and
    # per (set, arm) a design cache: the usable columns and Lin's factored design serve every
    # metric (stats.lin)
    shared = {} if designs is None else designs
    matrices: dict[tuple[str, ...], np.ndarray] = shared.setdefault("matrices", {})
    caches: dict[tuple[tuple[str, ...], str], dict] = shared.setdefault("pairs", {})

    def position() -> np.ndarray:
        """Each row's place in the covariate matrices, whose rows are sorted by arm (stable):
        an arm's rows are then consecutive and read as views (stats.lin.take)."""
        if "position" not in shared:
            order = np.argsort(codes, kind="stable")
            shared["order"], shared["position"] = order, np.empty_like(order)
            shared["position"][order] = np.arange(len(order))
        return shared["position"]

    def covariate_matrix(names: list[str]) -> np.ndarray | None:
        if not names:
            return None
        if tuple(names) not in matrices:
            position()
            order = shared["order"]
            matrix = np.empty((len(order), len(names)))
            for j, c in enumerate(names):  # column by column: no list of columns beside it
                matrix[:, j] = _numeric(df, c, "covariate", source)[order]
            matrices[tuple(names)] = matrix
        return matrices[tuple(names)]

    def pair(names: list[str], a: str, keep: np.ndarray) -> dict:
        """The keyword arguments naming the pair's rows of ``x`` and its design cache."""
        return {"x_rows": position()[keep],
                "design_cache": caches.setdefault((tuple(names), a), {})}

    for metric in metrics:
        y = _numeric(df, metric, "metric", source)
        binary = (_is_binary(y) if binary_metrics is None else metric in binary_metrics)
        names = covariates.get(metric, ())
        names = [names] if isinstance(names, str) else list(names)
        x = covariate_matrix(names)
        for a in treated:
            tag = {"metric": metric, "arm": a, "control": control}
            on = rows_of(a)
            keep = on | is_ctl
            if x is not None or layers is not None:
                effect, how = compare_regression(
                    y[keep], x, on[keep], alpha, names=names,
                    strata=None if layers is None else layers[keep], method=adjustment,
                    binary=binary, **pair(names, a, keep), **tag)
                applied.append(how)
            else:  # no covariate: the plain comparison
                s_t, s_c = MomentStats.from_arrays(y[on]), MomentStats.from_arrays(y[is_ctl])
                estimator = compare_proportions if binary else compare_means
                effect = estimator(s_t, s_c, alpha, **tag)
            if np.ptp(y[on]) == 0 and np.ptp(y[is_ctl]) == 0:
                effect = _no_spread(effect, y[on], y[is_ctl])
            elif not y[is_ctl].any():
                effect = _zero_control(effect)
            effects.append(effect)
    for name, (num, den) in ratios.items():
        y = _numeric(df, num, f"ratio '{name}' numerator", source)
        d = _numeric(df, den, f"ratio '{name}' denominator", source)
        for a in [*treated, control]:
            if d[rows_of(a)].sum() == 0:
                raise TableError(f"{source}: ratio '{name}': denominator '{den}' sums to 0 "
                                 f"in arm '{a}'")
        s_c = MomentStats.from_arrays(y[is_ctl], den=d[is_ctl])
        names = covariates.get(name, ())
        names = [names] if isinstance(names, str) else list(names)
        x = covariate_matrix(names)
        for a in treated:
            on = rows_of(a)
            if x is None:
                effects.append(compare_ratios(MomentStats.from_arrays(y[on], den=d[on]), s_c,
                                              alpha, metric=name, arm=a, control=control))
                continue
            keep = on | is_ctl
            effect, how = compare_ratio_regression(
                y[keep], d[keep], x, on[keep], alpha, names=names, method=adjustment,
                **pair(names, a, keep), metric=name, arm=a, control=control)
            effects.append(effect)
            applied.append(how)
    if correction is not None:
        effects = list(adjust(effects, correction, alpha))
    return ComparisonResult(effects=tuple(effects), srm=srm, alpha=alpha,
                            correction=effects[0].correction if correction else None,
                            control=control, arms=tuple(treated), adjustments=tuple(applied))
