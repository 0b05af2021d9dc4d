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

import narwhals as nw
import pandas as pd

from crm_experiments.errors import CrmError
from crm_experiments.io.engine import collect, scalar
from crm_experiments.io.reader import ShopData
from crm_experiments.metrics import lifecycle as lc
from crm_experiments.metrics.orders import (
    TimeLike,
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


def _history(orders: nw.LazyFrame, before) -> nw.LazyFrame:
    """Per customer with a purchase before ``before``: count, net revenue, first and last."""
    created = nw.col("created_at")
    p = purchases(orders).filter(created < before)
    return p.group_by("customer_id").agg(
        nw.len().alias("hist_orders"), exact_sum(net_revenue()).alias("hist_revenue"),
        created.min().alias("first_at"), created.max().alias("last_at"))


def _columns(frame: nw.LazyFrame) -> list[str]:
    return frame.collect_schema().names()


def add_columns(t: nw.LazyFrame, other: nw.LazyFrame, *columns: str) -> nw.LazyFrame:
    """``t`` with ``columns`` of ``other`` by a left join on ``customer_id``."""
    return t.join(other.select("customer_id", *columns), on="customer_id", how="left")


def campaign_customers(shop: ShopData, params: CampaignParams, horizon_days: int, *,
                       states_at_start: nw.LazyFrame | None = None) -> pd.DataFrame:
    """One row per assigned customer: arm, window outcomes, costs, pre-period covariates,
    lifecycle state at the sale start (``states_at_start`` if already computed) and tier.
    Computed in the engine; only this per-customer table (one row per assigned customer)
    comes back to pandas."""
    if not shop.has("assignments"):
        raise CrmError(f"{shop.data_dir}: no assignments table; the holdout comparison needs "
                       "assignments.csv or assignments.parquet (customer_id, campaign_id, arm)")
    orders = shop["orders"]
    a = shop["assignments"]
    a = a.filter(nw.col("campaign_id") == params.campaign_id)
    assigned_at = scalar(a.select(nw.col("assigned_at").min())) \
        if "assigned_at" in _columns(a) else None
    pre_end = pd.Timestamp(assigned_at) if assigned_at is not None and not pd.isna(assigned_at) \
        else params.sale_start
    pre_end = min(pre_end.normalize(), params.sale_start)
    pre_start = pre_end - pd.Timedelta(days=params.pre_period_days)
    margin = params.costs.gross_margin
    start, end = params.sale_start, params.window_end(horizon_days)

    t = a.select("customer_id", "arm")
    post = customer_window_outcomes(orders, start, end, margin)
    pre = customer_window_outcomes(orders, pre_start, pre_end, margin).select(
        "customer_id", nw.col("orders").alias("pre_orders"),
        nw.col("revenue").alias("pre_revenue"), nw.col("gross_profit").alias("pre_gross_profit"))
    t = add_columns(t, post, "orders", "revenue", "gross_profit")
    t = add_columns(t, pre, "pre_orders", "pre_revenue", "pre_gross_profit")
    t = add_columns(t, _history(orders, pre_end), "hist_orders", "hist_revenue", "first_at",
                    "last_at")
    messages = _message_costs(shop, params)
    if messages is not None:
        t = add_columns(t, messages, "message_cost")
    t = add_columns(t, _coupon_costs(shop, params, start, end), "coupon_cost")
    t = add_columns(t, _discount_costs(orders, start, end), "discount_cost")
    states = states_at_start if states_at_start is not None else lc.lifecycle_states(
        orders, params.sale_start, params.lifecycle_period_months)
    t = add_columns(t, states.select("customer_id", nw.col("state").alias("lifecycle_state")),
             "lifecycle_state")
    attributes = [c for c in ("tier", "gender")
                  if shop.has("customers") and c in _columns(shop["customers"])]
    if attributes:
        t = add_columns(t, shop["customers"], *attributes)
    df = collect(t)
    if messages is None:  # no contacts table: no message cost
        df.insert(df.columns.get_loc("last_at") + 1, "message_cost", float("nan"))
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


def channel_price(prices: dict[str, float]) -> nw.Expr:
    """The params' price of a contact by its ``channel`` (``costs.message_cost``), else 0."""
    price = nw.lit(0.0)
    if prices:
        (k0, v0), *rest = prices.items()
        chain = nw.when(nw.col("channel") == k0).then(nw.lit(float(v0)))
        for k, v in rest:
            chain = chain.when(nw.col("channel") == k).then(nw.lit(float(v)))
        price = chain.otherwise(price)
    return price


def _message_costs(shop: ShopData, params: CampaignParams) -> nw.LazyFrame | None:
    """Per customer: sum of the campaign's contact costs; a missing cost takes the channel's
    price from params (``costs.message_cost``), else 0. None without a contacts table."""
    if not shop.has("contacts"):
        return None
    c = shop["contacts"]
    c = c.filter(nw.col("campaign_id") == params.campaign_id)
    price = channel_price(params.costs.message_cost)
    cost = nw.col("cost").fill_null(price) if "cost" in _columns(c) else price
    return c.group_by("customer_id").agg(cost.cast(nw.Float64).sum().alias("message_cost"))


def _discount_costs(orders: nw.LazyFrame, start, end) -> nw.LazyFrame:
    """Per customer: discounts (``orders.discount``) on purchases of the window without a
    coupon (``coupon_id`` null): a shop discount or member price, not a coupon's."""
    p = orders.filter(is_purchase() & in_window("created_at", start, end)
                      & nw.col("coupon_id").is_null())
    return p.group_by("customer_id").agg(
        nw.col("discount").fill_null(0).cast(nw.Float64).sum().alias("discount_cost"))


def discounts_recorded(orders: nw.LazyFrame) -> bool:
    """Whether any order carries a discount value (``orders.discount`` not null): without
    one, the discounts a campaign gave are not recorded (not 0)."""
    return "discount" in _columns(orders) and int(
        scalar(orders.select(nw.col("discount").count()))) > 0


def _coupon_costs(shop: ShopData, params: CampaignParams, start, end) -> nw.LazyFrame:
    """Per customer: face value of the campaign's coupons redeemed in purchases of the window."""
    coupons = None
    if shop.has("coupons"):
        coupons = shop["coupons"]
        if "campaign_id" in _columns(coupons):
            coupons = coupons.filter(nw.col("campaign_id") == params.campaign_id)
    return redeemed_coupon_costs(shop["orders"], coupons, start, end)


def redeemed_coupon_costs(orders: nw.LazyFrame, coupons: nw.LazyFrame | None, start: TimeLike,
                          end: TimeLike) -> nw.LazyFrame:
    """Per customer (``customer_id``, ``coupon_cost``): the face value of ``coupons`` redeemed
    in purchases created in ``[start, end)``; without a coupons table, the discounts of the
    purchases that used a coupon (``coupon_id`` set). Currency units."""
    p = orders.filter(is_purchase() & in_window("created_at", start, end))
    if coupons is not None:
        j = coupons.join(p.select(nw.col("order_id").alias("redeemed_order_id")),
                         on="redeemed_order_id", how="inner")
        return j.group_by("customer_id").agg(
            nw.col("face_value").cast(nw.Float64).sum().alias("coupon_cost"))
    p = p.filter(~nw.col("coupon_id").is_null())
    return p.group_by("customer_id").agg(
        nw.col("discount").fill_null(0).cast(nw.Float64).sum().alias("coupon_cost"))
