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

import ibis
import ibis.expr.types as ir
import pandas as pd

from crm_experiments.metrics.orders import TimeLike, in_window, is_purchase, net_revenue, ts


def sale_kpis(orders: ir.Table, start: TimeLike, end: TimeLike) -> dict[str, float]:
    """The KPIs of the module table for one window, as a flat dict."""
    w = orders.filter(in_window(orders.created_at, start, end))
    paid = w.paid_at.notnull()
    refund = w.refund_amount.fill_null(0)
    same_day = paid & w.shipped_at.notnull() & (w.shipped_at.date() == w.paid_at.date())
    agg = w.aggregate(
        orders=w.count(),
        paid_orders=paid.cast("int64").sum(),
        gmv=ibis.ifelse(paid, w.amount, 0.0).sum(),
        net_revenue=ibis.ifelse(paid, net_revenue(w), 0.0).sum(),
        refunded_orders=(paid & (refund > 0)).cast("int64").sum(),
        refund_amount=ibis.ifelse(paid, refund, 0.0).sum(),
        shipped_same_day=same_day.cast("int64").sum(),
        not_shipped=(paid & w.shipped_at.isnull()).cast("int64").sum(),
    ).to_pandas().iloc[0]

    # buyers: first purchase ever vs. earlier purchases
    p = orders.filter(is_purchase(orders))
    first = p.group_by("customer_id").aggregate(first_at=p.created_at.min())
    pw = p.filter(in_window(p.created_at, start, end))
    per_buyer = pw.group_by("customer_id").aggregate(rev=net_revenue(pw).sum())
    per_buyer = per_buyer.join(first, "customer_id")
    is_new = per_buyer.first_at >= ts(start)
    b = per_buyer.aggregate(
        buyers=per_buyer.count(),
        new_buyers=is_new.cast("int64").sum(),
        returning_revenue=ibis.ifelse(is_new, 0.0, per_buyer.rev).sum(),
        buyer_revenue=per_buyer.rev.sum(),
    ).to_pandas().iloc[0]

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


def kpi_comparison(orders: ir.Table, windows: dict[str, tuple[TimeLike, TimeLike]]) -> pd.DataFrame:
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


def data_span(orders: ir.Table) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Creation time of the first and the last order in the data (None without orders)."""
    row = orders.aggregate(first=orders.created_at.min(),
                           last=orders.created_at.max()).to_pandas().iloc[0]
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


def shipping_recorded(orders: ir.Table) -> bool:
    """Whether any order has a ``shipped_at`` (else shipped / not-shipped rates are unknown)."""
    return bool(orders.shipped_at.notnull().any().to_pandas())


def _ratio(num, den) -> float:
    num = 0.0 if num is None or pd.isna(num) else float(num)
    den = 0.0 if den is None or pd.isna(den) else float(den)
    return num / den if den else float("nan")
