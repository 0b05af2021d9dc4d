"""Participants vs non-participants of an interactive activity (sign-in 签到, lottery ...):
the per-customer table, computed in the engine.

Customers choose to take part, and those who do are the ones who buy anyway, so any
comparison of this table is **observational**: the estimates (raw and weighted differences,
balance) are :func:`crm_experiments.stats.observational.compare_observational`, and the
evaluation's comparison per activity is
:func:`crm_experiments.analyses.interactions.activity_comparisons`.

Population and features (per customer)
    population = customers known before the window: a purchase before ``start`` (any time),
    or listed in the ``customers`` table when given. Participants outside it (first-time
    visitors without a member record) are left out and counted
    (:func:`participants_outside`): including them only on the participant side would
    give the propensity model a group without comparable non-participants.
    ``participant`` = at least one interaction of
    ``kind`` with ``at`` in ``[start, end)``. Features over purchases in
    ``[start - lookback_days, start)``: ``recency_days`` (``start`` - last purchase, days;
    ``lookback_days`` when none), ``frequency`` (purchases), ``log_monetary`` = ``log1p``
    of net revenue, and ``no_history`` (1 when no purchase in the lookback).

============================  ===============================================================
outcome                       definition
============================  ===============================================================
converted                     1 if a purchase was created in the outcome window (share)
revenue                       net revenue of purchases in the outcome window (currency per
                              customer); outcome window = ``[start, end)`` unless given
============================  ===============================================================
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import scalar
from crm_experiments.io.schema import INTERACTION_KINDS
from crm_experiments.metrics.orders import (
    TimeLike,
    epoch_seconds,
    epoch_seconds_of,
    in_window,
    net_revenue,
    purchases,
    ts,
)

FEATURES = ("recency_days", "frequency", "log_monetary", "no_history")
OUTCOMES = ("converted", "revenue")
#: The interactive activities (kinds of :data:`INTERACTION_KINDS` a shop runs as a campaign
#: activity) the evaluation compares; browsing, carts and points are behaviour, not activities.
ACTIVITY_KINDS = ("sign_in", "lottery", "vote")


def participation_table(orders: nw.LazyFrame, interactions: nw.LazyFrame, kind: str,
                        start: TimeLike, end: TimeLike, *,
                        outcome_window: tuple[TimeLike, TimeLike] | None = None,
                        lookback_days: int = 365,
                        customers: nw.LazyFrame | None = None) -> nw.LazyFrame:
    """Per customer of the population: ``customer_id, participant`` (0/1), the features of
    :data:`FEATURES` and the outcomes of :data:`OUTCOMES`."""
    t = participation_by_kind(orders, interactions, (kind,), start, end,
                              outcome_window=outcome_window, lookback_days=lookback_days,
                              customers=customers)
    return t.filter(nw.col("in_population") == 1).select(
        "customer_id", nw.col(kind).alias("participant"), *FEATURES, *OUTCOMES)


def participation_by_kind(orders: nw.LazyFrame, interactions: nw.LazyFrame,
                          kinds: tuple[str, ...], start: TimeLike, end: TimeLike, *,
                          outcome_window: tuple[TimeLike, TimeLike] | None = None,
                          lookback_days: int = 365,
                          customers: nw.LazyFrame | None = None) -> nw.LazyFrame:
    """Every activity of ``kinds`` in one pass over the orders: per customer of the population
    *or* taking part in one of them, ``customer_id``, ``in_population`` (0/1), one 0/1 column
    per kind (named after it: took part in ``[start, end)``), the features of :data:`FEATURES`
    and the outcomes of :data:`OUTCOMES`. The rows with ``in_population == 0`` are the
    participants outside the population (:func:`participants_outside`)."""
    s = pd.Timestamp(start)
    o_start, o_end = outcome_window if outcome_window is not None else (start, end)
    p = purchases(orders).with_columns(_rev=net_revenue())

    pre = p.filter(in_window("created_at", s - pd.Timedelta(days=lookback_days), s))
    pre = pre.group_by("customer_id").agg(
        nw.col("created_at").max().alias("_last"), nw.len().alias("frequency"),
        nw.col("_rev").sum().alias("_mon"))
    post = p.filter(in_window("created_at", o_start, o_end))
    post = post.group_by("customer_id").agg(nw.len().alias("_n"),
                                            nw.col("_rev").sum().alias("revenue"))

    t = (_flags(p, interactions, kinds, start, end, customers)
         .join(pre, on="customer_id", how="left")
         .join(post, on="customer_id", how="left"))
    recency = (nw.lit(epoch_seconds_of(s)) - epoch_seconds("_last")) / 86400.0
    return t.select(
        "customer_id", "in_population", *kinds,
        recency.cast(nw.Float64).fill_null(float(lookback_days)).alias("recency_days"),
        nw.col("frequency").fill_null(0).cast(nw.Float64),
        (nw.col("_mon").fill_null(0.0).cast(nw.Float64) + 1.0).log().alias("log_monetary"),
        nw.col("_last").is_null().cast(nw.Float64).alias("no_history"),
        (nw.col("_n").fill_null(0) > 0).cast(nw.Float64).alias("converted"),
        nw.col("revenue").fill_null(0.0).cast(nw.Float64),
    )


def _flags(p: nw.LazyFrame, interactions: nw.LazyFrame, kinds: tuple[str, ...],
           start: TimeLike, end: TimeLike, customers: nw.LazyFrame | None) -> nw.LazyFrame:
    """``customer_id, in_population, *kinds`` (0/1 each) for every customer of the population
    (a purchase ``p`` before ``start``, or listed in ``customers``) or taking part in one of
    ``kinds`` in ``[start, end)``: one aggregation over the union of the three."""
    unknown = [k for k in kinds if k not in INTERACTION_KINDS]
    if unknown:
        raise ValueError(f"unknown interaction kind {unknown[0]!r}; "
                         f"one of {', '.join(INTERACTION_KINDS)}")
    one, zero = nw.lit(1, dtype=nw.Int64), nw.lit(0, dtype=nw.Int64)
    known = p.filter(nw.col("created_at") < ts(start)).select("customer_id")
    if customers is not None:
        known = nw.concat([known, customers.select("customer_id")], how="vertical")
    took_part = interactions.filter(nw.col("kind").is_in(list(kinds))
                                    & in_window("at", start, end))
    rows = nw.concat([
        known.select("customer_id", one.alias("in_population"),
                     *(zero.alias(k) for k in kinds)),
        took_part.select("customer_id", zero.alias("in_population"),
                         *((nw.col("kind") == k).cast(nw.Int64).alias(k) for k in kinds)),
    ], how="vertical")
    return rows.group_by("customer_id").agg(
        nw.col("in_population").max(), *(nw.col(k).max() for k in kinds))


def participants_outside(orders: nw.LazyFrame, interactions: nw.LazyFrame, kind: str,
                         start: TimeLike, end: TimeLike, *,
                         customers: nw.LazyFrame | None = None) -> int:
    """Participants of ``kind`` in ``[start, end)`` outside the population of
    :func:`participation_table` (no purchase before ``start``, no member record)."""
    flags = _flags(purchases(orders), interactions, (kind,), start, end, customers)
    outside = flags.filter((nw.col("in_population") == 0) & (nw.col(kind) == 1))
    return int(scalar(outside.select(nw.len())))
