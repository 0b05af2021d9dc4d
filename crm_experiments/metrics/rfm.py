"""RFM scores and segments, and member tiers by cumulative spend (domain.md section 4).

**RFM** at reference date ``d`` over purchases in ``[d - lookback, d)``:
recency = days from the last purchase to ``d``; frequency = purchases; monetary = net revenue.
Each is scored 1..``bins`` by quantile: ``score = 1 + floor(bins * percent_rank)`` (capped at
``bins``), with recency ranked descending so that recent buyers score high. Ties share a score,
so a heavily tied value (most customers buy once) does not get split across bins at random.

**Tiers**: the customer's cumulative net revenue of purchases before ``d`` against ascending
thresholds; the highest threshold reached names the tier.
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import collect
from crm_experiments.metrics.orders import (
    TimeLike,
    epoch_seconds,
    epoch_seconds_of,
    in_window,
    net_revenue,
    purchases,
    ts,
)

# Two practised schemes (currency units of cumulative spend). The first is from domain.md;
# the metal scheme's thresholds are our defaults: set your own in params.
TIER_SCHEMES: dict[str, dict[str, float]] = {
    "classic": {"regular": 0, "senior": 500, "vip": 3000, "supreme_vip": 8000},
    "metal": {"regular": 0, "silver": 1000, "gold": 3000, "platinum": 6000, "diamond": 10000},
}

# Named segments on the 1-5 scale of R and F (first matching rule wins).
RFM_SEGMENTS: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("champions", (4, 5), (4, 5)),
    ("loyal", (3, 5), (3, 5)),
    ("new", (5, 5), (1, 1)),
    ("promising", (4, 4), (1, 1)),
    ("potential_loyal", (4, 5), (2, 3)),
    ("cant_lose", (1, 2), (5, 5)),
    ("at_risk", (1, 2), (3, 4)),
    ("about_to_sleep", (3, 3), (1, 2)),
    ("hibernating", (1, 2), (1, 2)),
)


#: A constant column: the partition of the windows over all rows (Narwhals windows need one).
_ALL = "_rfm_all"


def _score(column: str, bins: int, descending: bool = False) -> nw.Expr:
    """``min(1 + floor(bins * percent_rank), bins)``; ``percent_rank = (rank - 1) / (n - 1)``
    with ties at their lowest rank (0 when ``n`` = 1), as SQL's ``percent_rank``."""
    rank = nw.col(column).rank("min", descending=descending).over(_ALL)
    n = nw.len().over(_ALL)
    pct = nw.when(n > 1).then((rank - 1) / (n - 1)).otherwise(nw.lit(0.0))
    return nw.min_horizontal((pct * bins).floor().cast(nw.Int64) + 1, nw.lit(bins))


def rfm(orders: nw.LazyFrame, as_of: TimeLike, *, lookback_days: int = 365,
        bins: int = 5) -> nw.LazyFrame:
    """Per customer with a purchase in the lookback: ``recency_days, frequency, monetary,
    r_score, f_score, m_score, rfm_score`` (e.g. ``"545"``) and ``segment``."""
    d = pd.Timestamp(as_of)
    p = purchases(orders)
    since = d - pd.Timedelta(days=lookback_days)
    created = nw.col("created_at")
    p = p.filter(in_window(created, since, d))
    per = p.group_by("customer_id").agg(
        created.max().alias("last_at"), nw.len().alias("frequency"),
        net_revenue().sum().alias("monetary"))
    per = per.with_columns(
        recency_days=(nw.lit(epoch_seconds_of(d)) - epoch_seconds("last_at")) / 86400.0,
        **{_ALL: nw.lit(1)})
    per = per.with_columns(r_score=_score("recency_days", bins, descending=True),
                           f_score=_score("frequency", bins),
                           m_score=_score("monetary", bins))
    per = per.with_columns(rfm_score=nw.concat_str(
        *[nw.col(c).cast(nw.String) for c in ("r_score", "f_score", "m_score")]))
    # map scores onto the 1-5 scale of RFM_SEGMENTS
    r5, f5 = (((nw.col(c) - 1) * 4 / max(bins - 1, 1) + 1).round(0).cast(nw.Int64)
              for c in ("r_score", "f_score"))
    segment = nw.lit("needs_attention")
    for name, r, f in reversed(RFM_SEGMENTS):  # the first matching rule wins
        hit = r5.is_between(*r, closed="both") & f5.is_between(*f, closed="both")
        segment = nw.when(hit).then(nw.lit(name)).otherwise(segment)
    return per.with_columns(segment=segment).drop("last_at", _ALL)


