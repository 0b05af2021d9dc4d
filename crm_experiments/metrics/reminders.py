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

``recovery_rate`` = recovered / orders of the group (share, Wilson interval); ``difference`` =
reminded - not_reminded (Newcombe interval, Agresti-Caffo test, statsmodels). Contacts carry
no order id, so a reminder is attributed to every unpaid order of its customer within the
delay. Unless ``randomised=True`` (reminders were sent or withheld at random) the difference is
**observational**: who gets a reminder, and when, is not independent of how likely they are to
pay (a customer reminded after 5 minutes is compared with orders unpaid after 30).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from crm_experiments.metrics.cohorts import compare_two_proportions, wilson_share
from crm_experiments.metrics.orders import TimeLike, in_window

OBSERVATIONAL_WARNING = (
    "Observational: reminders were not randomised, so the difference between reminded and "
    "not-reminded unpaid orders mixes the reminder's effect with who was reminded and when. "
    "Do not read it as the effect of reminders.")
MAX_DELAY = pd.Timedelta(hours=24)
UNPAID_AFTER = pd.Timedelta(minutes=30)  # the domain's reminder time (domain.md section 5)


@dataclass(frozen=True)
class ReminderRecovery:
    """Recovery of unpaid orders with and without a payment reminder."""

    groups: pd.DataFrame       # index group: orders, recovered, recovery_rate, ci_low, ci_high
    difference: dict[str, float]
    label: str                 # "randomised" or "observational"
    causal: bool
    warning: str | None
    channels: tuple[str, ...]
    max_delay: pd.Timedelta
    unpaid_after: pd.Timedelta

    def to_frame(self) -> pd.DataFrame:
        diff = pd.DataFrame([{"group": "reminded - not_reminded",
                              "recovery_rate": self.difference["estimate"],
                              **{k: v for k, v in self.difference.items() if k != "estimate"}}])
        out = pd.concat([self.groups.reset_index(), diff], ignore_index=True)
        return out.assign(label=self.label, causal=self.causal)


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


def reminder_recovery(orders: ir.Table, contacts: ir.Table, start: TimeLike, end: TimeLike, *,
                      channels: tuple[str, ...] = ("wangwang",),
                      max_delay: pd.Timedelta = MAX_DELAY,
                      unpaid_after: pd.Timedelta = UNPAID_AFTER,
                      campaign_id: str | None = None, randomised: bool = False,
                      alpha: float = 0.05) -> ReminderRecovery:
    """Recovery rates of reminded and not-reminded unpaid orders and their difference."""
    t = reminder_orders(orders, contacts, start, end, channels=channels, max_delay=max_delay,
                        unpaid_after=unpaid_after, campaign_id=campaign_id)
    got = t.group_by("group").aggregate(orders=t.count(), recovered=t.recovered.sum())
    got = got.to_pandas().set_index("group").reindex(["reminded", "not_reminded"]).fillna(0)
    rows = []
    for g, r in got.iterrows():
        n, k = int(r["orders"]), int(r["recovered"])
        rate, lo, hi = wilson_share(k, n, alpha)
        rows.append({"group": g, "orders": n, "recovered": k, "recovery_rate": rate,
                     "ci_low": lo, "ci_high": hi})
    groups = pd.DataFrame(rows).set_index("group")
    rm, nr = groups.loc["reminded"], groups.loc["not_reminded"]
    diff = compare_two_proportions(int(rm.recovered), int(rm.orders), int(nr.recovered),
                                   int(nr.orders), alpha)
    return ReminderRecovery(
        groups=groups, difference=diff, label="randomised" if randomised else "observational",
        causal=bool(randomised), warning=None if randomised else OBSERVATIONAL_WARNING,
        channels=tuple(channels), max_delay=pd.Timedelta(max_delay),
        unpaid_after=pd.Timedelta(unpaid_after))
