"""Per-customer features of the buy-till-you-die (BTYD) models, computed in the engine.

Conventions (the same as ``lifetimes.utils.summary_data_from_transaction_data`` with
``freq="D"`` and ``freq_multiplier`` 1 for days or 7 for weeks, which a test checks):

* Time is counted in whole **days** (the shop-local calendar day of ``created_at``); several
  purchases on one day are one *purchase day* and their net revenues are summed.
* ``calibration_end`` and ``observation_end`` are **exclusive** (midnight starting the first
  day that is not observed), as every window of this package. lifetimes' inclusive
  ``observation_period_end`` is the day before.
* ``frequency`` = purchase days after the first one (repeat purchases) before
  ``calibration_end``; ``recency`` = days from the first to the last purchase day; ``T`` = days
  from the first purchase day to the last calibration day (``calibration_end - 1 day``);
  ``monetary_value`` = mean net revenue of the repeat purchase days (0 without repeats).
  In weeks, ``recency`` and ``T`` are divided by 7.
* Holdout (when ``observation_end`` is given): ``frequency_holdout`` = purchase days in
  ``[calibration_end, observation_end)``, ``monetary_value_holdout`` = their mean net revenue
  per purchase day (lifetimes averages raw transactions there instead; it only differs when a
  customer buys twice on one day), ``duration_holdout`` = the length of that period.

Only customers with a purchase before ``calibration_end`` have features (the models condition on
a first purchase). A purchase is a paid, not fully refunded order
(:func:`crm_experiments.metrics.orders.is_purchase`); money is net revenue.
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from crm_experiments.errors import CrmError
from crm_experiments.metrics.orders import TimeLike, is_purchase, net_revenue, ts

Unit = Literal["day", "week"]
UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0}
_EPOCH = ibis.date("1970-01-01")


def unit_days(unit: str) -> float:
    """Days in one time unit; an unknown unit is an error."""
    try:
        return UNIT_DAYS[unit]
    except KeyError:
        raise CrmError(f"unknown time unit {unit!r}; use one of {', '.join(UNIT_DAYS)}") from None


def _day_number(t: pd.Timestamp) -> int:
    return int((pd.Timestamp(t).normalize() - pd.Timestamp("1970-01-01")).days)


def purchase_days(orders: ir.Table, end: TimeLike, start: TimeLike | None = None) -> ir.Table:
    """One row per customer and purchase day before ``end`` (and from ``start``):
    ``customer_id``, ``day`` (days since 1970-01-01, int) and ``value`` (summed net revenue)."""
    p = orders.filter(is_purchase(orders) & (orders.created_at < ts(end)))
    if start is not None:
        p = p.filter(p.created_at >= ts(start))
    p = p.mutate(day=p.created_at.date().delta(_EPOCH, unit="day"), _v=net_revenue(p))
    return p.group_by(["customer_id", "day"]).aggregate(value=p._v.sum())


def rfm_expr(orders: ir.Table, calibration_end: TimeLike,
             observation_end: TimeLike | None = None) -> ir.Table:
    """The feature table as an Ibis expression, times in days (see the module docstring)."""
    cal_end = pd.Timestamp(calibration_end)
    if cal_end != cal_end.normalize():
        raise CrmError(f"calibration_end must be a date (midnight), got {cal_end}")
    last_day = _day_number(cal_end) - 1
    d = purchase_days(orders, cal_end)
    w = ibis.window(group_by="customer_id")
    d = d.mutate(first_day=d.day.min().over(w))
    d = d.mutate(repeat_value=ibis.cases((d.day > d.first_day, d.value), else_=0.0))
    f = d.group_by("customer_id").aggregate(
        n_days=d.count(), first=d.day.min(), last=d.day.max(), repeat_sum=d.repeat_value.sum())
    f = f.select(
        "customer_id",
        frequency=(f.n_days - 1).cast("int64"),
        recency=(f["last"] - f["first"]).cast("float64"),
        T=(ibis.literal(last_day) - f["first"]).cast("float64"),
        monetary_value=ibis.cases((f.n_days > 1, f.repeat_sum / (f.n_days - 1)), else_=0.0),
        first_purchase_day=f["first"],
    )
    if observation_end is None:
        return f
    obs_end = pd.Timestamp(observation_end)
    if obs_end != obs_end.normalize() or obs_end <= cal_end:
        raise CrmError(f"observation_end must be a date after calibration_end {cal_end.date()}, "
                       f"got {obs_end}")
    h = purchase_days(orders, obs_end, start=cal_end)
    h = h.group_by("customer_id").aggregate(frequency_holdout=h.count(), holdout_sum=h.value.sum())
    j = f.left_join(h, "customer_id")
    fh = j.frequency_holdout.fill_null(0)
    return j.select(
        *[f[c] for c in f.columns],
        frequency_holdout=fh.cast("int64"),
        monetary_value_holdout=ibis.cases((fh > 0, j.holdout_sum / fh), else_=0.0),
        duration_holdout=ibis.literal(float((obs_end - cal_end).days)),
    )


def rfm_features(orders: ir.Table, calibration_end: TimeLike,
                 observation_end: TimeLike | None = None, *, unit: Unit = "day") -> pd.DataFrame:
    """Per-customer BTYD features as a pandas frame indexed by ``customer_id`` (sorted).

    Columns: ``frequency`` (int), ``recency``, ``T``, ``monetary_value``,
    ``first_purchase_day`` (days since 1970-01-01) and, with ``observation_end``,
    ``frequency_holdout``, ``monetary_value_holdout``, ``duration_holdout``. ``recency``, ``T``
    and ``duration_holdout`` are in ``unit`` (days or weeks).
    """
    k = unit_days(unit)
    df = rfm_expr(orders, calibration_end, observation_end).to_pandas()
    if df.empty:
        raise CrmError(f"no purchase before {pd.Timestamp(calibration_end).date()}: "
                       "nothing to fit the CLV models on")
    df["customer_id"] = df["customer_id"].astype(str)
    df = df.set_index("customer_id").sort_index()
    for col in ("recency", "T", "duration_holdout"):
        if col in df:
            df[col] = df[col].astype("float64") / k
    for col in ("frequency", "frequency_holdout", "first_purchase_day"):
        if col in df:
            df[col] = df[col].astype("int64")
    for col in ("monetary_value", "monetary_value_holdout"):
        if col in df:
            df[col] = df[col].astype("float64")
    df.attrs.update(unit=unit, calibration_end=str(pd.Timestamp(calibration_end).date()),
                    observation_end=None if observation_end is None
                    else str(pd.Timestamp(observation_end).date()))
    return df


def repeat_purchases_by_day(orders: ir.Table, start: TimeLike, end: TimeLike,
                            cohort_end: TimeLike) -> pd.Series:
    """Repeat purchase days per calendar day in ``[start, end)`` of the customers whose first
    purchase is before ``cohort_end`` (the tracking curve's 'actual'); index = day number."""
    d = purchase_days(orders, end)
    w = ibis.window(group_by="customer_id")
    d = d.mutate(first_day=d.day.min().over(w))
    d = d.filter((d.day > d.first_day) & (d.first_day < _day_number(cohort_end))
                 & (d.day >= _day_number(start)))
    s = d.group_by("day").aggregate(n=d.count()).to_pandas()
    days = np.arange(_day_number(start), _day_number(end))
    return s.set_index("day")["n"].reindex(days, fill_value=0).astype("int64")


def behaviour_features(orders: ir.Table, as_of: TimeLike, *,
                       interactions: ir.Table | None = None) -> pd.DataFrame:
    """Features of the churn classifier at ``as_of`` (exclusive), per customer with a purchase:
    RFM (days since last/first purchase, purchase days, net revenue, average order value) and
    behaviour (purchases and revenue in the last 30/90 days, discount share, refunded orders,
    unpaid orders, interactions in the last 30 days when that table exists). Index customer_id.
    """
    end = ts(as_of)
    day_end = _day_number(pd.Timestamp(as_of))
    o = orders.filter(orders.created_at < end)
    o = o.mutate(
        _p=is_purchase(o).cast("int64"),
        _rev=ibis.cases((is_purchase(o), net_revenue(o)), else_=0.0),
        _disc=ibis.cases((is_purchase(o), o.discount.fill_null(0).cast("float64")), else_=0.0),
        _refunded=(o.refund_amount.fill_null(0) > 0).cast("int64"),
        _unpaid=o.paid_at.isnull().cast("int64"),
        _day=o.created_at.date().delta(_EPOCH, unit="day"),
    )
    o = o.mutate(_recent30=((o._day >= day_end - 30) & (o._p == 1)).cast("int64"),
                 _recent90=((o._day >= day_end - 90) & (o._p == 1)).cast("int64"))
    pday = ibis.cases((o._p == 1, o._day), else_=ibis.null("int64"))
    f = o.group_by("customer_id").aggregate(
        purchases=o._p.sum(), revenue=o._rev.sum(), discount=o._disc.sum(),
        refunded_orders=o._refunded.sum(), unpaid_orders=o._unpaid.sum(),
        purchases_30d=o._recent30.sum(), purchases_90d=o._recent90.sum(),
        revenue_90d=ibis.cases((o._recent90 == 1, o._rev), else_=0.0).sum(),
        first_day=pday.min(), last_day=pday.max(), purchase_days=pday.nunique(),
    )
    f = f.filter(f.purchases > 0)
    if interactions is not None:
        since = ts(pd.Timestamp(as_of) - pd.Timedelta(days=30))
        i = interactions.filter((interactions.at < end) & (interactions.at >= since))
        i = i.group_by("customer_id").aggregate(interactions_30d=i.count())
        f = f.left_join(i, "customer_id").select(f, i.interactions_30d)
    df = f.to_pandas()
    df["customer_id"] = df["customer_id"].astype(str)
    df = df.set_index("customer_id").sort_index()
    out = pd.DataFrame(index=df.index)
    out["days_since_last"] = (day_end - df["last_day"]).astype("float64")
    out["days_since_first"] = (day_end - df["first_day"]).astype("float64")
    out["purchase_days"] = df["purchase_days"].astype("float64")
    out["purchases"] = df["purchases"].astype("float64")
    out["revenue"] = df["revenue"].astype("float64")
    out["avg_order_value"] = out["revenue"] / out["purchases"]
    out["purchases_30d"] = df["purchases_30d"].astype("float64")
    out["purchases_90d"] = df["purchases_90d"].astype("float64")
    out["revenue_90d"] = df["revenue_90d"].astype("float64")
    gross = out["revenue"] + df["discount"].astype("float64")
    out["discount_share"] = np.where(gross > 0, df["discount"].astype("float64") / gross, 0.0)
    out["refunded_orders"] = df["refunded_orders"].astype("float64")
    out["unpaid_orders"] = df["unpaid_orders"].astype("float64")
    if "interactions_30d" in df:
        out["interactions_30d"] = pd.to_numeric(df["interactions_30d"]).fillna(0).astype("float64")
    return out


def future_purchase_flag(orders: ir.Table, start: TimeLike, end: TimeLike) -> pd.Index:
    """Customers with a purchase in ``[start, end)`` (an index of customer ids)."""
    p = orders.filter(is_purchase(orders) & (orders.created_at >= ts(start))
                      & (orders.created_at < ts(end)))
    ids = p.select("customer_id").distinct().to_pandas()["customer_id"].astype(str)
    return pd.Index(ids)


def data_end(orders: ir.Table) -> pd.Timestamp:
    """Exclusive end of the order data: midnight after the day of the last order."""
    last = orders.created_at.max().to_pandas()
    if last is None or pd.isna(last):
        raise CrmError("the orders table is empty")
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)
