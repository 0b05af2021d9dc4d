"""The descriptive tables of a campaign: each is an engine aggregate from
:mod:`crm_experiments.metrics` followed by its inference from :mod:`crm_experiments.stats`.

==============  ====================================  =========================================
table           counts and sums (metrics)             intervals (stats)
==============  ====================================  =========================================
satisfaction    ``satisfaction.satisfaction_sums``    Wilson (shares), t (means), NPS
cohorts         ``cohorts.repurchase_counts``         Wilson; Newcombe and Agresti-Caffo
reactivation    ``reactivation.reactivation_counts``  Wilson
reminders       ``reminders.reminder_counts``         Wilson; Newcombe and Agresti-Caffo
==============  ====================================  =========================================
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw
import pandas as pd

from crm_experiments.metrics.cohorts import HORIZONS, ORDINARY, SALE, repurchase_counts
from crm_experiments.metrics.orders import TimeLike
from crm_experiments.metrics.reactivation import reactivation_counts
from crm_experiments.metrics.reminders import MAX_DELAY, UNPAID_AFTER, reminder_counts
from crm_experiments.metrics.satisfaction import METRICS, satisfaction_sums
from crm_experiments.stats.means import t_interval
from crm_experiments.stats.rates import nps_interval, share_difference, wilson_interval

SATISFACTION_COLUMNS = ["group", "metric", "value", "ci_low", "ci_high", "n"]
_SATISFACTION_INFERENCE = {
    "share": lambda f, alpha: wilson_interval(f, "k", "n", alpha=alpha, estimate="value"),
    "mean": lambda f, alpha: t_interval(f, "n", "sum", "sumsq", alpha=alpha, estimate="value"),
    "nps": lambda f, alpha: nps_interval(f, "promoters", "detractors", "n", alpha=alpha,
                                         estimate="value"),
}


def satisfaction(tables: dict[str, nw.LazyFrame], start: TimeLike, end: TimeLike, *,
                 alpha: float = 0.05, groups: nw.LazyFrame | None = None) -> pd.DataFrame:
    """One row per (metric, group) with ``value, ci_low, ci_high, n``: the rows of
    :func:`~crm_experiments.metrics.satisfaction.satisfaction_sums` (same arguments) with the
    Wilson interval of a share, the t interval of a mean and the interval of the NPS (points)."""
    sums = satisfaction_sums(tables, start, end, groups=groups)
    if sums.empty:
        return pd.DataFrame(columns=SATISFACTION_COLUMNS)
    kind = sums["metric"].map(METRICS)
    parts = [_SATISFACTION_INFERENCE[k](sums[kind == k], alpha) for k in kind.unique()]
    return pd.concat(parts).sort_index()[SATISFACTION_COLUMNS].reset_index(drop=True)


def cohort_repurchase(orders: nw.LazyFrame, sale_window: tuple[TimeLike, TimeLike],
                      comparison_window: tuple[TimeLike, TimeLike], *, as_of: TimeLike,
                      horizons: tuple[int, ...] = HORIZONS, alpha: float = 0.05) -> pd.DataFrame:
    """Long table: the rows of :func:`~crm_experiments.metrics.cohorts.repurchase_counts`
    with ``rate = repurchased / eligible`` and its Wilson interval, then per horizon a row of
    cohort ``sale - ordinary`` with the difference of the rates (Newcombe interval,
    Agresti-Caffo ``p_value``)."""
    counts = repurchase_counts(orders, sale_window, comparison_window, as_of=as_of,
                               horizons=horizons)
    rates = wilson_interval(counts, "repurchased", "eligible", alpha=alpha)
    sale = counts[counts.cohort == SALE].set_index("horizon_days")
    ordinary = counts[counts.cohort == ORDINARY].set_index("horizon_days")
    pair = pd.DataFrame({"k1": sale.repurchased, "n1": sale.eligible,
                         "k2": ordinary.repurchased, "n2": ordinary.eligible})
    diff = share_difference(pair, "k1", "n1", "k2", "n2", alpha=alpha, estimate="rate")
    diff = diff[["rate", "ci_low", "ci_high", "p_value"]].reset_index().assign(
        cohort=f"{SALE} - {ORDINARY}")
    return pd.concat([rates, diff], ignore_index=True)


def reactivation_rates(orders: nw.LazyFrame, contacts: nw.LazyFrame, sale_start: TimeLike,
                       sale_end: TimeLike, *, alpha: float = 0.05, **options) -> pd.DataFrame:
    """The rows of :func:`~crm_experiments.metrics.reactivation.reactivation_counts` (same
    arguments and ``options``) with ``rate = bought / customers`` and its Wilson interval."""
    counts = reactivation_counts(orders, contacts, sale_start, sale_end, **options)
    out = wilson_interval(counts, "bought", "customers", alpha=alpha)
    return out[["rate_name", "customers", "bought", "rate", "ci_low", "ci_high",
                "holdout_contacted"]]


OBSERVATIONAL_WARNING = (
    "Observational: reminders were not randomised, so the difference between reminded and "
    "not-reminded unpaid orders mixes the reminder's effect with who was reminded and when. "
    "Do not read it as the effect of reminders.")


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


def reminder_recovery(orders: nw.LazyFrame, contacts: nw.LazyFrame, start: TimeLike,
                      end: TimeLike, *, channels: tuple[str, ...] = ("wangwang",),
                      max_delay: pd.Timedelta = MAX_DELAY,
                      unpaid_after: pd.Timedelta = UNPAID_AFTER,
                      campaign_id: str | None = None, randomised: bool = False,
                      alpha: float = 0.05) -> ReminderRecovery:
    """Recovery rates of reminded and not-reminded unpaid orders
    (:func:`~crm_experiments.metrics.reminders.reminder_counts`) with Wilson intervals, and
    their difference reminded - not_reminded (Newcombe interval, Agresti-Caffo test), labelled
    observational unless ``randomised``."""
    counts = reminder_counts(orders, contacts, start, end, channels=channels,
                             max_delay=max_delay, unpaid_after=unpaid_after,
                             campaign_id=campaign_id)
    groups = wilson_interval(counts, "recovered", "orders", alpha=alpha,
                             estimate="recovery_rate")
    rm, nr = counts.loc["reminded"], counts.loc["not_reminded"]
    pair = pd.DataFrame([{"k1": rm.recovered, "n1": rm.orders,
                          "k2": nr.recovered, "n2": nr.orders}])
    diff = share_difference(pair, "k1", "n1", "k2", "n2", alpha=alpha).iloc[0]
    return ReminderRecovery(
        groups=groups,
        difference={k: float(diff[k]) for k in ("estimate", "ci_low", "ci_high", "p_value")},
        label="randomised" if randomised else "observational", causal=bool(randomised),
        warning=None if randomised else OBSERVATIONAL_WARNING, channels=tuple(channels),
        max_delay=pd.Timedelta(max_delay), unpaid_after=pd.Timedelta(unpaid_after))


#: Columns of the evaluation's ``reminders`` table: rows ``reminded``, ``not_reminded`` and
#: ``reminded - not_reminded`` (the difference: ``recovery_rate`` is the difference of the
#: rates, ``orders`` and ``recovered`` NaN), as :meth:`ReminderRecovery.to_frame` gives them,
#: with the first and last day of the orders' period (ISO dates).
REMINDER_COLUMNS = ("group", "orders", "recovered", "recovery_rate", "ci_low", "ci_high",
                    "p_value", "label", "causal", "period_start", "period_end")
#: The channel of payment reminders (催付: a Wangwang message to the buyer of an unpaid order).
#: Contacts carry no order id, so a message on a broadcast channel (SMS, e-mail) sent within a
#: day of an order would be taken for a reminder: only this channel counts.
REMINDER_CHANNELS = ("wangwang",)


def campaign_reminders(orders: nw.LazyFrame, contacts: nw.LazyFrame | None, start: TimeLike,
                       end: TimeLike, *, customers: nw.LazyFrame, campaign_id: str,
                       alpha: float = 0.05) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The evaluation's ``reminders`` table (:data:`REMINDER_COLUMNS`) and its data notes
    (keys of the report's translation table): :func:`reminder_recovery` of the orders that
    the campaign's customers (``customers``: ``customer_id``) created in ``[start, end)`` (the
    sale), reminders = the campaign's contacts on :data:`REMINDER_CHANNELS`; observational.
    Empty with a note when there are no contacts (``note_no_reminder_contacts``), no unpaid
    order (``note_no_unpaid``) or no reminder (``note_no_reminders``)."""
    empty = pd.DataFrame(columns=list(REMINDER_COLUMNS))
    if contacts is None:
        return empty, ("note_no_reminder_contacts",)
    mine = orders.join(customers.select("customer_id"), on="customer_id", how="semi")
    rec = reminder_recovery(mine, contacts, start, end, channels=REMINDER_CHANNELS,
                            campaign_id=campaign_id, alpha=alpha)
    n = rec.groups["orders"]
    if n.sum() == 0:
        return empty, ("note_no_unpaid",)
    if n.get("reminded", 0) == 0:
        return empty, ("note_no_reminders",)
    last = pd.Timestamp(end) - pd.Timedelta(days=1)
    out = rec.to_frame().assign(period_start=str(pd.Timestamp(start).date()),
                                period_end=str(last.date()))
    return out.reindex(columns=list(REMINDER_COLUMNS)), ()
