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
  ``monetary_value`` = mean net revenue of the repeat purchase days (0 without repeats; the
  engine sums them as the total minus the first day's value, equal up to float rounding).
  In weeks, ``recency`` and ``T`` are divided by 7.
* Holdout (when ``observation_end`` is given): ``frequency_holdout`` = purchase days in
  ``[calibration_end, observation_end)``, ``monetary_value_holdout`` = their mean net revenue
  per purchase day (lifetimes averages raw transactions there instead; it only differs when a
  customer buys twice on one day), ``duration_holdout`` = the length of that period.

Only customers with a purchase before ``calibration_end`` have features (the models condition on
a first purchase). A purchase is a paid, not fully refunded order
(:func:`crm_experiments.metrics.orders.is_purchase`); money is net revenue.

Speed: every function is engine-agnostic Narwhals without window functions (one aggregation
per customer and date, one per customer); the frames come back through Arrow already ordered by
the engine. The value of a customer's first day is the minimum of the struct (date, value)
(:func:`_value_at_first_date`), the same expression on DuckDB and Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import narwhals as nw
import numpy as np
import pandas as pd

from crm_experiments.errors import CrmError
from crm_experiments.io.engine import collect, scalar
from crm_experiments.metrics.orders import (
    TimeLike,
    count_true,
    epoch_days,
    in_window,
    is_purchase,
    net_revenue,
    ts,
)

Unit = Literal["day", "week"]
UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0}


def _date(value: TimeLike) -> nw.Expr:
    """A date literal (the calendar day of ``value``)."""
    return nw.lit(pd.Timestamp(value).date(), dtype=nw.Date)


def _value_at_first_date(cond: nw.Expr | None = None) -> nw.Expr:
    """``value`` of the row with the smallest ``date`` (per group; dates are unique there), among
    the rows where ``cond`` holds: the minimum of the struct (date, value), which orders by the
    date first. One pass, no sort, the same on every engine (DuckDB's ``arg_min``, which the
    Ibis version used there, has no Narwhals spelling)."""
    pair = nw.struct("date", "value")
    if cond is not None:
        pair = nw.when(cond).then(pair)
    return pair.min().struct.field("value")


def unit_days(unit: str) -> float:
    """Days in one time unit; an unknown unit is an error."""
    try:
        return UNIT_DAYS[unit]
    except KeyError:
        raise CrmError(f"unknown time unit {unit!r}; use one of {', '.join(UNIT_DAYS)}") from None


def _day_number(t: pd.Timestamp) -> int:
    return int((pd.Timestamp(t).normalize() - pd.Timestamp("1970-01-01")).days)


def _purchase_dates(orders: nw.LazyFrame, end: TimeLike,
                    start: TimeLike | None = None) -> nw.LazyFrame:
    """One row per customer and purchase day in ``[start, end)``: ``customer_id``, ``date`` (the
    calendar date) and ``value`` (summed net revenue). Grouping on the date (not the day number)
    keeps the per-order work to one cast; day numbers are computed on the (fewer) results."""
    cond = is_purchase() & (nw.col("created_at") < ts(end))
    if start is not None:
        cond = cond & (nw.col("created_at") >= ts(start))
    p = orders.filter(cond).select(
        "customer_id", date=nw.col("created_at").dt.date(), _v=net_revenue())
    return p.group_by("customer_id", "date").agg(value=nw.col("_v").sum())


@dataclass(frozen=True)
class PurchaseDates:
    """The purchase days before ``end`` (:func:`purchase_dates`), held by a caller that runs
    several feature queries on them: ``frame`` is usually cached in the engine
    (:meth:`~crm_experiments.io.engine.Engine.cache`), so the per-order aggregation runs once."""

    end: pd.Timestamp
    frame: nw.LazyFrame


def purchase_dates(orders: nw.LazyFrame, end: TimeLike) -> PurchaseDates:
    """One row per customer and purchase day before ``end`` (``customer_id``, ``date``,
    ``value``), for the ``dates`` argument of :func:`rfm_features` and
    :func:`repeat_purchases_by_day`: the aggregation over every order that each of them
    would otherwise run."""
    return PurchaseDates(pd.Timestamp(end), _purchase_dates(orders, end))


def _dates_before(orders: nw.LazyFrame, end: TimeLike,
                  dates: PurchaseDates | None) -> nw.LazyFrame:
    """``dates``' frame when it holds the purchase days before ``end``, else computed."""
    if dates is not None and dates.end == pd.Timestamp(end):
        return dates.frame
    return _purchase_dates(orders, end)


def purchase_days(orders: nw.LazyFrame, end: TimeLike,
                  start: TimeLike | None = None) -> nw.LazyFrame:
    """One row per customer and purchase day before ``end`` (and from ``start``):
    ``customer_id``, ``day`` (days since 1970-01-01, int) and ``value`` (summed net revenue)."""
    d = _purchase_dates(orders, end, start)
    return d.select("customer_id", day=epoch_days("date"), value=nw.col("value"))


