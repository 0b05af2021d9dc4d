"""Where the campaign moved its customers: RFM segments and member tiers, per arm.

Both tables read the same way: per arm, the share of its customers in each category at the
sale start (``moment = before``) and at the window end (``after``), each with its Wilson
interval, and for each treatment arm the difference of its share from the holdout's
(``diff``: Newcombe interval, Agresti-Caffo ``p_value``; :mod:`crm_experiments.stats.rates`).
The counts come from the engine (:func:`crm_experiments.metrics.rfm.segment_counts`,
:func:`~crm_experiments.metrics.rfm.tier_moves`), once per evaluation.

**Why the shares and not the effect within each segment.** The evaluation already gives the
effect per lifecycle state (the segment table, the plan's targeting); a second family of
effects per RFM segment would split the same customers again into small cells with wide
intervals. What RFM and tiers add is *where the campaign moved its customers*: because arms
are randomised, the after-share difference of a treatment arm from the holdout is the
campaign's effect on the share of customers in that segment (e.g. "+3 points of champions"),
and the before-share difference is a balance check (about 0). The differences are a
breakdown outside the campaign's family of effects: not corrected for multiple comparisons.

**RFM** (:func:`crm_experiments.metrics.rfm.rfm`): scores over the 365 days before each date,
ranked among all the shop's buyers of that year (the same ranking for every arm); ``none``:
no purchase in that year.

**Tiers**: the customers table says whether the shop keeps member tiers (a ``tier`` column
with values) and by which scheme (its tier names are those of a scheme of
:data:`~crm_experiments.metrics.rfm.TIER_SCHEMES`). The recorded column is a snapshot of an
unknown date (an export made after the sale holds the tiers after it), so the tier at each
moment is computed by that scheme from the cumulative spend then (``none``: no purchase yet):
one rule at both moments. Migration per arm: customers whose tier went ``up``, stayed the
``same`` or went ``down`` (cumulative spend does not fall, so ``down`` is 0 unless refunds
reach back), with the same shares and differences. No tier column, or an empty one (an
imported Taobao or Shopify shop): no table, the note ``note_no_tier``; tier names no scheme
knows: ``note_tier_scheme_unknown`` (the thresholds are needed to place a customer).
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import collect
from crm_experiments.io.reader import ShopData
from crm_experiments.metrics.orders import TimeLike
from crm_experiments.metrics.rfm import (
    NO_TIER,
    SEGMENTS,
    TIER_SCHEMES,
    scheme_of,
    segment_counts,
    tier_moves,
)
from crm_experiments.stats.rates import share_difference, wilson_interval

#: The two moments of the tables: the sale start and the evaluation window's end.
MOMENTS = ("before", "after")
#: Columns of the share tables (``category`` is ``segment`` or ``tier``).
SHARE_COLUMNS = ("customers", "n", "share", "ci_low", "ci_high", "diff", "diff_ci_low",
                 "diff_ci_high", "p_value")
RFM_COLUMNS = ("arm", "moment", "segment", *SHARE_COLUMNS)
TIER_COLUMNS = ("arm", "moment", "tier", *SHARE_COLUMNS)
MIGRATION_COLUMNS = ("arm", "direction", *SHARE_COLUMNS)
DIRECTIONS = ("up", "same", "down")
#: Lookback of the RFM scores (days before each moment).
RFM_LOOKBACK_DAYS = 365


def shares_vs_holdout(counts: pd.DataFrame, keys: list[str], category: str,
                      categories: list[str], arms: list[str], control: str, *,
                      alpha: float = 0.05) -> pd.DataFrame:
    """``counts`` (``arm``, ``keys``, ``category``, ``customers``) completed with every
    ``categories`` x ``arms`` cell (0 where missing), with ``n`` (the arm's customers at that
    key), ``share`` and its Wilson interval, and per treatment arm ``diff`` = its share - the
    ``control`` arm's (Newcombe interval ``diff_ci_*``, Agresti-Caffo ``p_value``); NaN for
    the control arm."""
    index = pd.MultiIndex.from_product(
        [arms, *[list(dict.fromkeys(counts[k])) for k in keys], categories],
        names=["arm", *keys, category])
    full = (counts.groupby(["arm", *keys, category])["customers"].sum()
            .reindex(index, fill_value=0).reset_index())
    full["n"] = full.groupby(["arm", *keys])["customers"].transform("sum")
    full = wilson_interval(full, "customers", "n", alpha=alpha, estimate="share")
    ref = full[full["arm"] == control][[*keys, category, "customers", "n"]].rename(
        columns={"customers": "k2", "n": "n2"})
    pair = full[[*keys, category, "arm", "customers", "n"]].merge(ref, on=[*keys, category],
                                                                 how="left")
    diff = share_difference(pair, "customers", "n", "k2", "n2", alpha=alpha, estimate="diff")
    full["diff"] = diff["diff"].to_numpy()
    full["diff_ci_low"] = diff["ci_low"].to_numpy()
    full["diff_ci_high"] = diff["ci_high"].to_numpy()
    full["p_value"] = diff["p_value"].to_numpy()
    full.loc[full["arm"] == control, ["diff", "diff_ci_low", "diff_ci_high", "p_value"]] = \
        float("nan")
    full["customers"] = full["customers"].astype("int64")
    full["n"] = full["n"].astype("int64")
    return full[["arm", *keys, category, *SHARE_COLUMNS]]


def rfm_by_arm(orders: nw.LazyFrame, arms: nw.LazyFrame, start: TimeLike, end: TimeLike, *,
               arm_names: list[str], control: str, alpha: float = 0.05) -> pd.DataFrame:
    """The ``rfm`` table (:data:`RFM_COLUMNS`): per arm (``arms``: ``customer_id, group``)
    and moment (``start``, ``end``), the share of its customers in each RFM segment and its
    difference from the holdout."""
    counts = segment_counts(orders, arms, {"before": start, "after": end},
                            lookback_days=RFM_LOOKBACK_DAYS).rename(columns={"group": "arm"})
    out = shares_vs_holdout(counts, ["moment"], "segment", list(SEGMENTS), arm_names, control,
                            alpha=alpha)
    return _in_order(out, "segment", list(SEGMENTS), arm_names)


def tiers_by_arm(shop: ShopData, arms: nw.LazyFrame, start: TimeLike, end: TimeLike, *,
                 arm_names: list[str], control: str, alpha: float = 0.05
                 ) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """The ``tiers`` table (:data:`TIER_COLUMNS`), the ``tier_migration`` table
    (:data:`MIGRATION_COLUMNS`) and the data notes (keys of the report's translation table);
    empty tables and a note when the shop records no tiers or tiers of an unknown scheme."""
    empty = (pd.DataFrame(columns=list(TIER_COLUMNS)),
             pd.DataFrame(columns=list(MIGRATION_COLUMNS)))
    recorded = recorded_tiers(shop)
    if not recorded:
        return (*empty, ("note_no_tier",))
    scheme = scheme_of(recorded)
    if scheme is None:
        return (*empty, ("note_tier_scheme_unknown",))
    names = [n for n, _ in sorted(TIER_SCHEMES[scheme].items(), key=lambda kv: kv[1])]
    rank = {NO_TIER: -1, **{n: i for i, n in enumerate(names)}}
    moves = tier_moves(shop["orders"], arms, start, end, scheme).rename(columns={"group": "arm"})
    categories = [NO_TIER, *names]
    long = pd.concat([
        moves.groupby(["arm", "before_tier"], as_index=False)["customers"].sum()
        .rename(columns={"before_tier": "tier"}).assign(moment="before"),
        moves.groupby(["arm", "after_tier"], as_index=False)["customers"].sum()
        .rename(columns={"after_tier": "tier"}).assign(moment="after"),
    ], ignore_index=True)
    tiers = _in_order(shares_vs_holdout(long, ["moment"], "tier", categories, arm_names,
                                        control, alpha=alpha), "tier", categories, arm_names)
    step = moves["after_tier"].map(rank) - moves["before_tier"].map(rank)
    moves = moves.assign(direction=step.map(lambda d: "up" if d > 0 else
                                            "down" if d < 0 else "same"), key="all")
    migration = shares_vs_holdout(moves, ["key"], "direction", list(DIRECTIONS), arm_names,
                                  control, alpha=alpha).drop(columns="key")
    return tiers, migration[list(MIGRATION_COLUMNS)], ()


def recorded_tiers(shop: ShopData) -> list[str]:
    """The distinct tiers of the customers table's ``tier`` column; empty when the shop has
    no customers table, no tier column or only empty values."""
    if not shop.has("customers") or "tier" not in shop["customers"].collect_schema().names():
        return []
    c = shop["customers"]
    values = collect(c.filter(~nw.col("tier").is_null()).select("tier").unique())["tier"]
    return sorted(str(v) for v in values if str(v).strip())


def _in_order(frame: pd.DataFrame, category: str, categories: list[str],
              arm_names: list[str]) -> pd.DataFrame:
    """Rows by arm (params order), moment (before, after), then ``categories``' order."""
    order = {"arm": {a: i for i, a in enumerate(arm_names)},
             "moment": {m: i for i, m in enumerate(MOMENTS)},
             category: {c: i for i, c in enumerate(categories)}}
    return frame.sort_values(["arm", "moment", category], kind="stable",
                             key=lambda col: col.map(order[col.name])).reset_index(drop=True)
