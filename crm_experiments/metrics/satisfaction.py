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

import narwhals as nw
import numpy as np
import pandas as pd

from crm_experiments.io.engine import collect
from crm_experiments.metrics.orders import TimeLike, count_true, in_window

DSR_DIMENSIONS = ("item", "service", "logistics")
#: Every metric, in display order, with the kind of statistic it is built from.
METRICS = {"refund_rate": "share", "positive_rate": "share", "negative_rate": "share",
           **{f"dsr_{d}": "mean" for d in DSR_DIMENSIONS},
           "csat": "share", "csat_mean": "mean", "nps": "nps"}
COLUMNS = ["group", "metric", "n", "k", "sum", "sumsq", "promoters", "detractors"]


def satisfaction_sums(tables: dict[str, nw.LazyFrame], start: TimeLike, end: TimeLike, *,
                      groups: nw.LazyFrame | None = None) -> pd.DataFrame:
    """Long table: one row per (metric, group), metrics in :data:`METRICS` order and groups
    sorted, with ``n`` and the statistics of the metric's kind (``k`` for a share; ``sum``,
    ``sumsq`` for a mean; ``promoters``, ``detractors`` for NPS; NaN where not used).

    ``tables`` maps table names to lazy frames (``orders`` required; ``reviews`` and
    ``surveys`` used when present). ``groups`` (``customer_id, group``) restricts to those
    customers, per group; reviews without ``customer_id`` are attributed through their order.
    """
    parts: list[pd.DataFrame] = []

    def grouped(t: nw.LazyFrame) -> nw.LazyFrame:
        if groups is None:
            return t.with_columns(group=nw.lit("all"))
        return t.join(groups.select("customer_id", "group"), on="customer_id")

    def add(frame: pd.DataFrame, metric: str, **columns: str) -> None:
        parts.append(pd.DataFrame({"group": frame.index, "metric": metric,
                                   **{k: frame[v].to_numpy() for k, v in columns.items()}}))

    o = tables["orders"]
    paid = o.filter(~nw.col("paid_at").is_null() & in_window("created_at", start, end))
    paid = grouped(paid)
    f = collect(paid.group_by("group").agg(
        nw.len().alias("n"), count_true(nw.col("refund_amount").fill_null(0) > 0).alias("k")
    )).set_index("group").sort_index()
    add(f, "refund_rate", n="n", k="k")

    if "reviews" in tables:
        rv = tables["reviews"]
        columns = rv.collect_schema().names()
        if "customer_id" not in columns or groups is not None:
            rv = rv.drop("customer_id") if "customer_id" in columns else rv
            rv = rv.join(o.select("order_id", "customer_id"), on="order_id")
        if "created_at" in columns:
            rv = rv.filter(in_window("created_at", start, end))
        rv = grouped(rv)
        polarity = nw.col("polarity")
        aggs = [nw.len().alias("n"), count_true(polarity == "positive").alias("pos"),
                count_true(polarity == "negative").alias("neg")]
        for dim in DSR_DIMENSIONS:
            col = nw.col(f"dsr_{dim}").cast(nw.Float64)
            aggs += [col.count().alias(f"{dim}_n"), col.sum().alias(f"{dim}_s"),
                     (col * col).sum().alias(f"{dim}_ss")]
        f = collect(rv.group_by("group").agg(*aggs)).set_index("group").fillna(0)
        f = f.sort_index()
        add(f, "positive_rate", n="n", k="pos")
        add(f, "negative_rate", n="n", k="neg")
        for dim in DSR_DIMENSIONS:
            add(f, f"dsr_{dim}", n=f"{dim}_n", sum=f"{dim}_s", sumsq=f"{dim}_ss")

    if "surveys" in tables:
        sv = tables["surveys"]
        sv = grouped(sv.filter(in_window("answered_at", start, end)))
        score = nw.col("score").cast(nw.Float64)
        scale = nw.col("scale") if "scale" in sv.collect_schema().names() else nw.lit("csat5")
        is_csat, is_nps = scale == "csat5", scale == "nps10"
        f = collect(sv.group_by("group").agg(
            count_true(is_csat).alias("csat_n"),
            count_true(is_csat & (score >= 4)).alias("csat_k"),
            nw.when(is_csat).then(score).otherwise(nw.lit(0.0)).sum().alias("csat_s"),
            nw.when(is_csat).then(score * score).otherwise(nw.lit(0.0)).sum().alias("csat_ss"),
            count_true(is_nps).alias("nps_n"),
            count_true(is_nps & (score >= 9)).alias("pro"),
            count_true(is_nps & (score <= 6)).alias("det"),
        )).set_index("group").fillna(0).sort_index()
        add(f, "csat", n="csat_n", k="csat_k")
        add(f, "csat_mean", n="csat_n", sum="csat_s", sumsq="csat_ss")
        add(f, "nps", n="nps_n", promoters="pro", detractors="det")

    out = pd.concat(parts, ignore_index=True).reindex(columns=COLUMNS)
    return out.astype({"group": str, "metric": str, "n": np.int64,
                       **{c: float for c in COLUMNS[3:]}})
