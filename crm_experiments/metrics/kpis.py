"""Sale KPIs (section 6 of domain.md) over a window ``[start, end)`` of order creation time.

========================  ==================================================================
KPI                       definition (orders created in the window)
========================  ==================================================================
orders                    all orders, paid or not
paid_orders               orders with ``paid_at``
paid_rate                 paid_orders / orders
gmv                       sum of ``amount`` of paid orders (currency)
net_revenue               sum of ``amount - refund_amount`` of paid orders (currency)
aov                       gmv / paid_orders (客单价, currency per order)
refund_rate               share of paid orders with ``refund_amount > 0``
refund_amount             sum of ``refund_amount`` (currency)
shipped_same_day_rate     share of paid orders shipped on their payment day (shop time)
not_shipped_rate          share of paid orders without ``shipped_at``
buyers                    customers with a purchase (paid, not fully refunded)
new_buyers                buyers whose first purchase ever is in the window
returning_buyers          buyers - new_buyers
returning_revenue_share   net revenue of returning buyers / net revenue of all buyers
========================  ==================================================================

:func:`kpi_comparison` claims nothing the data cannot say: a window the orders do not reach
(:func:`window_coverage` ``"none"``) is NaN, not 0; the two shipping rates are NaN when no
order has a ``shipped_at`` (the shop did not export shipping times).
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import collect, scalar
from crm_experiments.metrics.orders import (
    TimeLike,
    count_true,
    in_window,
    is_purchase,
    net_revenue,
    ts,
)


def sale_kpis(orders: nw.LazyFrame, start: TimeLike, end: TimeLike) -> dict[str, float]:
    """The KPIs of the module table for one window, as a flat dict."""
    w = orders.filter(in_window("created_at", start, end))
    paid = ~nw.col("paid_at").is_null()
    refund = nw.col("refund_amount").fill_null(0)
    shipped = nw.col("shipped_at")
    same_day = paid & ~shipped.is_null() & (shipped.dt.date() == nw.col("paid_at").dt.date())
    agg = collect(w.select(
        nw.len().alias("orders"),
        count_true(paid).alias("paid_orders"),
        nw.when(paid).then(nw.col("amount")).otherwise(nw.lit(0.0)).sum().alias("gmv"),
        nw.when(paid).then(net_revenue()).otherwise(nw.lit(0.0)).sum().alias("net_revenue"),
        count_true(paid & (refund > 0)).alias("refunded_orders"),
        nw.when(paid).then(refund).otherwise(nw.lit(0.0)).sum().alias("refund_amount"),
        count_true(same_day).alias("shipped_same_day"),
        count_true(paid & shipped.is_null()).alias("not_shipped"),
    )).iloc[0]

    # buyers: first purchase ever vs. earlier purchases
    p = orders.filter(is_purchase())
    first = p.group_by("customer_id").agg(nw.col("created_at").min().alias("first_at"))
    pw = p.filter(in_window("created_at", start, end))
    per_buyer = pw.group_by("customer_id").agg(net_revenue().sum().alias("rev"))
    per_buyer = per_buyer.join(first, on="customer_id")
    is_new = nw.col("first_at") >= ts(start)
    b = collect(per_buyer.select(
        nw.len().alias("buyers"),
        count_true(is_new).alias("new_buyers"),
        nw.when(is_new).then(nw.lit(0.0)).otherwise(nw.col("rev")).sum()
        .alias("returning_revenue"),
        nw.col("rev").sum().alias("buyer_revenue"),
    )).iloc[0]

    agg = agg.fillna(0)
    b = b.fillna(0)
    n, n_paid = int(agg["orders"]), int(agg["paid_orders"])
    buyers = int(b["buyers"])
    return {
        "orders": n,
        "paid_orders": n_paid,
        "paid_rate": _ratio(n_paid, n),
        "gmv": float(agg["gmv"] or 0.0),
        "net_revenue": float(agg["net_revenue"] or 0.0),
        "aov": _ratio(agg["gmv"], n_paid),
        "refund_rate": _ratio(agg["refunded_orders"], n_paid),
        "refund_amount": float(agg["refund_amount"] or 0.0),
        "shipped_same_day_rate": _ratio(agg["shipped_same_day"], n_paid),
        "not_shipped_rate": _ratio(agg["not_shipped"], n_paid),
        "buyers": buyers,
        "new_buyers": int(b["new_buyers"] or 0),
        "returning_buyers": buyers - int(b["new_buyers"] or 0),
        "returning_revenue_share": _ratio(b["returning_revenue"], b["buyer_revenue"]),
    }


#: The KPIs that need ``shipped_at``.
SHIPPING_KPIS = ("shipped_same_day_rate", "not_shipped_rate")


def kpi_comparison(orders: nw.LazyFrame,
                   windows: dict[str, tuple[TimeLike, TimeLike]]) -> pd.DataFrame:
    """KPIs of several named windows side by side (rows = KPI, columns = window names); a
    window the data do not reach is NaN, and so are the shipping rates without shipping
    times in the data."""
    span = data_span(orders)
    frame = pd.DataFrame({name: sale_kpis(orders, s, e) for name, (s, e) in windows.items()})
    for name, (s, e) in windows.items():
        if window_coverage(span, s, e) == "none":
            frame[name] = float("nan")
    if not shipping_recorded(orders):
        frame.loc[list(SHIPPING_KPIS)] = float("nan")
    return frame


def data_span(orders: nw.LazyFrame) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Creation time of the first and the last order in the data (None without orders)."""
    row = collect(orders.select(nw.col("created_at").min().alias("first"),
                                nw.col("created_at").max().alias("last"))).iloc[0]
    return tuple(None if pd.isna(v) else pd.Timestamp(v) for v in (row["first"], row["last"]))


def window_coverage(span: tuple[pd.Timestamp | None, pd.Timestamp | None], start: TimeLike,
                    end: TimeLike) -> str:
    """How far the data (``span`` of :func:`data_span`) reach into ``[start, end)``:
    ``"none"`` when the first order is at or after the end (or the last before the start),
    ``"partial"`` when the first order's day is after the start, else ``"full"``."""
    first, last = span
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if first is None or first >= end or last < start:
        return "none"
    return "partial" if first.normalize() > start else "full"


def shipping_recorded(orders: nw.LazyFrame) -> bool:
    """Whether any order has a ``shipped_at`` (else shipped / not-shipped rates are unknown)."""
    return bool(scalar(orders.select((~nw.col("shipped_at").is_null()).any())))


def _ratio(num, den) -> float:
    num = 0.0 if num is None or pd.isna(num) else float(num)
    den = 0.0 if den is None or pd.isna(den) else float(den)
    return num / den if den else float("nan")
