"""Acquisition cohorts: buyers acquired in the sale vs buyers acquired in ordinary weeks.

A customer is **acquired** in a window ``[start, end)`` when their first purchase ever (see
:mod:`crm_experiments.metrics.orders`; unpaid and fully refunded orders do not count) was
created in it. The sale cohort uses the sale window, the ordinary cohort a comparison window
chosen by the caller (:func:`default_comparison_window` gives the same length ending 14 days
before the sale start; keeping it clear of other big sales is the caller's business).

=====================  ========================================================================
quantity               definition, for each cohort and horizon ``N`` (30, 60, 90 days)
=====================  ========================================================================
acquired               customers whose first purchase was created in the cohort window
eligible               acquired customers whose follow-up is complete: ``first + N days <= as_of``
repurchased            eligible customers with a second purchase created in
                       ``[first, first + N days)`` (a second order on the same day counts)
rate                   repurchased / eligible (share); Wilson interval (statsmodels)
difference             rate(sale) - rate(ordinary) (share); Newcombe hybrid-score interval
                       (built from the two Wilson intervals) and Agresti-Caffo test, both
                       statsmodels ``*_proportions_2indep``
=====================  ========================================================================

Customers whose follow-up is not complete are left out of the denominator (not counted as
non-repurchasers); ``eligible < acquired`` says how many are still waiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    test_proportions_2indep,
)

from crm_experiments.metrics.orders import TimeLike, in_window, purchases, ts

HORIZONS = (30, 60, 90)
SALE, ORDINARY = "sale", "ordinary"


def default_comparison_window(sale_start: TimeLike, sale_end: TimeLike,
                              gap_days: int = 14) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[e - L, e)`` with ``e = sale_start - gap_days`` and ``L = sale_end - sale_start``.

    It does not look for other big sales: check the result against the shop calendar.
    """
    start, end = pd.Timestamp(sale_start), pd.Timestamp(sale_end)
    if end <= start:
        raise ValueError(f"sale window is empty: [{start}, {end})")
    stop = start - pd.Timedelta(days=gap_days)
    return stop - (end - start), stop


def wilson_share(k: int, n: int, alpha: float = 0.05) -> tuple[float, float, float]:
    """``(k / n, low, high)`` with the Wilson interval of statsmodels; NaNs when ``n = 0``."""
    if not n:
        return math.nan, math.nan, math.nan
    lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    return k / n, float(lo), float(hi)


def compare_two_proportions(k1: int, n1: int, k2: int, n2: int,
                            alpha: float = 0.05) -> dict[str, float]:
    """``p1 - p2`` with Newcombe's interval and the Agresti-Caffo test (NaN when empty).

    Newcombe's interval stays finite at 0 % and 100 % and on tiny samples, where the score
    (Miettinen-Nurminen) solver of statsmodels can fail.
    """
    if not n1 or not n2:
        return {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "p_value": math.nan}
    lo, hi = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff",
                                        alpha=alpha)
    test = test_proportions_2indep(k1, n1, k2, n2, method="agresti-caffo",
                                   compare="diff")
    return {"estimate": k1 / n1 - k2 / n2, "ci_low": float(lo), "ci_high": float(hi),
            "p_value": float(test.pvalue)}


@dataclass(frozen=True)
class CohortRepurchase:
    """Rates per (cohort, horizon) and the sale-minus-ordinary differences per horizon."""

    rates: pd.DataFrame        # index (cohort, horizon_days)
    differences: pd.DataFrame  # index horizon_days
    sale_window: tuple[pd.Timestamp, pd.Timestamp]
    comparison_window: tuple[pd.Timestamp, pd.Timestamp]
    as_of: pd.Timestamp
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """Long table: the rates, then the differences as cohort ``sale - ordinary``."""
        diff = self.differences.rename(columns={"estimate": "rate"}).assign(
            cohort=f"{SALE} - {ORDINARY}").reset_index()
        return pd.concat([self.rates.reset_index(), diff], ignore_index=True)


def cohort_table(orders: ir.Table, windows: dict[str, tuple[TimeLike, TimeLike]]) -> ir.Table:
    """Per acquired customer: ``customer_id, cohort, first_purchase_at`` for named windows."""
    p = purchases(orders)
    first = p.group_by("customer_id").aggregate(first_purchase_at=p.created_at.min())
    cohort = ibis.cases(
        *[(in_window(first.first_purchase_at, s, e), name) for name, (s, e) in windows.items()],
        else_=ibis.null("string"))
    first = first.mutate(cohort=cohort)
    return first.filter(first.cohort.notnull()).select("customer_id", "cohort",
                                                       "first_purchase_at")


def cohort_repurchase(orders: ir.Table, sale_window: tuple[TimeLike, TimeLike],
                      comparison_window: tuple[TimeLike, TimeLike], *, as_of: TimeLike,
                      horizons: tuple[int, ...] = HORIZONS,
                      alpha: float = 0.05) -> CohortRepurchase:
    """N-day repurchase of the sale cohort and the ordinary cohort (see the module table)."""
    sw = tuple(pd.Timestamp(x) for x in sale_window)
    cw = tuple(pd.Timestamp(x) for x in comparison_window)
    if max(sw[0], cw[0]) < min(sw[1], cw[1]):
        raise ValueError(f"the sale window {sw} and the comparison window {cw} overlap")
    d = pd.Timestamp(as_of)
    cohorts = cohort_table(orders, {SALE: sw, ORDINARY: cw})
    p = purchases(orders).select("customer_id", "created_at")
    j = p.join(cohorts, "customer_id")
    per_aggs = {}
    for n in horizons:
        until = j.first_purchase_at + ibis.interval(days=n)
        per_aggs[f"n{n}"] = (j.created_at < until).cast("int64").sum()
    per = j.group_by(["customer_id", "cohort", "first_purchase_at"]).aggregate(**per_aggs)
    aggs = {"acquired": per.count()}
    for n in horizons:
        complete = (per.first_purchase_at + ibis.interval(days=n)) <= ts(d)
        aggs[f"eligible_{n}"] = complete.cast("int64").sum()
        aggs[f"repurchased_{n}"] = (complete & (per[f"n{n}"] >= 2)).cast("int64").sum()
    got = per.group_by("cohort").aggregate(**aggs).to_pandas().set_index("cohort")
    got = got.reindex([SALE, ORDINARY]).fillna(0)

    rows, diffs = [], []
    for n in horizons:
        for c in (SALE, ORDINARY):
            k, m = int(got.loc[c, f"repurchased_{n}"]), int(got.loc[c, f"eligible_{n}"])
            rate, lo, hi = wilson_share(k, m, alpha)
            rows.append({"cohort": c, "horizon_days": n, "acquired": int(got.loc[c, "acquired"]),
                         "eligible": m, "repurchased": k, "rate": rate, "ci_low": lo,
                         "ci_high": hi})
        s, o = got.loc[SALE], got.loc[ORDINARY]
        diffs.append({"horizon_days": n, **compare_two_proportions(
            int(s[f"repurchased_{n}"]), int(s[f"eligible_{n}"]),
            int(o[f"repurchased_{n}"]), int(o[f"eligible_{n}"]), alpha)})
    rates = pd.DataFrame(rows).set_index(["cohort", "horizon_days"])
    differences = pd.DataFrame(diffs).set_index("horizon_days")
    return CohortRepurchase(rates=rates, differences=differences, sale_window=sw,
                            comparison_window=cw, as_of=d, alpha=alpha)
