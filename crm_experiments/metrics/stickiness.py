"""Stickiness metrics (黏性指标) of a window ``[start, end)``, optionally per group of customers.

- repeat purchase rate (重复购买率) = buyers with 2+ purchases in the window / buyers.
- active customer ARPU (活跃客户ARPU) = net revenue of the window / buyers (currency per buyer).
- N-day retention (客户保持率) = share of the window's buyers with a purchase in
  ``[end, end + N days)``. Only defined when that follow-up is complete (``end + N <= as_of``);
  otherwise the value is NaN and ``retention_complete`` is False.

``groups`` is an optional table ``customer_id, group`` (an arm, a lifecycle state...); only its
customers are counted, per group. Without it the whole shop is one group ``all``.
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import collect
from crm_experiments.metrics.orders import (
    TimeLike,
    count_true,
    in_window,
    net_revenue,
    purchases,
)


def stickiness(orders: nw.LazyFrame, start: TimeLike, end: TimeLike, *, retention_days: int,
               as_of: TimeLike, groups: nw.LazyFrame | None = None) -> pd.DataFrame:
    """One row per group: buyers, repeat_buyers, repeat_purchase_rate, revenue, arpu,
    retained, retention_rate, retention_days, retention_complete."""
    start, end, as_of = pd.Timestamp(start), pd.Timestamp(end), pd.Timestamp(as_of)
    follow_end = end + pd.Timedelta(days=retention_days)
    complete = follow_end <= as_of
    p = purchases(orders)
    pw = p.filter(in_window("created_at", start, end))
    per = pw.group_by("customer_id").agg(nw.len().alias("n"), net_revenue().sum().alias("rev"))
    later = p.filter(in_window("created_at", end, follow_end)).select("customer_id").unique()
    later = later.with_columns(retained=nw.lit(1, dtype=nw.Int64))
    per = per.join(later, on="customer_id", how="left").select(
        "customer_id", "n", "rev", nw.col("retained").fill_null(0))
    if groups is None:
        per = per.with_columns(group=nw.lit("all"))
    else:
        per = per.join(groups.select("customer_id", "group"), on="customer_id")
    out = collect(per.group_by("group").agg(
        nw.len().alias("buyers"),
        count_true(nw.col("n") >= 2).alias("repeat_buyers"),
        nw.col("rev").sum().alias("revenue"),
        nw.col("retained").sum().cast(nw.Int64).alias("retained"),
    )).set_index("group").sort_index()
    out["repeat_purchase_rate"] = out["repeat_buyers"] / out["buyers"]
    out["arpu"] = out["revenue"] / out["buyers"]
    out["retention_rate"] = out["retained"] / out["buyers"] if complete else float("nan")
    if not complete:
        out["retained"] = pd.NA
    out["retention_days"] = retention_days
    out["retention_complete"] = complete
    return out
