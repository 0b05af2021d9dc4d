"""Every public engine function of ``crm_experiments.metrics`` on DuckDB and on Spark
(``local[2]``) gives the same result on one generated shop (fixtures and the comparison rule:
``tests/engine/conftest.py``).

Each case is ``fn(shop, params)``, run once per engine; arguments are what the analyses pass
(the campaign's arms as ``groups``, its sale and evaluation windows).
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd
import pytest

from crm_experiments.io.engine import collect
from crm_experiments.metrics import (
    campaign,
    cohorts,
    interactions,
    kpis,
    lifecycle,
    orders,
    reactivation,
    reminders,
    rfm,
    satisfaction,
    stickiness,
    watch,
)
from crm_experiments.metrics import holdout as holdout_metrics
from crm_experiments.stats import aggr
from tests.engine.conftest import REL, assert_same

HORIZON = 30


def _window(params):
    return params.sale_start, params.window_end(HORIZON)


def _pre(params):
    return params.sale_start - pd.Timedelta(days=params.pre_period_days)


def _assigned(shop, params) -> nw.LazyFrame:
    a = shop["assignments"]
    return a.filter(nw.col("campaign_id") == params.campaign_id)


def _groups(shop, params) -> nw.LazyFrame:
    """The campaign's arms as ``customer_id, group``, from the engine's own table."""
    return _assigned(shop, params).select("customer_id", nw.col("arm").alias("group"))


_pandas_groups: dict[str, pd.DataFrame] = {}


def _groups_from_pandas(shop, params) -> nw.LazyFrame:
    """The same arms put next to the engine's tables from pandas (``Engine.from_pandas``, what
    the analyses do with their per-customer table): one pandas frame for both engines."""
    if "arms" not in _pandas_groups:
        _pandas_groups["arms"] = collect(_groups(shop, params)).sort_values(
            "customer_id", ignore_index=True)
    return shop.con.from_pandas(_pandas_groups["arms"])


def _moments(params) -> dict[str, pd.Timestamp]:
    return {"start": params.sale_start, "end": params.window_end(HORIZON)}


def _per_customer(shop, params) -> nw.LazyFrame:
    """Per assigned customer: sale revenue (y), pre-period revenue (x) and sale orders (d)."""
    start, end = params.sale_start, params.sale_end
    o = orders.purchases(shop["orders"]).with_columns(
        v=orders.net_revenue(), sale=orders.in_window("created_at", start, end),
        before=orders.in_window("created_at", _pre(params), start))
    per = o.group_by("customer_id").agg(
        orders.exact_sum(nw.when(nw.col("sale")).then(nw.col("v")).otherwise(0.0)).alias("y"),
        orders.exact_sum(nw.when(nw.col("before")).then(nw.col("v")).otherwise(0.0)).alias("x"),
        orders.count_true(nw.col("sale")).alias("d"))
    j = _assigned(shop, params).join(per, on="customer_id", how="left")
    return j.select("arm", nw.col("y").fill_null(0.0), nw.col("x").fill_null(0.0),
                    nw.col("d").fill_null(0))


CASES = {
    # metrics.orders: the building blocks every metric uses
    "orders.customer_window_outcomes": lambda s, p: orders.customer_window_outcomes(
        s["orders"], *_window(p), p.costs.gross_margin),
    "orders.purchases+exact_sum+count_true": lambda s, p: orders.purchases(s["orders"]).select(
        nw.len().alias("n"), orders.exact_sum(orders.net_revenue()).alias("revenue"),
        orders.exact_sum(orders.gross_profit(p.costs.gross_margin)).alias("profit"),
        orders.count_true(orders.in_window("created_at", *_window(p))).alias("in_window"),
        orders.count_true(orders.is_purchase()).alias("purchases")),
    "orders.per_customer_sums": _per_customer,
    "orders.epoch_seconds": lambda s, p: s["orders"].select(
        "order_id", orders.epoch_seconds("created_at").alias("created"),
        orders.epoch_seconds(nw.col("paid_at")).alias("paid")),
    # metrics.kpis
    "kpis.sale_kpis": lambda s, p: kpis.sale_kpis(s["orders"], *_window(p)),
    "kpis.kpi_comparison": lambda s, p: kpis.kpi_comparison(s["orders"], {
        "baseline": (p.sale_start - pd.Timedelta(days=35), p.sale_start - pd.Timedelta(days=14)),
        "sale": (p.sale_start, p.sale_end),
        "last_year": (p.sale_start - pd.DateOffset(years=1), p.sale_end - pd.DateOffset(years=1))}),
    "kpis.data_span": lambda s, p: kpis.data_span(s["orders"]),
    "kpis.shipping_recorded": lambda s, p: kpis.shipping_recorded(s["orders"]),
    # metrics.cohorts
    "cohorts.cohort_table": lambda s, p: cohorts.cohort_table(s["orders"], {
        "sale": (p.sale_start, p.sale_end),
        "ordinary": cohorts.default_comparison_window(p.sale_start, p.sale_end)}),
    "cohorts.repurchase_counts": lambda s, p: cohorts.repurchase_counts(
        s["orders"], (p.sale_start, p.sale_end),
        cohorts.default_comparison_window(p.sale_start, p.sale_end),
        as_of=p.window_end(HORIZON) + pd.Timedelta(days=20)),
    # metrics.satisfaction
    "satisfaction.satisfaction_sums": lambda s, p: satisfaction.satisfaction_sums(
        s.tables, _pre(p), p.sale_start),
    "satisfaction.satisfaction_sums(groups)": lambda s, p: satisfaction.satisfaction_sums(
        s.tables, *_window(p), groups=_groups_from_pandas(s, p)),
    # metrics.reactivation
    "reactivation.contacted_customers": lambda s, p: reactivation.contacted_customers(
        s["contacts"], p.sale_end, campaign_id=p.campaign_id),
    "reactivation.reactivation_counts": lambda s, p: reactivation.reactivation_counts(
        s["orders"], s["contacts"], p.sale_start, p.sale_end, window=_window(p),
        period_months=p.lifecycle_period_months, assignments=s["assignments"],
        holdout_arm=p.control_arm, campaign_id=p.campaign_id),
    "reactivation.reactivation_counts(all contacts)": lambda s, p:
        reactivation.reactivation_counts(s["orders"], s["contacts"], p.sale_start, p.sale_end),
    # metrics.reminders
    "reminders.reminder_orders": lambda s, p: reminders.reminder_orders(
        s["orders"], s["contacts"], *_window(p), channels=("wangwang", "sms", "push")),
    "reminders.reminder_counts": lambda s, p: reminders.reminder_counts(
        s["orders"], s["contacts"], *_window(p), channels=("wangwang", "sms", "push")),
    "reminders.reminder_counts(campaign)": lambda s, p: reminders.reminder_counts(
        s["orders"], s["contacts"], p.sale_start, p.sale_end, campaign_id=p.campaign_id),
    # metrics.stickiness
    "stickiness.stickiness": lambda s, p: stickiness.stickiness(
        s["orders"], lifecycle.period_start(p.sale_start, p.lifecycle_period_months),
        p.sale_start, retention_days=p.retention_days, as_of=p.sale_start),
    "stickiness.stickiness(groups)": lambda s, p: stickiness.stickiness(
        s["orders"], *_window(p), retention_days=p.retention_days,
        as_of=p.window_end(HORIZON) + pd.Timedelta(days=20), groups=_groups(s, p)),
    # metrics.rfm
    "rfm.rfm": lambda s, p: rfm.rfm(s["orders"], p.sale_start),
    "rfm.tiers": lambda s, p: rfm.tiers(s["orders"], p.sale_start),
    "rfm.tier_migration": lambda s, p: rfm.tier_migration(s["orders"], *_window(p)),
    "rfm.segment_counts": lambda s, p: rfm.segment_counts(
        s["orders"], _groups(s, p), {"before": p.sale_start, "after": p.window_end(HORIZON)}),
    "rfm.tier_moves": lambda s, p: rfm.tier_moves(s["orders"], _groups_from_pandas(s, p),
                                                  *_window(p)),
    # metrics.interactions
    **{f"interactions.participation_table({kind})":
       lambda s, p, kind=kind: interactions.participation_table(
           s["orders"], s["interactions"], kind, p.sale_start, p.sale_end,
           outcome_window=_window(p))
       for kind in interactions.ACTIVITY_KINDS},
    "interactions.participation_table(customers)": lambda s, p:
        interactions.participation_table(s["orders"], s["interactions"], "sign_in",
                                         *_window(p), customers=_groups(s, p)),
    "interactions.participation_by_kind": lambda s, p: interactions.participation_by_kind(
        s["orders"], s["interactions"], interactions.ACTIVITY_KINDS, p.sale_start, p.sale_end,
        outcome_window=_window(p)),
    "interactions.participants_outside": lambda s, p: interactions.participants_outside(
        s["orders"], s["interactions"], "sign_in", *_window(p), customers=_groups(s, p)),
    # metrics.lifecycle
    "lifecycle.lifecycle_states": lambda s, p: lifecycle.lifecycle_states(
        s["orders"], p.sale_start, p.lifecycle_period_months),
    "lifecycle.lifecycle_counts": lambda s, p: lifecycle.lifecycle_counts(
        s["orders"], p.sale_start, p.lifecycle_period_months),
    "lifecycle.lifecycle_counts(customers)": lambda s, p: lifecycle.lifecycle_counts(
        s["orders"], p.sale_start, p.lifecycle_period_months, customers=s["customers"]),
    "lifecycle.migration_matrix": lambda s, p: lifecycle.migration_matrix(
        s["orders"], p.sale_start, p.window_end(HORIZON), p.lifecycle_period_months),
    "lifecycle.migration_from_states": lambda s, p: lifecycle.migration_from_states(
        lifecycle.lifecycle_states(s["orders"], p.sale_start, p.lifecycle_period_months),
        lifecycle.lifecycle_states(s["orders"], p.window_end(HORIZON),
                                   p.lifecycle_period_months),
        _groups_from_pandas(s, p).filter(nw.col("group") == p.control_arm)),
    # metrics.campaign
    **{f"campaign.campaign_customers({h})":
       lambda s, p, h=h: campaign.campaign_customers(s, p, h) for h in (7, 30)},
    "campaign.channel_price": lambda s, p: s["contacts"].select(
        "customer_id", "channel", "sent_at",
        campaign.channel_price(p.costs.message_cost).alias("price")),
    "campaign.discounts_recorded": lambda s, p: campaign.discounts_recorded(s["orders"]),
    # metrics.holdout
    "holdout.holdout_customers": lambda s, p: holdout_metrics.holdout_customers(
        s["orders"], lifecycle.period_start(p.sale_start, p.lifecycle_period_months),
        p.window_end(HORIZON), gross_margin=p.costs.gross_margin, pre_days=p.pre_period_days,
        period_months=p.lifecycle_period_months, contacts=s["contacts"],
        coupons=s["coupons"], message_prices=p.costs.message_cost),
    "holdout.holdout_customers(no costs)": lambda s, p: holdout_metrics.holdout_customers(
        s["orders"], *_window(p), gross_margin=p.costs.gross_margin, pre_days=30),
    "holdout.group_states": lambda s, p: holdout_metrics.group_states(
        s["orders"], _groups(s, p), _moments(p), period_months=p.lifecycle_period_months),
    "holdout.data_end": lambda s, p: holdout_metrics.data_end(s["orders"]),
    # metrics.watch (the sale's first days)
    "watch.customer_day_revenue": lambda s, p: watch.customer_day_revenue(
        s["orders"], _assigned(s, p).select("customer_id", "arm"), p.sale_start,
        p.sale_start + pd.Timedelta(days=4)),
    "watch.daily_arm_moments": lambda s, p: watch.daily_arm_moments(
        s["orders"], _assigned(s, p), p.sale.start, p.sale_start + pd.Timedelta(days=4),
        engine=s.con),
    "watch.daily_cross_sums": lambda s, p: watch.daily_cross_sums(
        s["orders"], _assigned(s, p), p.sale.start, p.sale_start + pd.Timedelta(days=4)),
    # stats.aggr: the sufficient statistics per arm
    "aggr.moments_from_frame": lambda s, p: aggr.moments_from_frame(
        _per_customer(s, p), "arm", "y", x="x", den="d"),
}

#: Functions whose row order is part of the result (callers index or sample by position).
ORDERED = {"campaign.campaign_customers(7)", "campaign.campaign_customers(30)"}
#: Exact floats: times as epoch seconds (1e-9 relative of 1.7e9 s would allow 1.7 s).
EXACT = {"orders.epoch_seconds"}


@pytest.mark.parametrize("case", list(CASES))
def test_same_on_duckdb_and_spark(shops, case):
    params, duck, spark = shops
    fn = CASES[case]
    a, b = fn(duck, params), fn(spark, params)
    if case in ORDERED:
        pd.testing.assert_series_equal(b["customer_id"], a["customer_id"])
    assert_same(a, b, path=case, rel=0.0 if case in EXACT else REL)


def test_cases_are_not_empty(shops):
    """The shop exercises every case: each frame has rows on DuckDB (a parity check of two
    empty results would prove nothing)."""
    params, duck, _spark = shops
    empty = []
    for case, fn in CASES.items():
        result = fn(duck, params)
        if isinstance(result, nw.LazyFrame):
            result = collect(result)
        if isinstance(result, pd.DataFrame | pd.Series) and result.empty:
            empty.append(case)
    assert not empty, f"no rows on the parity shop: {empty}"
