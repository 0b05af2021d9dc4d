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

import ibis
import ibis.expr.types as ir
import pandas as pd

from crm_experiments.io.schema import INTERACTION_KINDS
from crm_experiments.metrics.orders import TimeLike, in_window, net_revenue, purchases, ts

FEATURES = ("recency_days", "frequency", "log_monetary", "no_history")
OUTCOMES = ("converted", "revenue")
#: The interactive activities (kinds of :data:`INTERACTION_KINDS` a shop runs as a campaign
#: activity) the evaluation compares; browsing, carts and points are behaviour, not activities.
ACTIVITY_KINDS = ("sign_in", "lottery", "vote")


def participation_table(orders: ir.Table, interactions: ir.Table, kind: str, start: TimeLike,
                        end: TimeLike, *, outcome_window: tuple[TimeLike, TimeLike] | None = None,
                        lookback_days: int = 365,
                        customers: ir.Table | None = None) -> ir.Table:
    """Per customer of the population: ``customer_id, participant`` (0/1), the features of
    :data:`FEATURES` and the outcomes of :data:`OUTCOMES`."""
    if kind not in INTERACTION_KINDS:
        raise ValueError(f"unknown interaction kind {kind!r}; "
                         f"one of {', '.join(INTERACTION_KINDS)}")
    s = pd.Timestamp(start)
    o_start, o_end = outcome_window if outcome_window is not None else (start, end)
    p = purchases(orders)
    p = p.mutate(_rev=net_revenue(p))

    i = interactions.filter((interactions.kind == kind) & in_window(interactions["at"], start, end))
    part = i.select("customer_id").distinct().mutate(participant=ibis.literal(1, "int64"))
    pop = _population(p, s, customers)

    pre = p.filter(in_window(p.created_at, s - pd.Timedelta(days=lookback_days), s))
    pre = pre.group_by("customer_id").aggregate(
        _last=pre.created_at.max(), frequency=pre.count(), _mon=pre._rev.sum())
    post = p.filter(in_window(p.created_at, o_start, o_end))
    post = post.group_by("customer_id").aggregate(_n=post.count(), revenue=post._rev.sum())

    t = pop.left_join(part, "customer_id").left_join(pre, "customer_id").left_join(
        post, "customer_id")
    recency = (ts(s).epoch_seconds() - t._last.epoch_seconds()) / 86400.0
    return t.select(
        "customer_id",
        participant=t.participant.fill_null(0),
        recency_days=recency.cast("float64").fill_null(float(lookback_days)),
        frequency=t.frequency.fill_null(0).cast("float64"),
        log_monetary=(t._mon.fill_null(0.0).cast("float64") + 1.0).ln(),
        no_history=t._last.isnull().cast("float64"),
        converted=(t._n.fill_null(0) > 0).cast("float64"),
        revenue=t.revenue.fill_null(0.0).cast("float64"),
    )


def _population(p: ir.Table, start: pd.Timestamp, customers: ir.Table | None) -> ir.Table:
    pop = p.filter(p.created_at < ts(start)).select("customer_id")
    if customers is not None:
        pop = pop.union(customers.select("customer_id"))
    return pop.distinct()


def participants_outside(orders: ir.Table, interactions: ir.Table, kind: str,
                         start: TimeLike, end: TimeLike, *,
                         customers: ir.Table | None = None) -> int:
    """Participants of ``kind`` in ``[start, end)`` outside the population of
    :func:`participation_table` (no purchase before ``start``, no member record)."""
    i = interactions.filter((interactions.kind == kind)
                            & in_window(interactions["at"], start, end))
    outside = i.select("customer_id").distinct().anti_join(
        _population(purchases(orders), pd.Timestamp(start), customers), "customer_id")
    return int(outside.count().to_pandas())
