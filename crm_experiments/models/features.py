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

Speed: every function is engine-agnostic Ibis without window functions (one aggregation per
customer and date, one per customer); the frames come back through Arrow already ordered by
the engine. On DuckDB the value of a customer's first day uses DuckDB's ``arg_min`` (see
:data:`FAST_PATHS`); elsewhere Ibis' ``argmin`` (PySpark: ``min_by``).
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from crm_experiments.errors import CrmError
from crm_experiments.metrics.orders import TimeLike, is_purchase, net_revenue, ts

Unit = Literal["day", "week"]
UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0}
_EPOCH = ibis.date("1970-01-01")

#: Use backend-specific fast paths where there is one (DuckDB: its ``arg_min`` aggregate).
#: The generic Ibis expressions give the same results; tests switch this off to check them.
FAST_PATHS = True


@ibis.udf.agg.builtin(name="arg_min")
def _duckdb_arg_min(arg: dt.float64, key: dt.date) -> dt.float64:  # pragma: no cover - stub
    """DuckDB's ``arg_min``: Ibis' generic ``argmin`` compiles to an ordered ``first(... ORDER
    BY ...)`` there, which sorts every group and is several times slower."""


def _fast_duckdb(expr: ir.Expr) -> bool:
    if not FAST_PATHS:
        return False
    try:
        return ibis.get_backend(expr).name == "duckdb"
    except Exception:  # noqa: BLE001 - no backend to ask: the generic path is always right
        return False


def _value_at_first_date(d: ir.Table, where: ir.BooleanValue | None = None) -> ir.FloatingScalar:
    """``value`` of the row with the smallest ``date`` (per group; dates are unique there)."""
    if _fast_duckdb(d):
        return _duckdb_arg_min(d.value, d.date, where=where)
    return d.value.argmin(d.date, where=where)


def unit_days(unit: str) -> float:
    """Days in one time unit; an unknown unit is an error."""
    try:
        return UNIT_DAYS[unit]
    except KeyError:
        raise CrmError(f"unknown time unit {unit!r}; use one of {', '.join(UNIT_DAYS)}") from None


def _day_number(t: pd.Timestamp) -> int:
    return int((pd.Timestamp(t).normalize() - pd.Timestamp("1970-01-01")).days)


def _days_since_epoch(date: ir.DateValue) -> ir.IntegerValue:
    return date.delta(_EPOCH, unit="day")


def _purchase_dates(orders: ir.Table, end: TimeLike, start: TimeLike | None = None) -> ir.Table:
    """One row per customer and purchase day in ``[start, end)``: ``customer_id``, ``date`` (the
    calendar date) and ``value`` (summed net revenue). Grouping on the date (not the day number)
    keeps the per-order work to one cast; day numbers are computed on the (fewer) results."""
    cond = is_purchase(orders) & (orders.created_at < ts(end))
    if start is not None:
        cond = cond & (orders.created_at >= ts(start))
    p = orders.filter(cond)
    p = p.select("customer_id", date=p.created_at.date(), _v=net_revenue(p))
    return p.group_by(["customer_id", "date"]).aggregate(value=p._v.sum())


def purchase_days(orders: ir.Table, end: TimeLike, start: TimeLike | None = None) -> ir.Table:
    """One row per customer and purchase day before ``end`` (and from ``start``):
    ``customer_id``, ``day`` (days since 1970-01-01, int) and ``value`` (summed net revenue)."""
    d = _purchase_dates(orders, end, start)
    return d.select("customer_id", day=_days_since_epoch(d.date), value=d.value)