def rfm_expr(orders: nw.LazyFrame, calibration_end: TimeLike,
             observation_end: TimeLike | None = None, *,
             dates: PurchaseDates | None = None) -> nw.LazyFrame:
    """The feature table as a lazy frame, times in days (see the module docstring).

    Two aggregations and no window: purchase days per (customer, date), then per customer
    the number of purchase days, the first and last date, the total value and the value of
    the first date; the repeat value is the total minus the first date's value. With
    ``observation_end`` the holdout is counted in the same two aggregations (conditional
    aggregates), without a join. ``dates``: :func:`purchase_dates` before the last of the
    two ends, when the caller holds them (else computed here).
    """
    cal_end = pd.Timestamp(calibration_end)
    if cal_end != cal_end.normalize():
        raise CrmError(f"calibration_end must be a date (midnight), got {cal_end}")
    last_day = _day_number(cal_end) - 1
    obs_end = None
    if observation_end is not None:
        obs_end = pd.Timestamp(observation_end)
        if obs_end != obs_end.normalize() or obs_end <= cal_end:
            raise CrmError("observation_end must be a date after calibration_end "
                           f"{cal_end.date()}, got {obs_end}")
    d = _dates_before(orders, cal_end if obs_end is None else obs_end, dates)
    cal = None if obs_end is None else nw.col("date") < _date(cal_end)

    def where(col: str, cond: nw.Expr | None = cal) -> nw.Expr:
        return nw.col(col) if cond is None else nw.when(cond).then(nw.col(col))

    aggs = {
        "n_days": nw.len() if cal is None else count_true(cal),
        "first": where("date").min(), "last": where("date").max(),
        "total": where("value").sum(), "first_value": _value_at_first_date(cal),
    }
    if cal is not None:
        aggs.update(n_holdout=count_true(~cal), holdout_sum=where("value", ~cal).sum())
    f = d.group_by("customer_id").agg(**aggs)
    if cal is not None:  # customers who only bought in the holdout have no features
        f = f.filter(nw.col("n_days") > 0)
    n_days = nw.col("n_days")
    cols = {
        "frequency": (n_days - 1).cast(nw.Int64),
        "recency": (nw.col("_last_day") - nw.col("_first_day")).cast(nw.Float64),
        "T": (nw.lit(last_day) - nw.col("_first_day")).cast(nw.Float64),
        "monetary_value": nw.when(n_days > 1).then(
            (nw.col("total") - nw.col("first_value")) / (n_days - 1)).otherwise(nw.lit(0.0)),
        "first_purchase_day": nw.col("_first_day").cast(nw.Int64),
    }
    if obs_end is not None:
        n_holdout = nw.col("n_holdout")
        cols.update(
            frequency_holdout=n_holdout.cast(nw.Int64),
            monetary_value_holdout=nw.when(n_holdout > 0).then(
                nw.col("holdout_sum") / n_holdout).otherwise(nw.lit(0.0)),
            duration_holdout=nw.lit(float((obs_end - cal_end).days)),
        )
    f = f.with_columns(_first_day=epoch_days("first"), _last_day=epoch_days("last"))
    return f.select("customer_id", **cols)


def _customer_frame(frame: nw.LazyFrame) -> pd.DataFrame:
    """Collect ``frame`` into a pandas frame indexed by ``customer_id`` as str, sorted.

    String ids are ordered by the engine and come through Arrow (no Python objects, no sort
    in pandas); pandas only checks the order (and sorts if the engine's differs). Other id
    types are converted to str and sorted in pandas (their order as strings differs)."""
    if frame.collect_schema()["customer_id"] == nw.String:
        df = collect(frame.sort("customer_id"))
        if df["customer_id"].dtype != "str":
            df["customer_id"] = df["customer_id"].astype(str)
        df = df.set_index("customer_id")
        if not df.index.is_monotonic_increasing:
            df = df.sort_index()
        return df
    df = collect(frame)
    df["customer_id"] = df["customer_id"].astype(str)
    return df.set_index("customer_id").sort_index()


def rfm_features(orders: nw.LazyFrame, calibration_end: TimeLike,
                 observation_end: TimeLike | None = None, *,
                 unit: Unit = "day", dates: PurchaseDates | None = None) -> pd.DataFrame:
    """Per-customer BTYD features as a pandas frame indexed by ``customer_id`` (sorted).

    Columns: ``frequency`` (int), ``recency``, ``T``, ``monetary_value``,
    ``first_purchase_day`` (days since 1970-01-01) and, with ``observation_end``,
    ``frequency_holdout``, ``monetary_value_holdout``, ``duration_holdout``. ``recency``, ``T``
    and ``duration_holdout`` are in ``unit`` (days or weeks). ``dates``: as in
    :func:`rfm_expr`.
    """
    k = unit_days(unit)
    df = _customer_frame(rfm_expr(orders, calibration_end, observation_end, dates=dates))
    if df.empty:
        raise CrmError(f"no purchase before {pd.Timestamp(calibration_end).date()}: "
                       "nothing to fit the CLV models on")
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


