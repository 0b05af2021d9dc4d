"""Payment-reminder recovery (催付): are unpaid orders paid after a reminder?

Orders created in ``[start, end)`` fall in one of two groups:

============  ================================================================================
group         definition
============  ================================================================================
reminded      a contact on one of ``channels`` (default Wangwang) reached the order's customer
              at ``r`` with ``created_at <= r <= created_at + max_delay`` (default 24 h) while
              the order was still unpaid (``paid_at`` null or ``paid_at > r``); ``r`` = the
              first such contact
              recovered: ``paid_at > r`` (paid after the reminder, at any later time)
not_reminded  no such contact, and still unpaid ``unpaid_after`` (default 30 min, the domain's
              reminder time) after creation (``paid_at`` null or ``> created_at + 30 min``)
              recovered: ``paid_at`` not null (necessarily after the 30 minutes)
============  ================================================================================

Per group, :func:`reminder_counts` gives ``orders`` and ``recovered``; the recovery rate
(recovered / orders), the difference reminded - not_reminded and their intervals are inference
(:func:`crm_experiments.stats.rates.wilson_interval` and
:func:`crm_experiments.stats.rates.share_difference`, composed by
:func:`crm_experiments.analyses.descriptive.reminder_recovery`). Contacts carry no order id, so
a reminder is attributed to every unpaid order of its customer within the delay. Unless
reminders were sent or withheld at random, the difference is **observational**: who gets a
reminder, and when, is not independent of how likely they are to pay (a customer reminded
after 5 minutes is compared with orders unpaid after 30).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from crm_experiments.metrics.orders import TimeLike, in_window

MAX_DELAY = pd.Timedelta(hours=24)
UNPAID_AFTER = pd.Timedelta(minutes=30)  # the domain's reminder time (domain.md section 5)


def reminder_orders(orders: ir.Table, contacts: ir.Table, start: TimeLike, end: TimeLike, *,
                    channels: tuple[str, ...] = ("wangwang",),
                    max_delay: pd.Timedelta = MAX_DELAY,
                    unpaid_after: pd.Timedelta = UNPAID_AFTER,
                    campaign_id: str | None = None) -> ir.Table:
    """Per order in either group: ``order_id, customer_id, created_at, paid_at, reminded_at,
    group, recovered`` (0/1)."""
    o = orders.filter(in_window(orders.created_at, start, end)).select(
        "order_id", "customer_id", "created_at", "paid_at")
    c = contacts.filter(contacts.channel.isin(list(channels)))
    if campaign_id is not None:
        c = c.filter(c.campaign_id == campaign_id)
    c = c.select("customer_id", "sent_at")
    delay = ibis.interval(seconds=int(max_delay.total_seconds()))
    j = o.join(c, "customer_id")
    j = j.filter((j.sent_at >= j.created_at) & (j.sent_at <= j.created_at + delay)
                 & (j.paid_at.isnull() | (j.paid_at > j.sent_at)))
    first = j.group_by("order_id").aggregate(reminded_at=j.sent_at.min())
    t = o.left_join(first, "order_id")
    wait = ibis.interval(seconds=int(unpaid_after.total_seconds()))
    reminded = t.reminded_at.notnull()
    late = t.paid_at.isnull() | (t.paid_at > t.created_at + wait)
    t = t.filter(reminded | late)
    group = ibis.ifelse(reminded, "reminded", "not_reminded")
    recovered = ibis.ifelse(reminded, t.paid_at.notnull() & (t.paid_at > t.reminded_at),
                            t.paid_at.notnull())
    return t.mutate(group=group, recovered=recovered.cast("int64"))


def reminder_counts(orders: ir.Table, contacts: ir.Table, start: TimeLike, end: TimeLike, *,
                    channels: tuple[str, ...] = ("wangwang",),
                    max_delay: pd.Timedelta = MAX_DELAY,
                    unpaid_after: pd.Timedelta = UNPAID_AFTER,
                    campaign_id: str | None = None) -> pd.DataFrame:
    """Index ``group`` (``reminded``, ``not_reminded``): ``orders`` and ``recovered``."""
    t = reminder_orders(orders, contacts, start, end, channels=channels, max_delay=max_delay,
                        unpaid_after=unpaid_after, campaign_id=campaign_id)
    got = t.group_by("group").aggregate(orders=t.count(), recovered=t.recovered.sum())
    got = got.to_pandas().set_index("group").reindex(["reminded", "not_reminded"]).fillna(0)
    return got.astype("int64")[["orders", "recovered"]]
