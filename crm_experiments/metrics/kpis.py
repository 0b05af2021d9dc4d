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


def kpi_comparison(orders: ir.Table, windows: dict[str, tuple[TimeLike, TimeLike]]) -> pd.DataFrame:
    """KPIs of several named windows side by side (rows = KPI, columns = window names)."""
    return pd.DataFrame({name: sale_kpis(orders, s, e) for name, (s, e) in windows.items()})


def _ratio(num, den) -> float:
    num = 0.0 if num is None or pd.isna(num) else float(num)
    den = 0.0 if den is None or pd.isna(den) else float(den)
    return num / den if den else float("nan")