def repeat_purchases_by_day(orders: nw.LazyFrame, start: TimeLike, end: TimeLike,
                            cohort_end: TimeLike, *,
                            dates: PurchaseDates | None = None) -> pd.Series:
    """Repeat purchase days per calendar day in ``[start, end)`` of the customers whose first
    purchase is before ``cohort_end`` (the tracking curve's 'actual'); index = day number.
    ``dates``: :func:`purchase_dates` before ``end``, when the caller holds them."""
    d = _dates_before(orders, end, dates)
    first = d.group_by("customer_id").agg(_first=nw.col("date").min())
    first = first.filter(nw.col("_first") < _date(cohort_end))
    j = d.join(first, on="customer_id", how="inner")
    j = j.filter((nw.col("date") > nw.col("_first")) & (nw.col("date") >= _date(start)))
    s = j.group_by("date").agg(n=nw.len())
    s = collect(s.select(day=epoch_days("date"), n=nw.col("n")))
    days = np.arange(_day_number(start), _day_number(end))
    return s.set_index("day")["n"].reindex(days, fill_value=0).astype("int64")


def behaviour_features(orders: nw.LazyFrame, as_of: TimeLike, *,
                       interactions: nw.LazyFrame | None = None) -> pd.DataFrame:
    """Features of the churn classifier at ``as_of`` (exclusive), per customer with a purchase:
    RFM (days since last/first purchase, purchase days, net revenue, average order value) and
    behaviour (purchases and revenue in the last 30/90 days, discount share, refunded orders,
    unpaid orders, interactions in the last 30 days when that table exists). Index customer_id.

    Two aggregations joined on the customer: the order counts and money per customer over the
    orders, and the purchase days (first, last, count) from the purchase days per customer and
    date (no distinct count, no window).
    """
    end = ts(as_of)
    day_end = _day_number(pd.Timestamp(as_of))
    midnight = pd.Timestamp(as_of).normalize()
    since30, since90 = (ts(midnight - pd.Timedelta(days=n)) for n in (30, 90))
    created = nw.col("created_at")
    buy = nw.col("_buy")
    o = orders.filter(created < end).with_columns(_buy=is_purchase()).select(
        "customer_id", "created_at", "_buy",
        _rev=nw.when(buy).then(net_revenue()).otherwise(nw.lit(0.0)),
        _disc=nw.when(buy).then(
            nw.col("discount").fill_null(0).cast(nw.Float64)).otherwise(nw.lit(0.0)),
        _refunded=(nw.col("refund_amount").fill_null(0) > 0),
        _unpaid=nw.col("paid_at").is_null(),
    )
    money = o.group_by("customer_id").agg(
        purchases=count_true(buy), revenue=nw.col("_rev").sum(), discount=nw.col("_disc").sum(),
        refunded_orders=count_true(nw.col("_refunded")),
        unpaid_orders=count_true(nw.col("_unpaid")),
        purchases_30d=count_true(buy & (created >= since30)),
        purchases_90d=count_true(buy & (created >= since90)),
        revenue_90d=nw.when(created >= since90).then(nw.col("_rev")).otherwise(
            nw.lit(0.0)).sum(),
    )
    money = money.filter(nw.col("purchases") > 0)
    d = _purchase_dates(orders, as_of)
    days = d.group_by("customer_id").agg(
        first_date=nw.col("date").min(), last_date=nw.col("date").max(), purchase_days=nw.len())
    j = money.join(days, on="customer_id", how="inner")
    f = j.select(
        *money.collect_schema().names(), "purchase_days",
        first_day=epoch_days("first_date"), last_day=epoch_days("last_date"))
    if interactions is not None:
        i = interactions.filter(
            in_window("at", pd.Timestamp(as_of) - pd.Timedelta(days=30), as_of))
        i = i.group_by("customer_id").agg(interactions_30d=nw.len())
        f = f.join(i, on="customer_id", how="left")
    df = _customer_frame(f)
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


def future_purchase_flag(orders: nw.LazyFrame, start: TimeLike, end: TimeLike) -> pd.Index:
    """Customers with a purchase in ``[start, end)`` (an index of customer ids)."""
    p = orders.filter(is_purchase() & in_window("created_at", start, end))
    ids = collect(p.select("customer_id").unique())["customer_id"].astype(str)
    return pd.Index(ids)


def data_end(orders: nw.LazyFrame) -> pd.Timestamp:
    """Exclusive end of the order data: midnight after the day of the last order."""
    last = scalar(orders.select(nw.col("created_at").max()))
    if last is None or pd.isna(last):
        raise CrmError("the orders table is empty")
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)
