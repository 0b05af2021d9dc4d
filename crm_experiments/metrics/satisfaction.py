"""Satisfaction over a window ``[start, end)``: the counts and sums behind DSR scores, review
polarity, refunds and surveys, computed in the engine.

==================  ===========================================================================
metric (kind)       statistics per group (rows created / answered in the window)
==================  ===========================================================================
refund_rate (share) ``k`` paid orders with ``refund_amount > 0`` of ``n`` paid orders
positive_rate       ``k`` reviews with polarity ``positive`` of ``n`` reviews
negative_rate       ``k`` reviews with polarity ``negative`` of ``n`` reviews
dsr_<dim> (mean)    ``n`` scores of dimension ``item`` (描述相符), ``service`` (服务态度) or
                    ``logistics`` (物流服务) (1-5, missing scores left out), their ``sum`` and
                    ``sumsq`` (sum of squares)
csat (share)        ``k`` ``csat5`` answers scoring 4 or 5 of ``n`` ``csat5`` answers
csat_mean (mean)    ``n``, ``sum``, ``sumsq`` of the ``csat5`` scores
nps (nps)           ``promoters`` (9-10) and ``detractors`` (0-6) of ``n`` ``nps10`` answers
==================  ===========================================================================

Estimates and intervals are inference: :mod:`crm_experiments.stats.rates` (shares, NPS) and
:mod:`crm_experiments.stats.means` (means) turn these rows into them.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from crm_experiments.metrics.orders import TimeLike, in_window

DSR_DIMENSIONS = ("item", "service", "logistics")
#: Every metric, in display order, with the kind of statistic it is built from.
METRICS = {"refund_rate": "share", "positive_rate": "share", "negative_rate": "share",
           **{f"dsr_{d}": "mean" for d in DSR_DIMENSIONS},
           "csat": "share", "csat_mean": "mean", "nps": "nps"}
COLUMNS = ["group", "metric", "n", "k", "sum", "sumsq", "promoters", "detractors"]


def satisfaction_sums(tables: dict[str, ir.Table], start: TimeLike, end: TimeLike, *,
                      groups: ir.Table | None = None) -> pd.DataFrame:
    """Long table: one row per (metric, group), metrics in :data:`METRICS` order and groups
    sorted, with ``n`` and the statistics of the metric's kind (``k`` for a share; ``sum``,
    ``sumsq`` for a mean; ``promoters``, ``detractors`` for NPS; NaN where not used).

    ``tables`` maps table names to Ibis tables (``orders`` required; ``reviews`` and
    ``surveys`` used when present). ``groups`` (``customer_id, group``) restricts to those
    customers, per group; reviews without ``customer_id`` are attributed through their order.
    """
    parts: list[pd.DataFrame] = []

    def grouped(t: ir.Table) -> ir.Table:
        if groups is None:
            return t.mutate(group=ibis.literal("all"))
        return t.join(groups.select("customer_id", "group"), "customer_id")

    def add(frame: pd.DataFrame, metric: str, **columns: str) -> None:
        parts.append(pd.DataFrame({"group": frame.index, "metric": metric,
                                   **{k: frame[v].to_numpy() for k, v in columns.items()}}))

    o = tables["orders"]
    paid = o.filter(o.paid_at.notnull() & in_window(o.created_at, start, end))
    paid = grouped(paid)
    f = paid.group_by("group").aggregate(
        n=paid.count(), k=(paid.refund_amount.fill_null(0) > 0).cast("int64").sum()
    ).to_pandas().set_index("group").sort_index()
    add(f, "refund_rate", n="n", k="k")

    if "reviews" in tables:
        rv = tables["reviews"]
        if "customer_id" not in rv.columns or groups is not None:
            rv = rv.drop("customer_id") if "customer_id" in rv.columns else rv
            rv = rv.join(o.select("order_id", "customer_id"), "order_id")
        if "created_at" in rv.columns:
            rv = rv.filter(in_window(rv.created_at, start, end))
        rv = grouped(rv)
        aggs = {"n": rv.count(),
                "pos": (rv.polarity == "positive").cast("int64").sum(),
                "neg": (rv.polarity == "negative").cast("int64").sum()}
        for dim in DSR_DIMENSIONS:
            col = rv[f"dsr_{dim}"].cast("float64")
            aggs[f"{dim}_n"] = col.count()
            aggs[f"{dim}_s"] = col.sum()
            aggs[f"{dim}_ss"] = (col * col).sum()
        f = rv.group_by("group").aggregate(**aggs).to_pandas().set_index("group").fillna(0)
        f = f.sort_index()
        add(f, "positive_rate", n="n", k="pos")
        add(f, "negative_rate", n="n", k="neg")
        for dim in DSR_DIMENSIONS:
            add(f, f"dsr_{dim}", n=f"{dim}_n", sum=f"{dim}_s", sumsq=f"{dim}_ss")

    if "surveys" in tables:
        sv = tables["surveys"]
        sv = grouped(sv.filter(in_window(sv.answered_at, start, end)))
        score = sv.score.cast("float64")
        scale = sv.scale if "scale" in sv.columns else ibis.literal("csat5")
        is_csat, is_nps = scale == "csat5", scale == "nps10"
        f = sv.group_by("group").aggregate(
            csat_n=is_csat.cast("int64").sum(),
            csat_k=(is_csat & (score >= 4)).cast("int64").sum(),
            csat_s=ibis.ifelse(is_csat, score, 0.0).sum(),
            csat_ss=ibis.ifelse(is_csat, score * score, 0.0).sum(),
            nps_n=is_nps.cast("int64").sum(),
            pro=(is_nps & (score >= 9)).cast("int64").sum(),
            det=(is_nps & (score <= 6)).cast("int64").sum(),
        ).to_pandas().set_index("group").fillna(0).sort_index()
        add(f, "csat", n="csat_n", k="csat_k")
        add(f, "csat_mean", n="csat_n", sum="csat_s", sumsq="csat_ss")
        add(f, "nps", n="nps_n", promoters="pro", detractors="det")

    out = pd.concat(parts, ignore_index=True).reindex(columns=COLUMNS)
    return out.astype({"group": str, "metric": str, "n": np.int64,
                       **{c: float for c in COLUMNS[3:]}})
