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
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from crm_experiments.metrics.orders import in_window, net_revenue, purchases

COLUMNS = ("day", "arm", "n", "conv_sum", "rev_sum", "rev_sum_sq")


def daily_arm_moments(orders: ir.Table, assignments: ir.Table, start: dt.date | pd.Timestamp,
                      last_day: dt.date | pd.Timestamp) -> pd.DataFrame:
    """One row per (day, arm), days ``start .. last_day`` inclusive (module docstring).

    ``assignments``: the campaign's rows only (``customer_id``, ``arm``).
    """
    start, last_day = pd.Timestamp(start).normalize(), pd.Timestamp(last_day).normalize()
    days = pd.date_range(start, last_day, freq="D")
    arms = assignments.select("customer_id", "arm").distinct()
    sizes = arms.group_by("arm").aggregate(n=arms.count()).to_pandas()
    if days.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    p = purchases(orders)
    p = p.filter(in_window(p.created_at, start, last_day + pd.Timedelta(days=1)))
    p = p.mutate(_day=p.created_at.truncate("D"), _rev=net_revenue(p))
    per_day = p.group_by("customer_id", "_day").aggregate(rev=p._rev.sum())
    per_day = per_day.join(arms, "customer_id")
    looks = ibis.memtable(pd.DataFrame({"day": days.to_pydatetime()}))
    cum = per_day.cross_join(looks).filter(lambda t: t._day <= t.day)
    cum = cum.group_by("day", "arm", "customer_id").aggregate(y=cum.rev.sum())
    agg = cum.group_by("day", "arm").aggregate(
        conv_sum=cum.count(), rev_sum=cum.y.sum(), rev_sum_sq=(cum.y * cum.y).sum()).to_pandas()
    grid = pd.MultiIndex.from_product([days, sizes["arm"].astype(str)], names=["day", "arm"])
    agg["day"] = pd.to_datetime(agg["day"]).dt.normalize()
    agg["arm"] = agg["arm"].astype(str)
    out = agg.set_index(["day", "arm"]).reindex(grid).reset_index()
    out = out.merge(sizes.assign(arm=sizes["arm"].astype(str)), on="arm", how="left")
    for col in ("conv_sum", "rev_sum", "rev_sum_sq"):
        out[col] = pd.to_numeric(out[col]).fillna(0.0).astype("float64")
    out["n"] = out["n"].astype("int64")
    return out[list(COLUMNS)].sort_values(["day", "arm"], kind="stable").reset_index(drop=True)
