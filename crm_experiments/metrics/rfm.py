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

import ibis
import ibis.expr.types as ir
import pandas as pd

from crm_experiments.metrics.orders import TimeLike, net_revenue, purchases, ts

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


def _score(column: ir.Column, bins: int, descending: bool = False) -> ir.IntegerColumn:
    order = column.desc() if descending else column.asc()
    rank = ibis.percent_rank().over(ibis.window(order_by=order))
    return ibis.least((rank * bins).floor().cast("int64") + 1, bins)


def rfm(orders: ir.Table, as_of: TimeLike, *, lookback_days: int = 365, bins: int = 5) -> ir.Table:
    """Per customer with a purchase in the lookback: ``recency_days, frequency, monetary,
    r_score, f_score, m_score, rfm_score`` (e.g. ``"545"``) and ``segment``."""
    d = pd.Timestamp(as_of)
    p = purchases(orders)
    since = d - pd.Timedelta(days=lookback_days)
    p = p.filter((p.created_at < ts(d)) & (p.created_at >= ts(since)))
    per = p.group_by("customer_id").aggregate(
        last_at=p.created_at.max(), frequency=p.count(), monetary=net_revenue(p).sum())
    per = per.mutate(recency_days=(ts(d).epoch_seconds() - per.last_at.epoch_seconds()) / 86400.0)
    per = per.mutate(r_score=_score(per.recency_days, bins, descending=True),
                     f_score=_score(per.frequency, bins),
                     m_score=_score(per.monetary, bins))
    per = per.mutate(rfm_score=per.r_score.cast("string") + per.f_score.cast("string")
                     + per.m_score.cast("string"))
    # map scores onto the 1-5 scale of RFM_SEGMENTS
    r5 = ((per.r_score - 1) * 4 / max(bins - 1, 1) + 1).round().cast("int64")
    f5 = ((per.f_score - 1) * 4 / max(bins - 1, 1) + 1).round().cast("int64")
    segment = ibis.cases(
        *[(r5.between(*r) & f5.between(*f), name) for name, r, f in RFM_SEGMENTS],
        else_="needs_attention",
    )
    return per.mutate(segment=segment).drop("last_at")


def tiers(orders: ir.Table, as_of: TimeLike,
          scheme: str | dict[str, float] = "classic") -> ir.Table:
    """Per customer with a purchase before ``as_of``: ``cumulative_spend`` and ``tier``."""
    thresholds = TIER_SCHEMES[scheme] if isinstance(scheme, str) else dict(scheme)
    ordered = sorted(thresholds.items(), key=lambda kv: kv[1], reverse=True)
    p = purchases(orders)
    p = p.filter(p.created_at < ts(as_of))
    per = p.group_by("customer_id").aggregate(cumulative_spend=net_revenue(p).sum())
    tier = ibis.cases(*[(per.cumulative_spend >= t, name) for name, t in ordered[:-1]],
                      else_=ordered[-1][0])
    return per.mutate(tier=tier)


def tier_migration(orders: ir.Table, before: TimeLike, after: TimeLike,
                   scheme: str | dict[str, float] = "classic") -> pd.DataFrame:
    """Customers by (tier at ``before``, tier at ``after``); ``none`` = no purchase yet."""
    thresholds = TIER_SCHEMES[scheme] if isinstance(scheme, str) else dict(scheme)
    names = [n for n, _ in sorted(thresholds.items(), key=lambda kv: kv[1])]
    t0 = tiers(orders, before, thresholds).select("customer_id", before_tier="tier")
    t1 = tiers(orders, after, thresholds).select("customer_id", after_tier="tier")
    j = t1.left_join(t0, "customer_id")
    j = j.mutate(before_tier=j.before_tier.fill_null("none"))
    long = j.group_by(["before_tier", "after_tier"]).aggregate(n=j.count()).to_pandas()
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


def segment_counts(orders: ir.Table, groups: ir.Table, moments: dict[str, TimeLike], *,
                   lookback_days: int = 365, bins: int = 5) -> pd.DataFrame:
    """Customers of ``groups`` (``customer_id, group``) by their :func:`rfm` segment at each
    date of ``moments`` (name -> date): columns ``moment, group, segment, customers``, in the
    engine; :data:`NO_SEGMENT` = no purchase in the lookback. Segments are ranked among all
    the shop's buyers of the lookback, the same ranking for every group."""
    frames = []
    for moment, when in moments.items():
        s = rfm(orders, when, lookback_days=lookback_days, bins=bins).select(
            "customer_id", "segment")
        j = groups.left_join(s, "customer_id")
        j = j.mutate(segment=j.segment.fill_null(NO_SEGMENT))
        counts = j.group_by(["group", "segment"]).aggregate(customers=j.count()).to_pandas()
        frames.append(counts.assign(moment=moment))
    out = pd.concat(frames, ignore_index=True)
    return out[["moment", "group", "segment", "customers"]].astype({"customers": "int64"})


def tier_moves(orders: ir.Table, groups: ir.Table, before: TimeLike, after: TimeLike,
               scheme: str | dict[str, float] = "classic") -> pd.DataFrame:
    """Customers of ``groups`` (``customer_id, group``) by (tier at ``before``, tier at
    ``after``) under ``scheme``: columns ``group, before_tier, after_tier, customers``, in the
    engine; :data:`NO_TIER` = no purchase before the date."""
    t0 = tiers(orders, before, scheme).select("customer_id", before_tier="tier")
    t1 = tiers(orders, after, scheme).select("customer_id", after_tier="tier")
    j = groups.left_join(t0, "customer_id").select(groups, "before_tier")
    j = j.left_join(t1, "customer_id").select(j, "after_tier")
    j = j.mutate(before_tier=j.before_tier.fill_null(NO_TIER),
                 after_tier=j.after_tier.fill_null(NO_TIER))
    counts = j.group_by(["group", "before_tier", "after_tier"]).aggregate(customers=j.count())
    return counts.to_pandas().astype({"customers": "int64"})
