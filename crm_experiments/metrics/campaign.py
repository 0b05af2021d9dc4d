"""The per-customer campaign table: one row per assigned customer with the arm, the outcomes of
the evaluation window, the campaign's costs, pre-period covariates, lifecycle state and tier.

At horizon ``H`` the **evaluation window** runs from the sale start (00:00) to the sale end + ``H``
days (exclusive). Outcomes are those of :mod:`crm_experiments.metrics.orders` (``converted``,
``orders``, ``revenue``, ``gross_profit``) and ``repurchased`` (2+ purchases in the window);
``message_cost`` = sum of the campaign's contact costs; ``coupon_cost`` = face value of its
coupons redeemed in purchases of the window;
``discount_cost`` = discounts recorded on the window's purchases without a coupon
(``orders.discount``: a shop discount, 店铺优惠, or a member price); ``benefit_cost`` = the arm's
``benefit_cost`` (member-day campaigns) if the customer bought in the window, else 0;
``net_profit = gross_profit - message_cost - benefit_cost`` (coupon and other discounts are
already inside gross profit, which counts the margin on the list price). Pre-period covariates
(``pre_*``) are measured over ``pre_period_days`` before the
assignment, so the treatment cannot have moved them; so is the purchase **history** before the
assignment (``hist_orders``, ``hist_revenue``, ``hist_buyer`` = any purchase,
``days_since_last`` / ``days_since_first`` = days from the last / first purchase to the
assignment, 0 without one) and the customer's ``gender`` when the shop records it.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from crm_experiments.errors import CrmError
from crm_experiments.io.reader import ShopData
from crm_experiments.metrics import lifecycle as lc
from crm_experiments.metrics.orders import (
    customer_window_outcomes,
    exact_sum,
    in_window,
    is_purchase,
    net_revenue,
    purchases,
)
from crm_experiments.params import CampaignParams

#: The pre-period covariate of each outcome (CUPED / Lin regression adjustment).
COVARIATES = {
    "converted": "pre_converted",
    "orders": "pre_orders",
    "revenue": "pre_revenue",
    "gross_profit": "pre_gross_profit",
    "net_profit": "pre_gross_profit",
}

#: Numeric covariate columns of each covariate group (params ``adjustment.covariates``); the
#: groups lifecycle_state, tier and gender are categorical columns of the same name.
COVARIATE_GROUPS = {
    "pre_period": ("pre_converted", "pre_orders", "pre_revenue", "pre_gross_profit"),
    "history": ("hist_buyer", "hist_orders", "hist_revenue", "days_since_last",
                "days_since_first"),
}
CATEGORICAL_COVARIATES = ("lifecycle_state", "tier", "gender")


def _history(orders: ir.Table, before) -> ir.Table:
    """Per customer with a purchase before ``before``: count, net revenue, first and last."""
    p = purchases(orders)
    p = p.filter(p.created_at < before)
    return p.group_by("customer_id").aggregate(
        hist_orders=p.count(), hist_revenue=exact_sum(net_revenue(p)),
        first_at=p.created_at.min(), last_at=p.created_at.max())


def campaign_customers(shop: ShopData, params: CampaignParams, horizon_days: int, *,
                       states_at_start: ir.Table | None = None) -> pd.DataFrame:
    """One row per assigned customer: arm, window outcomes, costs, pre-period covariates,
    lifecycle state at the sale start (``states_at_start`` if already computed) and tier.
    Computed in the engine; only this per-customer table (one row per assigned customer)
    comes back to pandas."""
    if not shop.has("assignments"):
        raise CrmError(f"{shop.data_dir}: no assignments table; the holdout comparison needs "
                       "assignments.csv or assignments.parquet (customer_id, campaign_id, arm)")
    orders = shop["orders"]
    a = shop["assignments"]
    a = a.filter(a.campaign_id == params.campaign_id)
    assigned_at = a.assigned_at.min().to_pandas() if "assigned_at" in a.columns else None
    pre_end = pd.Timestamp(assigned_at) if assigned_at is not None and not pd.isna(assigned_at) \
        else params.sale_start
    pre_end = min(pre_end.normalize(), params.sale_start)
    pre_start = pre_end - pd.Timedelta(days=params.pre_period_days)
    margin = params.costs.gross_margin
    start, end = params.sale_start, params.window_end(horizon_days)

    base = a.select("customer_id", "arm")
    post = customer_window_outcomes(orders, start, end, margin)
    pre = customer_window_outcomes(orders, pre_start, pre_end, margin).select(
        "customer_id", pre_orders="orders", pre_revenue="revenue",
        pre_gross_profit="gross_profit")
    t = base.left_join(post, "customer_id").select(base, *[post[c] for c in
                                                          ("orders", "revenue", "gross_profit")])
    t = t.left_join(pre, "customer_id").select(
        t, pre.pre_orders, pre.pre_revenue, pre.pre_gross_profit)
    hist = _history(orders, pre_end)
    t = t.left_join(hist, "customer_id").select(
        t, hist.hist_orders, hist.hist_revenue, hist.first_at, hist.last_at)
    t = t.left_join(_message_costs(shop, params), "customer_id").select(t, "message_cost")
    t = t.left_join(_coupon_costs(shop, params, start, end), "customer_id").select(t, "coupon_cost")
    t = t.left_join(_discount_costs(orders, start, end), "customer_id").select(t, "discount_cost")
    states = states_at_start if states_at_start is not None else lc.lifecycle_states(
        orders, params.sale_start, params.lifecycle_period_months)
    t = t.left_join(states.select("customer_id", lifecycle_state="state"), "customer_id").select(
        t, "lifecycle_state")
    attributes = [c for c in ("tier", "gender")
                  if shop.has("customers") and c in shop["customers"].columns]
    if attributes:
        c = shop["customers"].select("customer_id", *attributes)
        t = t.left_join(c, "customer_id").select(t, *attributes)
    df = t.to_pandas()
    for col in ("orders", "revenue", "gross_profit", "pre_orders", "pre_revenue",
                "pre_gross_profit", "message_cost", "coupon_cost", "discount_cost",
                "hist_orders", "hist_revenue"):
        df[col] = pd.to_numeric(df[col]).fillna(0.0).astype("float64")
    df["hist_buyer"] = (df["hist_orders"] > 0).astype("float64")
    for col, at in (("days_since_last", "last_at"), ("days_since_first", "first_at")):
        days = (pre_end - pd.to_datetime(df.pop(at))).dt.total_seconds() / 86400
        df[col] = days.fillna(0.0).astype("float64")
    df["converted"] = (df["orders"] > 0).astype("float64")
    df["repurchased"] = (df["orders"] >= 2).astype("float64")
    df["pre_converted"] = (df["pre_orders"] > 0).astype("float64")
    benefit = {a.name: a.benefit_cost or 0.0 for a in params.arms}
    df["benefit_cost"] = df["arm"].map(benefit).fillna(0.0).astype("float64") * df["converted"]
    df["net_profit"] = df["gross_profit"] - df["message_cost"] - df["benefit_cost"]
    df["lifecycle_state"] = df["lifecycle_state"].fillna(lc.NO_STATE).astype(str)
    for col in attributes:
        df[col] = df[col].fillna("unknown").astype(str)
    return df.sort_values("customer_id", kind="stable").reset_index(drop=True)


def _message_costs(shop: ShopData, params: CampaignParams) -> ir.Table:
    """Per customer: sum of the campaign's contact costs; a missing cost takes the channel's
    price from params (``costs.message_cost``), else 0."""
    if not shop.has("contacts"):
        return ibis.memtable({"customer_id": pd.Series([], dtype="string"),
                              "message_cost": pd.Series([], dtype="float64")})
    c = shop["contacts"]
    c = c.filter(c.campaign_id == params.campaign_id)
    prices = params.costs.message_cost
    price = ibis.cases(*[(c.channel == k, v) for k, v in prices.items()], else_=0.0) \
        if prices else ibis.literal(0.0)
    cost = c.cost.fill_null(price) if "cost" in c.columns else price
    return c.group_by("customer_id").aggregate(message_cost=cost.cast("float64").sum())


def _discount_costs(orders: ir.Table, start, end) -> ir.Table:
    """Per customer: discounts (``orders.discount``) on purchases of the window without a
    coupon (``coupon_id`` null): a shop discount or member price, not a coupon's."""
    p = orders.filter(is_purchase(orders) & in_window(orders.created_at, start, end)
                      & orders.coupon_id.isnull())
    return p.group_by("customer_id").aggregate(
        discount_cost=p.discount.fill_null(0).cast("float64").sum())


def discounts_recorded(orders: ir.Table) -> bool:
    """Whether any order carries a discount value (``orders.discount`` not null): without
    one, the discounts a campaign gave are not recorded (not 0)."""
    return "discount" in orders.columns and int(orders.discount.notnull().sum().to_pandas()) > 0


def _coupon_costs(shop: ShopData, params: CampaignParams, start, end) -> ir.Table:
    """Per customer: face value of the campaign's coupons redeemed in purchases of the window."""
    o = shop["orders"]
    p = o.filter(is_purchase(o) & in_window(o.created_at, start, end))
    if shop.has("coupons"):
        cp = shop["coupons"]
        if "campaign_id" in cp.columns:
            cp = cp.filter(cp.campaign_id == params.campaign_id)
        j = cp.join(p.select(redeemed_order_id="order_id"), "redeemed_order_id")
        return j.group_by("customer_id").aggregate(coupon_cost=j.face_value.cast("float64").sum())
    p = p.filter(p.coupon_id.notnull())
    return p.group_by("customer_id").aggregate(coupon_cost=p.discount.fill_null(0).sum())
