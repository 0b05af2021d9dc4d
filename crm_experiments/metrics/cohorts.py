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
=====================  ========================================================================

The rate ``repurchased / eligible`` and the difference between the cohorts are inference:
:func:`crm_experiments.stats.rates.wilson_interval` and
:func:`crm_experiments.stats.rates.share_difference`.

Customers whose follow-up is not complete are left out of the denominator (not counted as
non-repurchasers); ``eligible < acquired`` says how many are still waiting.
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import collect
from crm_experiments.metrics.orders import TimeLike, count_true, in_window, purchases, ts

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


def cohort_table(orders: nw.LazyFrame,
                 windows: dict[str, tuple[TimeLike, TimeLike]]) -> nw.LazyFrame:
    """Per acquired customer: ``customer_id, cohort, first_purchase_at`` for named windows."""
    p = purchases(orders)
    first = p.group_by("customer_id").agg(nw.col("created_at").min().alias("first_purchase_at"))
    cohort = nw.lit(None, dtype=nw.String)
    for name, (s, e) in reversed(windows.items()):  # the first window that holds it wins
        cohort = nw.when(in_window("first_purchase_at", s, e)).then(nw.lit(name)).otherwise(cohort)
    first = first.with_columns(cohort=cohort)
    return first.filter(~nw.col("cohort").is_null()).select("customer_id", "cohort",
                                                               "first_purchase_at")


def repurchase_counts(orders: nw.LazyFrame, sale_window: tuple[TimeLike, TimeLike],
                      comparison_window: tuple[TimeLike, TimeLike], *, as_of: TimeLike,
                      horizons: tuple[int, ...] = HORIZONS) -> pd.DataFrame:
    """N-day repurchase counts of the sale cohort and the ordinary cohort (see the module
    table): one row per (horizon, cohort), horizons in the given order, the sale cohort first,
    with ``cohort, horizon_days, acquired, eligible, repurchased``."""
    sw = tuple(pd.Timestamp(x) for x in sale_window)
    cw = tuple(pd.Timestamp(x) for x in comparison_window)
    if max(sw[0], cw[0]) < min(sw[1], cw[1]):
        raise ValueError(f"the sale window {sw} and the comparison window {cw} overlap")
    d = pd.Timestamp(as_of)
    cohorts = cohort_table(orders, {SALE: sw, ORDINARY: cw})
    p = purchases(orders).select("customer_id", "created_at")
    j = p.join(cohorts, on="customer_id")
    first = nw.col("first_purchase_at")
    per = j.group_by("customer_id", "cohort", "first_purchase_at").agg(
        *[count_true(nw.col("created_at") < first.dt.offset_by(f"{n}d")).alias(f"n{n}")
          for n in horizons])
    aggs = [nw.len().alias("acquired")]
    for n in horizons:
        complete = first.dt.offset_by(f"{n}d") <= ts(d)
        aggs += [count_true(complete).alias(f"eligible_{n}"),
                 count_true(complete & (nw.col(f"n{n}") >= 2)).alias(f"repurchased_{n}")]
    got = collect(per.group_by("cohort").agg(*aggs)).set_index("cohort")
    got = got.reindex([SALE, ORDINARY]).fillna(0)
    rows = [{"cohort": c, "horizon_days": n, "acquired": int(got.loc[c, "acquired"]),
             "eligible": int(got.loc[c, f"eligible_{n}"]),
             "repurchased": int(got.loc[c, f"repurchased_{n}"])}
            for n in horizons for c in (SALE, ORDINARY)]
    return pd.DataFrame(rows, columns=["cohort", "horizon_days", "acquired", "eligible",
                                       "repurchased"])
