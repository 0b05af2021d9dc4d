"""Customer lifecycle states (客户生命周期) at a reference date, and migration between two dates.

At reference date ``d`` (midnight, shop time) with base period ``P`` calendar months, from the
customer's purchases strictly before ``d`` (see :mod:`crm_experiments.metrics.orders`):

============  =====================================================================
state         rule (``last`` = last purchase, ``first`` = first purchase)
============  =====================================================================
new_one       ``first >= d - P`` and exactly 1 purchase in ``[d - P, d)``
new_repeat    ``first >= d - P`` and 2+ purchases in ``[d - P, d)``
old_one       ``first < d - P``, ``last >= d - P``, exactly 1 purchase in ``[d - P, d)``
old_repeat    ``first < d - P``, 2+ purchases in ``[d - P, d)``
silent        ``d - 2P <= last < d - P``
sleeping      ``d - 4P <= last < d - 2P``
lost          ``last < d - 4P``
============  =====================================================================

A purchase exactly ``P`` before ``d`` counts as within the last ``P`` (age ``<= P``), so
boundaries belong to the younger state. Customers with no purchase before ``d`` have no state:
they are left out of the state table and counted as ``no_purchase_yet`` in
:func:`lifecycle_counts` when a customers table is given.
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import collect, scalar
from crm_experiments.metrics.orders import TimeLike, count_true, purchases, ts

ACTIVE_STATES = ("new_one", "new_repeat", "old_one", "old_repeat")
STATES = (*ACTIVE_STATES, "silent", "sleeping", "lost")
NO_STATE = "no_purchase_yet"
STATE_LABELS = {
    "new_one": ("new, one purchase", "1次购买新客"),
    "new_repeat": ("new, repeat", "重复购买新客"),
    "old_one": ("old, one purchase", "1次购买老客"),
    "old_repeat": ("old, repeat", "重复购买老客"),
    "silent": ("silent", "沉默"),
    "sleeping": ("sleeping", "睡眠"),
    "lost": ("lost", "流失"),
    NO_STATE: ("no purchase yet", "尚未购买"),
}


def period_start(as_of: TimeLike, period_months: int, multiple: int = 1) -> pd.Timestamp:
    """``d - multiple * P`` with calendar months (e.g. 2025-11-30 minus 3 months = 2025-08-30)."""
    return pd.Timestamp(as_of) - pd.DateOffset(months=period_months * multiple)


def lifecycle_states(orders: nw.LazyFrame, as_of: TimeLike, period_months: int = 3
                     ) -> nw.LazyFrame:
    """Per customer with a purchase before ``as_of``: ``customer_id, state, first_purchase_at,
    last_purchase_at, purchases_in_period``."""
    d = pd.Timestamp(as_of)
    p1, p2, p4 = (period_start(d, period_months, k) for k in (1, 2, 4))
    created = nw.col("created_at")
    p = purchases(orders).filter(created < ts(d))
    per = p.group_by("customer_id").agg(
        created.min().alias("first_purchase_at"),
        created.max().alias("last_purchase_at"),
        count_true(created >= ts(p1)).alias("purchases_in_period"),
    )
    last = nw.col("last_purchase_at")
    is_new = nw.col("first_purchase_at") >= ts(p1)
    repeat = nw.col("purchases_in_period") >= 2
    active = last >= ts(p1)
    state = (nw.when(active & is_new & repeat).then(nw.lit("new_repeat"))
             .when(active & is_new).then(nw.lit("new_one"))
             .when(active & repeat).then(nw.lit("old_repeat"))
             .when(active).then(nw.lit("old_one"))
             .when(last >= ts(p2)).then(nw.lit("silent"))
             .when(last >= ts(p4)).then(nw.lit("sleeping"))
             .otherwise(nw.lit("lost")))
    return per.with_columns(state=state).select(
        "customer_id", "state", "first_purchase_at", "last_purchase_at", "purchases_in_period"
    )


def lifecycle_counts(orders: nw.LazyFrame, as_of: TimeLike, period_months: int = 3,
                     customers: nw.LazyFrame | None = None) -> pd.DataFrame:
    """Counts and shares of each state at ``as_of`` (shares of customers with a state).

    With ``customers``, members without any purchase (before or after ``as_of``) whose
    ``first_order_at`` is empty or before ``as_of`` are counted as ``no_purchase_yet`` (share
    left empty: they are not in the base of the shares). A customer whose first purchase comes
    after ``as_of`` is not counted: the data cannot tell whether they were a member yet.
    """
    states = lifecycle_states(orders, as_of, period_months)
    counts = collect(states.group_by("state").agg(nw.len().alias("customers")))
    counts = counts.set_index("state").reindex(list(STATES), fill_value=0)["customers"]
    frame = pd.DataFrame({"customers": counts.astype("int64")})
    total = int(frame["customers"].sum())
    frame["share"] = frame["customers"] / total if total else float("nan")
    if customers is not None:
        known = customers
        if "first_order_at" in customers.collect_schema().names():
            first = nw.col("first_order_at")
            known = known.filter(first.is_null() | (first < ts(as_of)))
        known = known.select("customer_id").unique()
        buyers = purchases(orders).select("customer_id").unique()
        missing = scalar(known.join(buyers, on="customer_id", how="anti").select(nw.len()))
        frame.loc[NO_STATE] = [int(missing), float("nan")]
        frame["customers"] = frame["customers"].astype("int64")
    frame.index.name = "state"
    return frame


def migration_matrix(orders: nw.LazyFrame, before: TimeLike, after: TimeLike,
                     period_months: int = 3) -> pd.DataFrame:
    """Customers by (state at ``before``, state at ``after``); rows ``no_purchase_yet`` hold
    customers acquired between the two dates. Returns a wide count table (rows = before)."""
    return migration_from_states(lifecycle_states(orders, before, period_months),
                                 lifecycle_states(orders, after, period_months))


def migration_from_states(before: nw.LazyFrame, after: nw.LazyFrame,
                          customers: nw.LazyFrame | None = None) -> pd.DataFrame:
    """:func:`migration_matrix` from two :func:`lifecycle_states` tables (e.g. computed once
    and reused), optionally restricted to the ``customer_id`` values of ``customers``."""
    s0 = before.select("customer_id", nw.col("state").alias("before_state"))
    s1 = after.select("customer_id", nw.col("state").alias("after_state"))
    if customers is not None:
        s1 = s1.join(customers.select("customer_id"), on="customer_id", how="semi")
    j = s1.join(s0, on="customer_id", how="left")
    j = j.with_columns(nw.col("before_state").fill_null(NO_STATE))
    long = collect(j.group_by("before_state", "after_state").agg(nw.len().alias("customers")))
    order_rows = [*STATES, NO_STATE]
    wide = long.pivot_table(index="before_state", columns="after_state", values="customers",
                            aggfunc="sum", fill_value=0)
    wide = wide.reindex(index=order_rows, columns=list(STATES), fill_value=0).astype("int64")
    wide.index.name, wide.columns.name = "before", "after"
    return wide


_COARSE = {s: 0 for s in ACTIVE_STATES} | {"silent": 1, "sleeping": 2, "lost": 3}


def migration_summary(matrix: pd.DataFrame) -> dict[str, int]:
    """Positive (toward active) and negative (toward lost) migration totals of a migration
    matrix, on the coarse scale active < silent < sleeping < lost; staying put is ``stable``."""
    out = {"positive": 0, "negative": 0, "stable": 0, "acquired": 0}
    for before, row in matrix.iterrows():
        for after, n in row.items():
            if before == NO_STATE:
                out["acquired"] += int(n)
            elif _COARSE[after] < _COARSE[before]:
                out["positive"] += int(n)
            elif _COARSE[after] > _COARSE[before]:
                out["negative"] += int(n)
            else:
                out["stable"] += int(n)
    return out
