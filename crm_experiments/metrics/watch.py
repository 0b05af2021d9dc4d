"""Per-arm cumulative sufficient statistics for the daily watch of a running sale.

For each day ``d`` from the sale start to the last watched day, and each arm, over ALL customers
assigned to the arm (a customer without a purchase counts with 0):

* ``n``: customers assigned to the arm;
* ``conv_sum`` (= ``conv_sum_sq``): customers with a purchase created in ``[sale start, d + 1)``;
* ``rev_sum`` / ``rev_sum_sq``: ``Σ y`` and ``Σ y²`` of ``y`` = a customer's net revenue
  (currency) of the purchases created in ``[sale start, d + 1)``.

The statistics are cumulative (everything up to and including day ``d``), as
:func:`crm_experiments.stats.sequential.confidence_sequence` expects; computed in the engine,
only one row per (day, arm) comes back.

:func:`daily_cross_sums` adds, per arm and pair of days ``j <= k``, ``rev_cross = Σ_i y_ij y_ik``
(currency²) with ``y_ij`` customer ``i``'s cumulative net revenue through day ``j``: what the
group-sequential boundary (:mod:`crm_experiments.stats.group_sequential`) needs for the
covariance of the looks. (For conversion no extra sums are needed: a customer who bought by
day ``j`` has bought by day ``k >= j``, so ``Σ_i c_ij c_ik = conv_sum`` of day ``j``.)
"""

from __future__ import annotations

import datetime as dt

import narwhals as nw
import numpy as np
import pandas as pd

from crm_experiments.io.engine import Engine, collect, engine_of
from crm_experiments.metrics.orders import in_window, net_revenue, purchases

COLUMNS = ("day", "arm", "n", "conv_sum", "rev_sum", "rev_sum_sq")
CROSS_COLUMNS = ("arm", "day_j", "day_k", "rev_cross")


def customer_day_revenue(orders: nw.LazyFrame, arms: nw.LazyFrame, start: pd.Timestamp,
                         last_day: pd.Timestamp) -> nw.LazyFrame:
    """Net revenue ``rev`` per (assigned customer, ``arm``, day of purchase ``_day``) in
    ``[start, last_day + 1)``; ``arms``: ``customer_id``, ``arm`` (one row per customer).
    (Per customer, so not for pages: the simulations of ``bench/bench_sequential.py``.)"""
    p = purchases(orders)
    p = p.filter(in_window("created_at", start, last_day + pd.Timedelta(days=1)))
    p = p.with_columns(_day=nw.col("created_at").dt.truncate("1d"), _rev=net_revenue())
    per_day = p.group_by("customer_id", "_day").agg(nw.col("_rev").sum().alias("rev"))
    return per_day.join(arms, on="customer_id", how="inner")


def daily_arm_moments(orders: nw.LazyFrame, assignments: nw.LazyFrame,
                      start: dt.date | pd.Timestamp, last_day: dt.date | pd.Timestamp, *,
                      engine: Engine | None = None) -> pd.DataFrame:
    """One row per (day, arm), days ``start .. last_day`` inclusive (module docstring).

    ``assignments``: the campaign's rows only (``customer_id``, ``arm``); ``engine``: the
    engine of ``orders`` (the days to look at are a small table put next to them; default:
    :func:`~crm_experiments.io.engine.engine_of` ``orders``).
    """
    start, last_day = pd.Timestamp(start).normalize(), pd.Timestamp(last_day).normalize()
    days = pd.date_range(start, last_day, freq="D")
    arms = assignments.select("customer_id", "arm").unique()
    sizes = collect(arms.group_by("arm").agg(nw.len().alias("n")))
    if days.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    per_day = customer_day_revenue(orders, arms, start, last_day)
    engine = engine or engine_of(orders)
    looks = engine.from_pandas(pd.DataFrame({"day": days.astype("datetime64[us]")}))
    cum = per_day.join(looks, how="cross").filter(nw.col("_day") <= nw.col("day"))
    cum = cum.group_by("day", "arm", "customer_id").agg(nw.col("rev").sum().alias("y"))
    y = nw.col("y")
    agg = collect(cum.group_by("day", "arm").agg(
        nw.len().alias("conv_sum"), y.sum().alias("rev_sum"), (y * y).sum().alias("rev_sum_sq")))
    grid = pd.MultiIndex.from_product([days, sizes["arm"].astype(str)], names=["day", "arm"])
    agg["day"] = pd.to_datetime(agg["day"]).dt.normalize().astype(days.dtype)
    agg["arm"] = agg["arm"].astype(str)
    out = agg.set_index(["day", "arm"]).reindex(grid).reset_index()
    out = out.merge(sizes.assign(arm=sizes["arm"].astype(str)), on="arm", how="left")
    for col in ("conv_sum", "rev_sum", "rev_sum_sq"):
        out[col] = pd.to_numeric(out[col]).fillna(0.0).astype("float64")
    out["n"] = out["n"].astype("int64")
    return out[list(COLUMNS)].sort_values(["day", "arm"], kind="stable").reset_index(drop=True)


def daily_cross_sums(orders: nw.LazyFrame, assignments: nw.LazyFrame,
                     start: dt.date | pd.Timestamp,
                     last_day: dt.date | pd.Timestamp) -> pd.DataFrame:
    """One row per (arm, ``day_j <= day_k``) of ``start .. last_day``: ``rev_cross`` =
    ``Σ_i y_ij y_ik`` over the arm's assigned customers (module docstring).

    The engine multiplies the daily revenues of each customer's pairs of purchase days and
    sums them per (arm, day, day) (at most days² rows per arm come back); the cumulative sums
    are then the two-way running sums of that small matrix.
    """
    start, last_day = pd.Timestamp(start).normalize(), pd.Timestamp(last_day).normalize()
    days = pd.date_range(start, last_day, freq="D")
    arms = assignments.select("customer_id", "arm").unique()
    names = sorted(collect(arms.select("arm").unique())["arm"].astype(str))
    if days.empty:
        return pd.DataFrame(columns=list(CROSS_COLUMNS))
    a = customer_day_revenue(orders, arms, start, last_day)
    b = a.select("customer_id", nw.col("_day").alias("_day2"), nw.col("rev").alias("rev2"))
    pairs = a.join(b, on="customer_id", how="inner")
    agg = collect(pairs.group_by("arm", "_day", "_day2")
                  .agg((nw.col("rev") * nw.col("rev2")).sum().alias("s")))
    agg["arm"] = agg["arm"].astype(str)
    pos = {d: i for i, d in enumerate(days)}
    rows = []
    upper = np.triu_indices(len(days))
    for arm in names:
        m = np.zeros((len(days), len(days)))
        sub = agg[agg["arm"] == arm]
        j = pd.to_datetime(sub["_day"]).dt.normalize().map(pos).to_numpy(int)
        k = pd.to_datetime(sub["_day2"]).dt.normalize().map(pos).to_numpy(int)
        np.add.at(m, (j, k), pd.to_numeric(sub["s"]).to_numpy(float))
        cum = m.cumsum(axis=0).cumsum(axis=1)
        rows.append(pd.DataFrame({"arm": arm, "day_j": days[upper[0]], "day_k": days[upper[1]],
                                  "rev_cross": cum[upper]}))
    return pd.concat(rows, ignore_index=True)[list(CROSS_COLUMNS)]
