"""Satisfaction over a window ``[start, end)``: DSR scores, review polarity, refunds, surveys.

==================  ===========================================================================
metric              definition (rows created / answered in the window)
==================  ===========================================================================
dsr_<dim>           mean of the 1-5 score of dimension ``item`` (描述相符), ``service`` (服务态度),
                    ``logistics`` (物流服务); 95% t interval ``mean ± t(n-1) · sd / sqrt(n)``
positive_rate       reviews with polarity ``positive`` / reviews (Wilson interval)
negative_rate       reviews with polarity ``negative`` / reviews (Wilson interval)
refund_rate         paid orders with ``refund_amount > 0`` / paid orders (Wilson interval)
csat                share of ``csat5`` answers scoring 4 or 5 (Wilson interval); ``csat_mean``
                    the mean score
nps                 % promoters (9-10) - % detractors (0-6) of ``nps10`` answers, in points
                    (-100..100); interval from the multinomial variance
                    ``(p_pro + p_det - (p_pro - p_det)^2) / n``
==================  ===========================================================================

The sums are computed in the engine; the intervals come from scipy/statsmodels.
"""

from __future__ import annotations

import math

import ibis
import ibis.expr.types as ir
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from crm_experiments.metrics.orders import TimeLike, in_window

DSR_DIMENSIONS = ("item", "service", "logistics")


def _mean_interval(n: float, s: float, ss: float, alpha: float) -> tuple[float, float, float]:
    if not n:
        return (math.nan,) * 3
    mean = s / n
    if n < 2:
        return mean, math.nan, math.nan
    var = max((ss - n * mean**2) / (n - 1), 0.0)
    half = stats.t.ppf(1 - alpha / 2, n - 1) * math.sqrt(var / n)
    return mean, mean - half, mean + half


def _share(k: float, n: float, alpha: float) -> tuple[float, float, float]:
    if not n:
        return (math.nan,) * 3
    lo, hi = proportion_confint(int(k), int(n), alpha=alpha, method="wilson")
    return k / n, float(lo), float(hi)


def satisfaction(tables: dict[str, ir.Table], start: TimeLike, end: TimeLike, *,
                 alpha: float = 0.05, groups: ir.Table | None = None) -> pd.DataFrame:
    """Long table: one row per (group, metric) with ``value, ci_low, ci_high, n``.

    ``tables`` maps table names to Ibis tables (``orders`` required; ``reviews`` and
    ``surveys`` used when present). ``groups`` (``customer_id, group``) restricts to those
    customers, per group; reviews without ``customer_id`` are attributed through their order.
    """
    rows: list[dict] = []

    def grouped(t: ir.Table) -> ir.Table:
        if groups is None:
            return t.mutate(group=ibis.literal("all"))
        return t.join(groups.select("customer_id", "group"), "customer_id")

    def add(frame: pd.DataFrame, metric: str, fn) -> None:
        for group, r in frame.iterrows():
            value, lo, hi = fn(r)
            rows.append({"group": group, "metric": metric, "value": value, "ci_low": lo,
                         "ci_high": hi, "n": int(r["n"])})

    o = tables["orders"]
    paid = o.filter(o.paid_at.notnull() & in_window(o.created_at, start, end))
    paid = grouped(paid)
    f = paid.group_by("group").aggregate(
        n=paid.count(), k=(paid.refund_amount.fill_null(0) > 0).cast("int64").sum()
    ).to_pandas().set_index("group")
    add(f, "refund_rate", lambda r: _share(r["k"], r["n"], alpha))

    if "reviews" in tables:
        rv = tables["reviews"]
        if "customer_id" not in rv.columns or groups is not None:
            rv = rv.drop("customer_id") if "customer_id" in rv.columns else rv
            rv = rv.join(o.select("order_id", "customer_id"), "order_id")
        when = rv.created_at if "created_at" in rv.columns else None
        if when is not None:
            rv = rv.filter(in_window(when, start, end))
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
        add(f, "positive_rate", lambda r: _share(r["pos"], r["n"], alpha))
        add(f, "negative_rate", lambda r: _share(r["neg"], r["n"], alpha))
        for dim in DSR_DIMENSIONS:
            g = f.assign(n=f[f"{dim}_n"])
            add(g, f"dsr_{dim}", lambda r, d=dim: _mean_interval(
                r[f"{d}_n"], r[f"{d}_s"], r[f"{d}_ss"], alpha))

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
        ).to_pandas().set_index("group").fillna(0)
        add(f.assign(n=f["csat_n"]), "csat", lambda r: _share(r["csat_k"], r["csat_n"], alpha))
        add(f.assign(n=f["csat_n"]), "csat_mean",
            lambda r: _mean_interval(r["csat_n"], r["csat_s"], r["csat_ss"], alpha))
        add(f.assign(n=f["nps_n"]), "nps", lambda r: _nps(r["pro"], r["det"], r["nps_n"], alpha))
    return pd.DataFrame(rows, columns=["group", "metric", "value", "ci_low", "ci_high", "n"])


def _nps(pro: float, det: float, n: float, alpha: float) -> tuple[float, float, float]:
    if not n:
        return (math.nan,) * 3
    p, d = pro / n, det / n
    value = p - d
    se = math.sqrt(max(p + d - value**2, 0.0) / n)
    z = stats.norm.ppf(1 - alpha / 2)
    return 100 * value, 100 * (value - z * se), 100 * (value + z * se)
