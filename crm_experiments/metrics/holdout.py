"""Engine sums for the shop-wide holdout (``crm-exp holdout``): one row per customer of the
shop's base at the period start, and group counts of lifecycle states and RFM segments.

**Population**: every customer with a purchase before the period start (the customers a CRM
team can contact when the period begins); which of them are held out is decided by
:func:`crm_experiments.io.holdout.holdout_members` in the caller.

Per customer, over the period ``[start, end)`` (``end`` exclusive; clipped to the data):
``orders``, ``revenue`` (net revenue), ``gross_profit`` (margin on list price, so coupon
and other discounts are already paid out of it: :mod:`crm_experiments.metrics.orders`),
``contacts`` and ``contact_cost`` (every campaign's contacts sent in the period; a missing
cost takes the channel's price from ``costs.message_cost``, else 0), ``coupon_cost`` (face
value of coupons of any campaign redeemed in purchases of the period: shown, not subtracted
again), and the same outcomes over the ``pre_days`` before the start (``pre_*``, covariates
the holdout cannot have moved). Derived in pandas: ``net_profit = gross_profit -
contact_cost``, ``repurchase`` = 1 with 2+ purchases in the period (domain.md: a repeat
purchase is a second purchase order), ``pre_repurchase`` likewise before the start.
"""

from __future__ import annotations

from collections.abc import Mapping

import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import collect, scalar
from crm_experiments.metrics import lifecycle as lc
from crm_experiments.metrics.campaign import add_columns, channel_price, redeemed_coupon_costs
from crm_experiments.metrics.orders import (
    TimeLike,
    customer_window_outcomes,
    in_window,
)
from crm_experiments.metrics.rfm import NO_SEGMENT, rfm

MONEY = ("revenue", "gross_profit", "contact_cost", "coupon_cost", "net_profit")


def _contact_costs(contacts: nw.LazyFrame, start: TimeLike, end: TimeLike,
                   prices: Mapping[str, float]) -> nw.LazyFrame:
    c = contacts.filter(in_window("sent_at", start, end))
    price = channel_price(dict(prices))
    cost = nw.col("cost").fill_null(price) if "cost" in c.collect_schema().names() else price
    return c.group_by("customer_id").agg(nw.len().alias("contacts"),
                                         cost.cast(nw.Float64).sum().alias("contact_cost"))


def holdout_customers(orders: nw.LazyFrame, start: TimeLike, end: TimeLike, *,
                      gross_margin: float, pre_days: int, period_months: int = 3,
                      contacts: nw.LazyFrame | None = None,
                      coupons: nw.LazyFrame | None = None,
                      message_prices: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per customer with a purchase before ``start`` (module docstring), sorted by
    ``customer_id``, with ``lifecycle_state`` at ``start``."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    pre_start = start - pd.Timedelta(days=pre_days)
    states = lc.lifecycle_states(orders, start, period_months)
    t = states.select("customer_id", nw.col("state").alias("lifecycle_state"))
    post = customer_window_outcomes(orders, start, end, gross_margin)
    pre = customer_window_outcomes(orders, pre_start, start, gross_margin).select(
        "customer_id", nw.col("orders").alias("pre_orders"),
        nw.col("revenue").alias("pre_revenue"), nw.col("gross_profit").alias("pre_gross_profit"))
    t = add_columns(t, post, "orders", "revenue", "gross_profit")
    t = add_columns(t, pre, "pre_orders", "pre_revenue", "pre_gross_profit")
    if contacts is not None:
        cc = _contact_costs(contacts, start, end, dict(message_prices or {}))
        t = add_columns(t, cc, "contacts", "contact_cost")
    t = add_columns(t, redeemed_coupon_costs(orders, coupons, start, end), "coupon_cost")
    df = collect(t)
    for col in ("orders", "revenue", "gross_profit", "pre_orders", "pre_revenue",
                "pre_gross_profit", "contacts", "contact_cost", "coupon_cost"):
        values = df[col] if col in df else pd.Series(0.0, index=df.index)
        df[col] = pd.to_numeric(values).fillna(0.0).astype("float64")
    df["net_profit"] = df["gross_profit"] - df["contact_cost"]
    df["repurchase"] = (df["orders"] >= 2).astype("float64")
    df["pre_repurchase"] = (df["pre_orders"] >= 2).astype("float64")
    df["customer_id"] = df["customer_id"].astype(str)
    df["lifecycle_state"] = df["lifecycle_state"].astype(str)
    return df.sort_values("customer_id", kind="stable").reset_index(drop=True)


def group_states(orders: nw.LazyFrame, groups: nw.LazyFrame, moments: Mapping[str, TimeLike],
                 *, period_months: int = 3, lookback_days: int = 365) -> pd.DataFrame:
    """Customers of ``groups`` (``customer_id, group``) by lifecycle state and by RFM segment
    at each date of ``moments`` (name -> date): columns ``moment, kind`` (``lifecycle`` or
    ``rfm``), ``group, category, customers``. A customer without a purchase in the lookback
    (RFM) counts as :data:`~crm_experiments.metrics.rfm.NO_SEGMENT`."""
    frames = []
    for moment, when in moments.items():
        s = lc.lifecycle_states(orders, when, period_months).select(
            "customer_id", nw.col("state").alias("category"))
        r = rfm(orders, when, lookback_days=lookback_days).select(
            "customer_id", nw.col("segment").alias("category"))
        for kind, table, missing in (("lifecycle", s, lc.NO_STATE), ("rfm", r, NO_SEGMENT)):
            j = groups.join(table, on="customer_id", how="left")
            j = j.with_columns(nw.col("category").fill_null(missing))
            counts = collect(j.group_by("group", "category").agg(nw.len().alias("customers")))
            frames.append(counts.assign(moment=moment, kind=kind))
    out = pd.concat(frames, ignore_index=True)
    return out[["moment", "kind", "group", "category", "customers"]].astype(
        {"customers": "int64"})


def data_end(orders: nw.LazyFrame) -> pd.Timestamp | None:
    """The last order's creation time (None without orders)."""
    value = scalar(orders.select(nw.col("created_at").max()))
    return None if value is None or pd.isna(value) else pd.Timestamp(value)
