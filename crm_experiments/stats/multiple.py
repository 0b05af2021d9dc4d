"""Multiple comparisons across a family of effects (arms x metrics x segments).

``adjust(effects, method)`` returns new Effect objects with ``p_value_adjusted``,
``ci_low_adjusted``/``ci_high_adjusted``, ``rel_ci_low_adjusted``/``rel_ci_high_adjusted`` and
``correction`` (a short sentence for the report). For a family of ``m`` effects:

* ``"holm"`` (default): Holm step-down p-values, which control the family-wise error rate
  (:func:`holm`: the numbers of statsmodels' ``multipletests(method="holm")``, without the full
  garbage collection that function runs on every call). Intervals are **Bonferroni
  simultaneous intervals** at level ``1 - alpha/m``. Holm is step-down, so an effect can be
  Holm-significant while its Bonferroni interval still touches 0 (never the reverse); read
  the verdict from the p-value.
* ``"bonferroni"``: Bonferroni p-values, the same intervals (then p and interval agree).
* ``"bh"``: Benjamini-Hochberg p-values (false discovery rate). Intervals are the
  Benjamini-Yekutieli (2005) false-coverage-rate intervals at level ``1 - alpha·R/m`` with
  ``R`` the number of BH discoveries (``R = 1`` when there are none, i.e. Bonferroni width).

Widened intervals reuse each effect's ``se``/``df`` (absolute) and, for the relative effect,
Fieller's interval (:func:`crm_experiments.stats.effects.fieller`) from the effect's mean
variances at the SAME adjusted critical value ``t_{1-level/2, df}``, so the adjusted relative
interval excludes 0 exactly when the adjusted absolute interval does (NaN bounds when the set
is unbounded). Effects built without the mean variances (NaN ``var_mean_*``) fall back to
the delta method ``rel ± z·rel_se``. An effect whose relative interval is NaN keeps
NaN. Effects without a test (bootstrap: NaN p-value, no ``df``) get NaN adjusted values but
still count in ``m``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from crm_experiments.stats.effects import fieller
from crm_experiments.stats.result import Effect

METHODS = {"holm": "holm", "bonferroni": "bonferroni", "bh": "fdr_bh"}


def holm(p_values: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down procedure: ``(reject, adjusted p-values)`` in the input order.

    With the p-values sorted, ``p_(1) <= ... <= p_(m)``, the adjusted value of ``p_(i)`` is
    ``min(1, max_{j <= i} (m - j + 1) p_(j))``, and ``H_(i)`` is rejected when every
    ``p_(j) <= alpha / (m - j + 1)`` for ``j <= i``. These are the numbers of statsmodels'
    ``multipletests(method="holm")`` (a test checks it); that function also runs
    ``gc.collect()`` on every call (statsmodels/stats/multitest.py; the pull request removing
    it, statsmodels#8671, was closed unmerged): 0.2-0.3 s per family in a process with the
    evaluation's libraries loaded, and the evaluation adjusts one family per segment column.

    >>> reject, adjusted = holm(np.array([0.01, 0.04, 0.03]), alpha=0.05)
    >>> reject.tolist(), adjusted.round(2).tolist()
    ([True, False, False], [0.03, 0.06, 0.06])
    """
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    order = np.argsort(p)
    ranked = p[order]
    steps = np.arange(m, 0, -1)
    adjusted_ranked = np.minimum(np.maximum.accumulate(ranked * steps), 1.0)
    above = ranked > alpha / steps
    first_kept = int(np.argmax(above)) if above.any() else m
    reject, adjusted = np.empty(m, dtype=bool), np.empty(m)
    reject[order] = np.arange(m) < first_kept
    adjusted[order] = adjusted_ranked
    return reject, adjusted


def adjust(effects: Sequence[Effect], method: str = "holm",
           alpha: float | None = None) -> tuple[Effect, ...]:
    """Corrected copies of ``effects`` (see module docstring); ``alpha`` defaults to theirs.

    >>> from crm_experiments.stats.aggr import MomentStats
    >>> from crm_experiments.stats.effects import compare_means
    >>> s = MomentStats.from_arrays
    >>> e = compare_means(s([1.0, 2, 3, 4]), s([1.0, 2, 3]))
    >>> [round(x.p_value_adjusted, 4) for x in adjust([e, e], "bonferroni")] == [
    ...     round(min(1, 2 * e.p_value), 4)] * 2
    True
    """
    if method not in METHODS:
        raise ValueError(f"unknown correction {method!r}; choose one of {', '.join(METHODS)}")
    effects = list(effects)
    if not effects:
        return ()
    if alpha is None:
        alphas = {e.alpha for e in effects}
        if len(alphas) != 1:
            raise ValueError("effects have different alpha; pass alpha explicitly")
        alpha = alphas.pop()
    m = len(effects)
    p = np.array([e.p_value for e in effects], dtype=float)
    tested = np.isfinite(p)
    p_adj = np.full(m, math.nan)
    discoveries = 0
    if tested.any():
        if method == "holm":
            reject, p_adj[tested] = holm(p[tested], alpha)
        else:
            reject, p_adj[tested], _, _ = multipletests(p[tested], alpha=alpha,
                                                        method=METHODS[method])
        discoveries = int(reject.sum())
    level = alpha * max(discoveries, 1) / m if method == "bh" else alpha / m
    if method == "bh":
        note = (f"Benjamini-Hochberg p-values (FDR {alpha:g}); FCR intervals at "
                f"{1 - level:.4g} ({discoveries} of {m} discoveries)")
    else:
        note = (f"{method.capitalize()} p-values over {m} comparisons; Bonferroni intervals at "
                f"{1 - level:.4g}")
    z = stats.norm.ppf(1 - level / 2)
    out = []
    for e, pa in zip(effects, p_adj, strict=True):
        if math.isnan(e.df):
            low = high = rel_low = rel_high = math.nan
        else:
            q = stats.t.ppf(1 - level / 2, e.df)
            low, high = e.estimate - q * e.se, e.estimate + q * e.se
            if math.isnan(e.rel_ci_low) or math.isnan(e.rel_ci_high):
                rel_low = rel_high = math.nan
            elif math.isnan(e.var_mean_arm) or math.isnan(e.var_mean_control):
                rel_low, rel_high = e.rel_estimate - z * e.rel_se, e.rel_estimate + z * e.rel_se
            else:
                rel_low, rel_high = fieller(e.mean_arm, e.mean_control, e.var_mean_arm,
                                            e.var_mean_control, e.cov_means, q)
        out.append(dataclasses.replace(
            e, p_value_adjusted=float(pa), ci_low_adjusted=float(low),
            ci_high_adjusted=float(high), rel_ci_low_adjusted=float(rel_low),
            rel_ci_high_adjusted=float(rel_high), correction=note))
    return tuple(out)
