"""Wake-up rate (客户唤醒率) and reactivation rate (客户激活率) of a campaign.

States are taken at the sale start ``d`` with :func:`crm_experiments.metrics.lifecycle.
lifecycle_states` (base period ``P``); "bought" means a purchase (paid, not fully refunded)
created in the evaluation window ``[start, end)`` (by default the sale).

================  ===========================================================================
rate              definition
================  ===========================================================================
wake_up           contacted customers *sleeping* at ``d`` who bought in the window /
                  contacted customers sleeping at ``d``
reactivation      the same for customers *lost* at ``d``
holdout rows      the same two rates for the holdout arm's sleeping / lost customers (not
                  contacted by design): bought in the window / holdout customers in the state
================  ===========================================================================

"Contacted" = at least one row of ``contacts`` (of ``campaign_id`` when given, of the
``channels`` when given) sent in ``[contacted_from, end)``; ``contacted_from`` defaults to no
lower bound. Customers of the holdout arm are never counted as contacted, even if a contact
row exists for them: the ``holdout_contacted`` column counts those rows' customers so that a
leak is visible. The rates and their intervals are inference
(:func:`crm_experiments.stats.rates.wilson_interval` of ``bought`` out of ``customers``). The
contacted rows and the holdout rows are different populations (contacted treated customers vs
all holdout customers of the state); only with a randomised holdout and contacts sent to every
treated customer is their difference a causal effect.
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import collect, scalar
from crm_experiments.metrics.lifecycle import lifecycle_states
from crm_experiments.metrics.orders import TimeLike, in_window, purchases, ts

RATES = {"sleeping": "wake_up", "lost": "reactivation"}


def contacted_customers(contacts: nw.LazyFrame, end: TimeLike, *,
                        campaign_id: str | None = None,
                        channels: tuple[str, ...] | None = None,
                        contacted_from: TimeLike | None = None) -> nw.LazyFrame:
    """Distinct ``customer_id`` with a contact sent before ``end`` (see the module doc)."""
    c = contacts.filter(nw.col("sent_at") < ts(end))
    if contacted_from is not None:
        c = c.filter(nw.col("sent_at") >= ts(contacted_from))
    if campaign_id is not None:
        c = c.filter(nw.col("campaign_id") == campaign_id)
    if channels is not None:
        c = c.filter(nw.col("channel").is_in(list(channels)))
    return c.select("customer_id").unique()


def _flag(frame: nw.LazyFrame, name: str) -> nw.LazyFrame:
    """``frame`` (``customer_id``) with a column ``name`` = 1, to left-join as a 0/1 flag."""
    return frame.with_columns(nw.lit(1, dtype=nw.Int64).alias(name))


def reactivation_counts(orders: nw.LazyFrame, contacts: nw.LazyFrame, sale_start: TimeLike,
                        sale_end: TimeLike, *, window: tuple[TimeLike, TimeLike] | None = None,
                        period_months: int = 3, assignments: nw.LazyFrame | None = None,
                        holdout_arm: str = "control", campaign_id: str | None = None,
                        channels: tuple[str, ...] | None = None,
                        contacted_from: TimeLike | None = None,
                        states: nw.LazyFrame | None = None) -> pd.DataFrame:
    """One row per (group, state): ``rate_name``, ``customers``, ``bought``,
    ``holdout_contacted``. ``group`` is ``contacted`` and, when ``assignments`` has the
    ``holdout_arm``, ``holdout``. States are taken at ``sale_start``; purchases and contacts
    are counted in ``window``, by default ``[sale_start, sale_end)`` (pass e.g.
    ``(sale_start, sale_end + 30 days)`` to include the month after). ``states``:
    :func:`lifecycle_states` at ``sale_start`` if already computed."""
    start, end = window if window is not None else (sale_start, sale_end)
    if states is None:
        states = lifecycle_states(orders, sale_start, period_months)
    states = states.filter(nw.col("state").is_in(list(RATES))).select("customer_id", "state")
    p = purchases(orders)
    bought = _flag(p.filter(in_window("created_at", start, end)).select("customer_id").unique(),
                   "bought")
    reached = _flag(contacted_customers(contacts, end, campaign_id=campaign_id,
                                        channels=channels, contacted_from=contacted_from),
                    "contacted")

    base = states.join(reached, on="customer_id", how="left").select(
        "customer_id", "state", nw.col("contacted").fill_null(0))
    has_holdout = False
    if assignments is not None:
        a = assignments
        if campaign_id is not None:
            a = a.filter(nw.col("campaign_id") == campaign_id)
        hold = a.filter(nw.col("arm") == holdout_arm).select("customer_id").unique()
        has_holdout = bool(scalar(hold.select(nw.len())) > 0)
        base = base.join(_flag(hold, "holdout"), on="customer_id", how="left").select(
            "customer_id", "state", "contacted", nw.col("holdout").fill_null(0))
    else:
        base = base.with_columns(holdout=nw.lit(0, dtype=nw.Int64))
    base = base.join(bought, on="customer_id", how="left").select(
        "customer_id", "state", "contacted", "holdout", nw.col("bought").fill_null(0))
    group = (nw.when(nw.col("holdout") == 1).then(nw.lit("holdout"))
             .when(nw.col("contacted") == 1).then(nw.lit("contacted"))
             .otherwise(nw.lit("not_contacted")))
    base = base.with_columns(group=group)
    got = collect(base.group_by("group", "state").agg(
        nw.len().alias("customers"), nw.col("bought").sum().cast(nw.Int64).alias("bought"),
        nw.col("contacted").sum().cast(nw.Int64).alias("contacted"),
    )).set_index(["group", "state"])

    rows = []
    for g in ("contacted", "holdout") if has_holdout else ("contacted",):
        for state, name in RATES.items():
            rows.append({"group": g, "state": state, "rate_name": name,
                         "customers": int(got["customers"].get((g, state), 0)),
                         "bought": int(got["bought"].get((g, state), 0)),
                         "holdout_contacted": int(got["contacted"].get((g, state), 0))
                         if g == "holdout" else 0})
    return pd.DataFrame(rows).set_index(["group", "state"])
