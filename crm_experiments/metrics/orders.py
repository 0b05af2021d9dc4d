"""Order-level building blocks shared by every metric: what counts as a purchase, and money.

A **purchase** is a paid order (``paid_at`` not null) that was not fully refunded
(``refund_amount`` is 0/null or below ``amount``). Its **net revenue** is
``amount - refund_amount`` (currency units). Its **gross profit** is
``k * (amount - (1 - m) * (amount + discount))`` with ``k = (amount - refund_amount) / amount``
the share of goods kept and ``m`` the gross margin on list price (``amount + discount``), so
coupon discounts are paid for out of the margin.

A **repeat purchase**, in every metric of this package (lifecycle states' "2+ purchases",
the repeat purchase rate, retention, cohorts' repurchase, reactivation), is a second purchase
*order*: two orders on the same day count twice. Only the BTYD models of
:mod:`crm_experiments.models` count purchase *days* (several orders on one day are one
transaction, the convention of Fader & Hardie's models and of ``lifetimes``); their features
say so where they are built (:mod:`crm_experiments.models.features`).

All functions take and return Narwhals lazy frames and expressions
(:mod:`crm_experiments.io.engine`); nothing is computed until a caller collects.
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

# one definition for the data checks (io) and the metrics, re-exported to the metrics here
from crm_experiments.io.expr import TimeLike, count_true, in_window, ts  # noqa: F401

#: Days from 0001-01-01 to 1970-01-01 (proleptic Gregorian calendar).
_DAYS_TO_1970 = 719_162


def epoch_days(column: str | nw.Expr) -> nw.Expr:
    """Days from 1970-01-01 to the day of a naive timestamp or date column, int64, from the
    calendar fields in integer arithmetic (neither DuckDB nor Spark has a Narwhals spelling of
    date differences): with y = year - 1, days = 365 y + y // 4 - y // 100 + y // 400 + day of
    year - 1 - 719162 (the days from 0001-01-01 to 1970-01-01, proleptic Gregorian)."""
    c = nw.col(column) if isinstance(column, str) else column
    y = c.dt.year().cast(nw.Int64) - 1
    return (y * 365 + y // 4 - y // 100 + y // 400 + c.dt.ordinal_day().cast(nw.Int64)
            - (1 + _DAYS_TO_1970))


def epoch_seconds(column: str | nw.Expr) -> nw.Expr:
    """Seconds since 1970-01-01 00:00 of a naive timestamp, float64: its microseconds / 10**6
    (what DuckDB's ``epoch()`` and so Ibis's ``epoch_seconds`` gave, fractions kept). Built
    from the calendar fields, which every engine has (Narwhals turns no duration into a
    number on Spark): :func:`epoch_days` and the time of day."""
    c = nw.col(column) if isinstance(column, str) else column
    micros = epoch_days(c) * 86_400_000_000 + micros_of_day(c)
    return micros.cast(nw.Float64) / 1e6


def micros_of_day(column: str | nw.Expr) -> nw.Expr:
    """Microseconds since midnight of a naive timestamp, int64, from its calendar fields."""
    c = nw.col(column) if isinstance(column, str) else column
    return (c.dt.hour().cast(nw.Int64) * 3_600_000_000 + c.dt.minute().cast(nw.Int64) * 60_000_000
            + c.dt.second().cast(nw.Int64) * 1_000_000 + c.dt.microsecond().cast(nw.Int64))


def epoch_seconds_of(value: TimeLike) -> float:
    """:func:`epoch_seconds` of a Python time (the same float, computed here)."""
    micros = (pd.Timestamp(value) - pd.Timestamp(0)) // pd.Timedelta(microseconds=1)
    return float(micros) / 1e6


def is_purchase() -> nw.Expr:
    """Paid and not fully refunded."""
    refund = nw.col("refund_amount").fill_null(0)
    return ~nw.col("paid_at").is_null() & ((refund <= 0) | (refund < nw.col("amount")))


def purchases(orders: nw.LazyFrame) -> nw.LazyFrame:
    """Orders that count as purchases (see module docstring)."""
    return orders.filter(is_purchase())


def net_revenue() -> nw.Expr:
    """``amount - refund_amount`` per order (currency units)."""
    return (nw.col("amount") - nw.col("refund_amount").fill_null(0)).cast(nw.Float64)


def gross_profit(gross_margin: float) -> nw.Expr:
    """``k * (amount - (1 - m) * (amount + discount))``, ``k`` = kept share (see module doc)."""
    amount = nw.col("amount")
    refund = nw.col("refund_amount").fill_null(0)
    kept = nw.when(amount > 0).then((amount - refund) / amount).otherwise(nw.lit(1.0))
    list_price = amount + nw.col("discount").fill_null(0)
    return (kept * (amount - (1 - gross_margin) * list_price)).cast(nw.Float64)


def customer_window_outcomes(orders: nw.LazyFrame, start: TimeLike, end: TimeLike,
                             gross_margin: float) -> nw.LazyFrame:
    """Per customer with a purchase created in ``[start, end)``: outcomes of the window.

    Columns: ``customer_id``, ``orders`` (purchases), ``revenue`` (net revenue),
    ``gross_profit``, ``discount`` (sum of discounts on those purchases).
    Customers without a purchase are absent; join and fill with 0.
    """
    p = purchases(orders).filter(in_window("created_at", start, end))
    p = p.with_columns(_rev=net_revenue(), _gp=gross_profit(gross_margin),
                       _disc=nw.col("discount").fill_null(0).cast(nw.Float64))
    return p.group_by("customer_id").agg(
        nw.len().alias("orders"), exact_sum("_rev").alias("revenue"),
        exact_sum("_gp").alias("gross_profit"), exact_sum("_disc").alias("discount"),
    )


#: Money is summed as decimals with this many places (see :func:`exact_sum`).
MONEY_SCALE = 6


def exact_sum(money: str | nw.Expr) -> nw.Expr:
    """Sum of a money column that is the same in every run: each value is rounded to
    ``10**-MONEY_SCALE`` currency units and summed as a decimal (integer arithmetic), then
    returned as float64. A float sum depends on the order in which the engine's threads add
    their parts: on 1M customers about 5% of the per-customer sums differed in their last bits
    between two runs on the same data, enough to move the uplift models fitted on them."""
    c = nw.col(money) if isinstance(money, str) else money
    return c.cast(nw.Decimal(18, MONEY_SCALE)).sum().cast(nw.Float64)