def tiers(orders: nw.LazyFrame, as_of: TimeLike,
          scheme: str | dict[str, float] = "classic") -> nw.LazyFrame:
    """Per customer with a purchase before ``as_of``: ``cumulative_spend`` and ``tier``."""
    thresholds = TIER_SCHEMES[scheme] if isinstance(scheme, str) else dict(scheme)
    ordered = sorted(thresholds.items(), key=lambda kv: kv[1], reverse=True)
    p = purchases(orders).filter(nw.col("created_at") < ts(as_of))
    per = p.group_by("customer_id").agg(net_revenue().sum().alias("cumulative_spend"))
    tier = nw.lit(ordered[-1][0])
    for name, t in reversed(ordered[:-1]):  # the highest threshold reached wins
        tier = nw.when(nw.col("cumulative_spend") >= t).then(nw.lit(name)).otherwise(tier)
    return per.with_columns(tier=tier)


def tier_migration(orders: nw.LazyFrame, before: TimeLike, after: TimeLike,
                   scheme: str | dict[str, float] = "classic") -> pd.DataFrame:
    """Customers by (tier at ``before``, tier at ``after``); ``none`` = no purchase yet."""
    thresholds = TIER_SCHEMES[scheme] if isinstance(scheme, str) else dict(scheme)
    names = [n for n, _ in sorted(thresholds.items(), key=lambda kv: kv[1])]
    t0 = tiers(orders, before, thresholds).select("customer_id",
                                                  nw.col("tier").alias("before_tier"))
    t1 = tiers(orders, after, thresholds).select("customer_id", nw.col("tier").alias("after_tier"))
    j = t1.join(t0, on="customer_id", how="left")
    j = j.with_columns(nw.col("before_tier").fill_null("none"))
    long = collect(j.group_by("before_tier", "after_tier").agg(nw.len().alias("n")))
    wide = long.pivot_table(index="before_tier", columns="after_tier", values="n",
                            aggfunc="sum", fill_value=0)
    wide = wide.reindex(index=["none", *names], columns=names, fill_value=0).astype("int64")
    wide.index.name, wide.columns.name = "before", "after"
    return wide


#: The RFM segment of a customer without a purchase in the lookback, and the tier of a
#: customer without a purchase before the date.
NO_SEGMENT = "none"
NO_TIER = "none"
#: Every RFM segment, in the order the report lists them (the fallback rule's last).
SEGMENTS = (*(name for name, _, _ in RFM_SEGMENTS), "needs_attention", NO_SEGMENT)


def scheme_of(tier_names) -> str | None:
    """The key of :data:`TIER_SCHEMES` whose tier names include every name in ``tier_names``
    (a shop's recorded tiers), or None when no scheme does (its thresholds are unknown)."""
    names = {str(n) for n in tier_names}
    for key, thresholds in TIER_SCHEMES.items():
        if names and names <= set(thresholds):
            return key
    return None


def segment_counts(orders: nw.LazyFrame, groups: nw.LazyFrame, moments: dict[str, TimeLike], *,
                   lookback_days: int = 365, bins: int = 5) -> pd.DataFrame:
    """Customers of ``groups`` (``customer_id, group``) by their :func:`rfm` segment at each
    date of ``moments`` (name -> date): columns ``moment, group, segment, customers``, in the
    engine; :data:`NO_SEGMENT` = no purchase in the lookback. Segments are ranked among all
    the shop's buyers of the lookback, the same ranking for every group."""
    frames = []
    for moment, when in moments.items():
        s = rfm(orders, when, lookback_days=lookback_days, bins=bins).select(
            "customer_id", "segment")
        j = groups.join(s, on="customer_id", how="left")
        j = j.with_columns(nw.col("segment").fill_null(NO_SEGMENT))
        counts = collect(j.group_by("group", "segment").agg(nw.len().alias("customers")))
        frames.append(counts.assign(moment=moment))
    out = pd.concat(frames, ignore_index=True)
    return out[["moment", "group", "segment", "customers"]].astype({"customers": "int64"})


def tier_moves(orders: nw.LazyFrame, groups: nw.LazyFrame, before: TimeLike, after: TimeLike,
               scheme: str | dict[str, float] = "classic") -> pd.DataFrame:
    """Customers of ``groups`` (``customer_id, group``) by (tier at ``before``, tier at
    ``after``) under ``scheme``: columns ``group, before_tier, after_tier, customers``, in the
    engine; :data:`NO_TIER` = no purchase before the date."""
    t0 = tiers(orders, before, scheme).select("customer_id", nw.col("tier").alias("before_tier"))
    t1 = tiers(orders, after, scheme).select("customer_id", nw.col("tier").alias("after_tier"))
    j = groups.join(t0, on="customer_id", how="left")
    j = j.join(t1, on="customer_id", how="left")
    j = j.with_columns(nw.col("before_tier").fill_null(NO_TIER),
                       nw.col("after_tier").fill_null(NO_TIER))
    counts = j.group_by("group", "before_tier", "after_tier").agg(nw.len().alias("customers"))
    return collect(counts).astype({"customers": "int64"})
