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

import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import collect
from crm_experiments.metrics.orders import TimeLike, count_true, in_window

MAX_DELAY = pd.Timedelta(hours=24)
UNPAID_AFTER = pd.Timedelta(minutes=30)  # the domain's reminder time (domain.md section 5)


def _seconds(delay: pd.Timedelta) -> str:
    """``delay`` as a Narwhals offset in whole seconds (``dt.offset_by``)."""
    return f"{int(pd.Timedelta(delay).total_seconds())}s"


def reminder_orders(orders: nw.LazyFrame, contacts: nw.LazyFrame, start: TimeLike,
                    end: TimeLike, *, channels: tuple[str, ...] = ("wangwang",),
                    max_delay: pd.Timedelta = MAX_DELAY,
                    unpaid_after: pd.Timedelta = UNPAID_AFTER,
                    campaign_id: str | None = None) -> nw.LazyFrame:
    """Per order in either group: ``order_id, customer_id, created_at, paid_at, reminded_at,
    group, recovered`` (0/1)."""
    o = orders.filter(in_window("created_at", start, end)).select(
        "order_id", "customer_id", "created_at", "paid_at")
    c = contacts.filter(nw.col("channel").is_in(list(channels)))
    if campaign_id is not None:
        c = c.filter(nw.col("campaign_id") == campaign_id)
    c = c.select("customer_id", "sent_at")
    created, paid, sent = nw.col("created_at"), nw.col("paid_at"), nw.col("sent_at")
    j = o.join(c, on="customer_id")
    j = j.filter((sent >= created) & (sent <= created.dt.offset_by(_seconds(max_delay)))
                 & (paid.is_null() | (paid > sent)))
    first = j.group_by("order_id").agg(sent.min().alias("reminded_at"))
    t = o.join(first, on="order_id", how="left")
    reminded = ~nw.col("reminded_at").is_null()
    late = paid.is_null() | (paid > created.dt.offset_by(_seconds(unpaid_after)))
    t = t.filter(reminded | late)
    group = nw.when(reminded).then(nw.lit("reminded")).otherwise(nw.lit("not_reminded"))
    recovered = (nw.when(reminded).then(~paid.is_null() & (paid > nw.col("reminded_at")))
                 .otherwise(~paid.is_null()))
    return t.with_columns(group=group, recovered=recovered.cast(nw.Int64))


def reminder_counts(orders: nw.LazyFrame, contacts: nw.LazyFrame, start: TimeLike,
                    end: TimeLike, *, channels: tuple[str, ...] = ("wangwang",),
                    max_delay: pd.Timedelta = MAX_DELAY,
                    unpaid_after: pd.Timedelta = UNPAID_AFTER,
                    campaign_id: str | None = None) -> pd.DataFrame:
    """Index ``group`` (``reminded``, ``not_reminded``): ``orders`` and ``recovered``."""
    t = reminder_orders(orders, contacts, start, end, channels=channels, max_delay=max_delay,
                        unpaid_after=unpaid_after, campaign_id=campaign_id)
    got = collect(t.group_by("group").agg(
        nw.len().alias("orders"), count_true(nw.col("recovered") == 1).alias("recovered")))
    got = got.set_index("group").reindex(["reminded", "not_reminded"]).fillna(0)
    return got.astype("int64")[["orders", "recovered"]]