def rfm_expr(orders: ir.Table, calibration_end: TimeLike,
             observation_end: TimeLike | None = None) -> ir.Table:
    """The feature table as an Ibis expression, times in days (see the module docstring).

    Two aggregations and no window: purchase days per (customer, date), then per customer
    the number of purchase days, the first and last date, the total value and the value of
    the first date; the repeat value is the total minus the first date's value. With
    ``observation_end`` the holdout is counted in the same two aggregations (filtered
    aggregates), without a join.
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
    d = _purchase_dates(orders, cal_end if obs_end is None else obs_end)
    cal = None if obs_end is None else d.date < ibis.date(cal_end.date())
    aggs = {
        "n_days": d.count(where=cal), "first": d.date.min(where=cal),
        "last": d.date.max(where=cal), "total": d.value.sum(where=cal),
        "first_value": _value_at_first_date(d, where=cal),
    }
    if cal is not None:
        aggs.update(n_holdout=d.count(where=~cal), holdout_sum=d.value.sum(where=~cal))
    f = d.group_by("customer_id").aggregate(**aggs)
    if cal is not None:  # customers who only bought in the holdout have no features
        f = f.filter(f.n_days > 0)
    first_day = _days_since_epoch(f["first"])
    cols = {
        "frequency": (f.n_days - 1).cast("int64"),
        "recency": f["last"].delta(f["first"], unit="day").cast("float64"),
        "T": (ibis.literal(last_day) - first_day).cast("float64"),
        "monetary_value": ibis.cases(
            (f.n_days > 1, (f.total - f.first_value) / (f.n_days - 1)), else_=0.0),
        "first_purchase_day": first_day.cast("int64"),
    }
    if obs_end is not None:
        cols.update(
            frequency_holdout=f.n_holdout.cast("int64"),
            monetary_value_holdout=ibis.cases(
                (f.n_holdout > 0, f.holdout_sum / f.n_holdout), else_=0.0),
            duration_holdout=ibis.literal(float((obs_end - cal_end).days)),
        )
    return f.select("customer_id", **cols)


def _customer_frame(expr: ir.Table) -> pd.DataFrame:
    """Execute ``expr`` into a pandas frame indexed by ``customer_id`` as str, sorted.

    String ids are ordered by the engine and come through Arrow (no Python objects, no sort
    in pandas); pandas only checks the order (and sorts if the engine's differs). Other id
    types are converted to str and sorted in pandas (their order as strings differs)."""
    if expr.customer_id.type().is_string():
        df = expr.order_by("customer_id").to_pyarrow().to_pandas()
        if df["customer_id"].dtype != "str":
            df["customer_id"] = df["customer_id"].astype(str)
        df = df.set_index("customer_id")
        if not df.index.is_monotonic_increasing:
            df = df.sort_index()
        return df
    df = expr.to_pandas()
    df["customer_id"] = df["customer_id"].astype(str)
    return df.set_index("customer_id").sort_index()


def rfm_features(orders: ir.Table, calibration_end: TimeLike,
                 observation_end: TimeLike | None = None, *, unit: Unit = "day") -> pd.DataFrame:
    """Per-customer BTYD features as a pandas frame indexed by ``customer_id`` (sorted).

    Columns: ``frequency`` (int), ``recency``, ``T``, ``monetary_value``,
    ``first_purchase_day`` (days since 1970-01-01) and, with ``observation_end``,
    ``frequency_holdout``, ``monetary_value_holdout``, ``duration_holdout``. ``recency``, ``T``
    and ``duration_holdout`` are in ``unit`` (days or weeks).
    """
    k = unit_days(unit)
    df = _customer_frame(rfm_expr(orders, calibration_end, observation_end))
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


def repeat_purchases_by_day(orders: ir.Table, start: TimeLike, end: TimeLike,
                            cohort_end: TimeLike) -> pd.Series:
    """Repeat purchase days per calendar day in ``[start, end)`` of the customers whose first
    purchase is before ``cohort_end`` (the tracking curve's 'actual'); index = day number."""
    d = _purchase_dates(orders, end)
    first = d.group_by("customer_id").aggregate(first=d.date.min())
    first = first.filter(first["first"] < ibis.date(pd.Timestamp(cohort_end).date()))
    j = d.inner_join(first, "customer_id")
    j = j.filter((j.date > j["first"]) & (j.date >= ibis.date(pd.Timestamp(start).date())))
    s = j.group_by("date").aggregate(n=j.count())
    s = s.select(day=_days_since_epoch(s.date), n=s.n).to_pandas()
    days = np.arange(_day_number(start), _day_number(end))
    return s.set_index("day")["n"].reindex(days, fill_value=0).astype("int64")


def behaviour_features(orders: ir.Table, as_of: TimeLike, *,
                       interactions: ir.Table | None = None) -> pd.DataFrame:
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
    o = orders.filter(orders.created_at < end)
    buy = is_purchase(o)
    o = o.select(
        "customer_id", "created_at", _buy=buy,
        _rev=ibis.cases((buy, net_revenue(o)), else_=0.0),
        _disc=ibis.cases((buy, o.discount.fill_null(0).cast("float64")), else_=0.0),
        _refunded=(o.refund_amount.fill_null(0) > 0).cast("int64"),
        _unpaid=o.paid_at.isnull().cast("int64"),
    )
    money = o.group_by("customer_id").aggregate(
        purchases=o._buy.cast("int64").sum(), revenue=o._rev.sum(), discount=o._disc.sum(),
        refunded_orders=o._refunded.sum(), unpaid_orders=o._unpaid.sum(),
        purchases_30d=(o._buy & (o.created_at >= since30)).cast("int64").sum(),
        purchases_90d=(o._buy & (o.created_at >= since90)).cast("int64").sum(),
        revenue_90d=ibis.cases((o.created_at >= since90, o._rev), else_=0.0).sum(),
    )
    money = money.filter(money.purchases > 0)
    d = _purchase_dates(orders, as_of)
    days = d.group_by("customer_id").aggregate(
        first_date=d.date.min(), last_date=d.date.max(), purchase_days=d.count())
    j = money.inner_join(days, "customer_id")
    f = j.select(
        *[j[c] for c in money.columns], purchase_days=j.purchase_days,
        first_day=_days_since_epoch(j.first_date), last_day=_days_since_epoch(j.last_date))
    if interactions is not None:
        since = ts(pd.Timestamp(as_of) - pd.Timedelta(days=30))
        i = interactions.filter((interactions.at < end) & (interactions.at >= since))
        i = i.group_by("customer_id").aggregate(interactions_30d=i.count())
        f = f.left_join(i, "customer_id").select(f, i.interactions_30d)
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
