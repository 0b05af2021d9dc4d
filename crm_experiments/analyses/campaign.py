"""Evaluate one campaign at one horizon: the spine every report and MLflow run is built from.

The per-customer table comes from :func:`crm_experiments.metrics.campaign.campaign_customers`
(window outcomes, costs, pre-period covariates that reduce variance by CUPED / Lin adjustment);
the money from :func:`crm_experiments.analyses.economics.economics`.

:func:`evaluate` returns an :class:`Evaluation`: a value holding every table the notebook, the
report and MLflow show. Nothing here renders or logs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import narwhals as nw
import numpy as np
import pandas as pd

from crm_experiments.analyses.descriptive import (
    REMINDER_COLUMNS,
    campaign_reminders,
    cohort_repurchase,
    reactivation_rates,
    satisfaction,
)
from crm_experiments.analyses.economics import economics
from crm_experiments.analyses.interactions import COLUMNS as INTERACTION_COLUMNS
from crm_experiments.analyses.interactions import activity_comparisons, interaction_methods
from crm_experiments.analyses.result import ResultMixin, jsonable
from crm_experiments.analyses.segments import (
    MIGRATION_COLUMNS,
    RFM_COLUMNS,
    TIER_COLUMNS,
    rfm_by_arm,
    tiers_by_arm,
)
from crm_experiments.errors import CrmError
from crm_experiments.io.engine import Engine, collect, engine_of, scalar
from crm_experiments.io.reader import ShopData, load_shop
from crm_experiments.metrics import lifecycle as lc
from crm_experiments.metrics.campaign import (
    CATEGORICAL_COVARIATES,
    COVARIATE_GROUPS,
    COVARIATES,
    campaign_customers,
    discounts_recorded,
)
from crm_experiments.metrics.cohorts import default_comparison_window
from crm_experiments.metrics.kpis import (
    data_span,
    kpi_comparison,
    shipping_recorded,
    window_coverage,
)
from crm_experiments.metrics.orders import epoch_days, in_window, micros_of_day, purchases
from crm_experiments.metrics.stickiness import stickiness
from crm_experiments.params import CampaignParams
from crm_experiments.stats.adjustment import covariate_columns, equivalent_extra_sample
from crm_experiments.stats.before_after import did_by_arm
from crm_experiments.stats.capping import CappingApplied, cap_money
from crm_experiments.stats.design import Design, recommend_holdout_share
from crm_experiments.stats.heterogeneity import heterogeneity_frame, interaction_test
from crm_experiments.stats.multiple import adjust
from crm_experiments.stats.result import effects_frame, shown_interval
from crm_experiments.stats.srm import check_sample_ratio
from crm_experiments.stats.table import ComparisonResult, compare_arms

OUTCOMES = ("converted", "revenue", "gross_profit", "net_profit")
#: The multiple-comparison correction of the campaign's family of effects and of each segment
#: column's family.
CORRECTION = "holm"
#: Columns of the ``adjustment`` table (:func:`adjustment_table`).
ADJUSTMENT_COLUMNS = ("metric", "arm", "method", "covariates", "strata", "reason",
                      "variance_reduction", "extra_customers", "half_width",
                      "half_width_unadjusted")
#: Metrics reported beside the decision's family, each adjusted like it: repurchase (2+
#: purchases in the window), retention (a purchase in the window among the pre-period's
#: buyers) and the average order value (revenue / orders, a ratio).
SECONDARY_METRICS = ("repurchased", "retained", "aov")
SECONDARY_COLUMNS = ("arm", "metric", "n_arm", "n_control", "mean_control", "estimate",
                     "ci_low", "ci_high", "p_value", "method", "variance_reduction",
                     "p_value_adjusted", "ci_low_adjusted", "ci_high_adjusted")
#: The metric whose effect is tested for differences between segments.
HETEROGENEITY_METRIC = "net_profit"


@dataclass(frozen=True)
class Verdict:
    """The one-line answer a manager reads first."""

    status: str  # "profitable" | "loses_money" | "inconclusive" | "withheld"
    best_arm: str | None
    incremental_profit: float
    incremental_profit_low: float
    incremental_profit_high: float
    roi: float
    roi_low: float
    roi_high: float
    reason: str = ""


@dataclass(frozen=True, repr=False)
class Evaluation(ResultMixin):
    """Everything measured for one (campaign, horizon).

    As a result (:class:`~crm_experiments.analyses.result.ResultMixin`): ``summary()`` holds
    what a page needs besides the tables (labels, language, verdict, per-arm decisions, the
    methods actually applied), ``tables()`` the aggregate tables of :attr:`SCHEMA`,
    ``metrics()`` the flat MLflow figures; ``write(dir)`` / ``Evaluation.read(dir)`` store and
    load them.
    """

    KIND: ClassVar[str] = "campaign_evaluation"
    MAIN_TABLE: ClassVar[str] = "economics"
    #: 2: the tables reminders, rfm, tiers and tier_migration (issue 16.5); a version-1 copy
    #: (an earlier run in MLflow, read by the plan) is read without them
    #: 3: the tables adjustment and secondary_effects (issue 18.1)
    SCHEMA_VERSION: ClassVar[int] = 3
    SCHEMA_SINCE: ClassVar[dict[str, int]] = {
        "reminders": 2, "rfm": 2, "tiers": 2, "tier_migration": 2, "adjustment": 3,
        "secondary_effects": 3}
    SCHEMA: ClassVar[dict[str, tuple[str, ...]]] = {
        "effects": ("arm", "metric", "n_arm", "n_control", "mean_control", "estimate", "ci_low",
                    "ci_high", "p_value", "rel_estimate", "rel_ci_low", "rel_ci_high", "method",
                    "variance_reduction", "p_value_adjusted", "ci_low_adjusted",
                    "ci_high_adjusted", "se"),
        "economics": ("arm", "label", "customers", "coupon_cost", "message_cost", "fixed_cost",
                      "total_cost", "incremental_revenue", "incremental_orders",
                      "incremental_profit", "incremental_profit_low", "incremental_profit_high",
                      "roi", "roi_low", "roi_high", "cost_per_incremental_order"),
        "kpis": ("kpi", "sale", "weeks_before", "last_year"),
        "segment_effects": ("segment", "segment_value", "arm", "metric", "estimate", "se",
                            "n_arm", "n_control"),
        "stickiness": ("group", "period", "buyers", "repeat_purchase_rate", "arpu",
                       "retention"),
        "lifecycle": ("arm", "moment", *lc.STATES),
        "design": tuple(Design.__dataclass_fields__),
        "adjustment": ADJUSTMENT_COLUMNS,
        "secondary_effects": SECONDARY_COLUMNS,
        "true_effects": ("arm", "metric", "true_effect"),
        "retention_curve": ("arm", "day", "buyers", "returned", "share"),
        "interactions": INTERACTION_COLUMNS,
        "reminders": REMINDER_COLUMNS,
        "rfm": RFM_COLUMNS,
        "tiers": TIER_COLUMNS,
        "tier_migration": MIGRATION_COLUMNS,
        "migration_*": (),
    }

    params: CampaignParams
    horizon_days: int
    window: tuple[pd.Timestamp, pd.Timestamp]
    data_end: pd.Timestamp
    n_assigned: int
    comparison: ComparisonResult
    economics: pd.DataFrame
    segment_effects: pd.DataFrame
    kpis: pd.DataFrame
    stickiness: pd.DataFrame
    lifecycle: pd.DataFrame
    migration: dict[str, pd.DataFrame]
    verdict: Verdict
    satisfaction: pd.DataFrame = field(default_factory=pd.DataFrame)
    retention_curve: pd.DataFrame = field(default_factory=pd.DataFrame)
    cohorts: pd.DataFrame = field(default_factory=pd.DataFrame)
    reactivation: pd.DataFrame = field(default_factory=pd.DataFrame)
    true_effects: dict[tuple[str, str], float] = field(default_factory=dict)
    did: pd.DataFrame = field(default_factory=pd.DataFrame)
    heterogeneity: pd.DataFrame = field(default_factory=pd.DataFrame)
    design: Design | None = None
    # participants vs non-participants of interactive activities (observational)
    interactions: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(INTERACTION_COLUMNS)))
    # payment-reminder recovery (observational), RFM segments and member tiers per arm at the
    # sale start and the window end, tier migration (analyses.descriptive / analyses.segments)
    reminders: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(REMINDER_COLUMNS)))
    rfm: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(RFM_COLUMNS)))
    tiers: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(TIER_COLUMNS)))
    tier_migration: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(MIGRATION_COLUMNS)))
    # data notes: the data checks' warnings, and keys of the report's translation table
    notes: tuple[str, ...] = field(default_factory=tuple)
    # the first order in the data, and how far the data reach into each KPI window
    # ("full" | "partial" | "none"; "last_year" is also the before/after comparison's window)
    # and into the ordinary weeks the sale's new buyers are compared with ("cohort_ordinary")
    data_start: pd.Timestamp | None = None
    coverage: dict[str, str] = field(default_factory=dict)
    # pre-period covariates with one value for every assigned customer (no history): not used
    covariates_without_spread: tuple[str, ...] = ()
    # declared covariate groups the shop's data cannot give (adjustment_covariates)
    covariates_missing: tuple[str, ...] = ()
    # the per-customer table the comparison used (campaign_customers: pseudonymous id, arm,
    # window outcomes, costs, pre-period covariates), for analysts; the one customer-level table
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)
    # the pre-registered capping of the money outcomes the comparison applied (params.capping;
    # None: off); the summary's "capping" (absent from results stored before issue 18.2)
    capping: CappingApplied | None = None
    # metrics outside the decision (repurchase, retention, average order value), adjusted the
    # same way, their own Holm family (secondary_comparison); None for a copy before them
    secondary: ComparisonResult | None = None

    # --- flat views for tracking --------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        """Flat ``name -> number`` for MLflow (finite values only)."""
        out: dict[str, float] = {"n_assigned": self.n_assigned}
        for name, value in self.kpis["sale"].items():
            out[f"kpi.{name}"] = value
        effects = [self.comparison.to_frame()]
        if self.secondary is not None:
            effects.append(self.secondary.to_frame())
        for e in pd.concat(effects, ignore_index=True).itertuples():
            key = f"effect.{e.arm}.{e.metric}"
            for col in ("estimate", "ci_low", "ci_high", "p_value", "rel_estimate"):
                out[f"{key}.{col}"] = getattr(e, col)
        for arm, row in self.economics.iterrows():
            for col in ("incremental_profit", "incremental_profit_low", "incremental_profit_high",
                        "roi", "roi_low", "roi_high", "total_cost", "incremental_revenue",
                        "prob_beats_holdout", "expected_loss"):
                out[f"economics.{arm}.{col}"] = row.get(col)
        out["srm.p_value"] = self.comparison.srm.p_value
        return {k: float(v) for k, v in out.items()
                if v is not None and not pd.isna(v) and np.isfinite(float(v))}

    def summary(self) -> dict:
        """Everything a page shows besides the tables, JSON-able (so the live summary and the
        stored one are equal): identity and language, window, SRM check, verdict and per-arm
        decisions, arm labels and planned shares, data notes, and the methods applied."""
        p, v, srm = self.params, self.verdict, self.comparison.srm
        labels = {a.name: a.label or a.name for a in p.arms}
        return jsonable({
            "campaign_id": p.campaign_id,
            "display_name": p.display_name,
            "language": p.language,
            "currency": p.costs.currency,
            "campaign_type": campaign_type(p),
            "horizon_days": self.horizon_days,
            "window_start": str(self.window[0].date()),
            "window_end": str((self.window[1] - pd.Timedelta(days=1)).date()),
            "data_end": str(self.data_end),
            "data_start": str(self.data_start.date()) if self.data_start is not None else None,
            "coverage": dict(self.coverage),
            "n_assigned": self.n_assigned,
            "alpha": p.alpha,
            "srm": {"p_value": srm.p_value, "passed": bool(srm.passed), "alpha": p.srm_alpha},
            "srm_passed": bool(srm.passed),
            "verdict": dict(v.__dict__),
            "best_arm_label": labels.get(v.best_arm, v.best_arm) if v.best_arm else None,
            "decisions": arm_decisions(self.economics, bool(srm.passed)),
            "control_arm": p.control_arm,
            "arms": [{"name": a.name, "label": labels[a.name], "planned_share": a.planned_share,
                      "control": a.name == p.control_arm} for a in p.arms],
            "notes": list(self.notes),
            # only with capping on: a summary without it reads as before (and as old results)
            **({"capping": self.capping.to_dict()} if self.capping is not None else {}),
            "methods": {**methods_applied(self.comparison, self.segment_effects, self.did,
                                          self.heterogeneity, self.design,
                                          without_spread=self.covariates_without_spread,
                                          covariates_missing=self.covariates_missing),
                        "interactions": interaction_methods(self.interactions, p.alpha),
                        "strata_column": p.adjustment.strata},
        })

    def _headline(self) -> dict:
        v = self.verdict
        return {"campaign": self.params.campaign_id, "horizon_days": self.horizon_days,
                "verdict": v.status, "best_arm": v.best_arm,
                "incremental_profit": round(float(v.incremental_profit), 2)}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Aggregate result tables, and ``customers``: the per-customer table the comparison
        used (the data's pseudonymous ids, nothing else personal), left out when empty."""
        design = (self.design.to_frame() if self.design is not None
                  else pd.DataFrame(columns=list(Design.__dataclass_fields__)))
        out = {
            "effects": self.comparison.to_frame(),
            "economics": self.economics.reset_index(),
            "segment_effects": self.segment_effects,
            "kpis": self.kpis.reset_index(names="kpi"),
            "stickiness": self.stickiness.reset_index().astype(
                {"window_start": str, "window_end": str}),
            "lifecycle": self.lifecycle.reset_index().rename_axis(columns=None),
            "satisfaction": self.satisfaction,
            "retention_curve": self.retention_curve,
            "cohorts": self.cohorts,
            "reactivation": (self.reactivation.reset_index() if not self.reactivation.empty
                             else self.reactivation),
            "did": self.did,
            "heterogeneity": self.heterogeneity,
            "interactions": self.interactions,
            "reminders": self.reminders,
            "rfm": self.rfm,
            "tiers": self.tiers,
            "tier_migration": self.tier_migration,
            "design": design,
            "adjustment": adjustment_table(self.comparison),
            "secondary_effects": (self.secondary.to_frame() if self.secondary is not None
                                  else pd.DataFrame(columns=list(SECONDARY_COLUMNS))),
            "true_effects": pd.DataFrame(
                [(arm, metric, value) for (arm, metric), value in self.true_effects.items()],
                columns=["arm", "metric", "true_effect"]),
        }
        for arm, m in self.migration.items():
            out[f"migration_{arm}"] = m.reset_index().rename_axis(columns=None)
        if not self.customers.empty:
            out["customers"] = self.customers
        return {name: _numbers_as_floats(frame) for name, frame in out.items()}


def _numbers_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with object columns that hold only numbers and None as floats (None -> NaN),
    so a stored copy reads back with the same values and types."""
    out = None
    for col in frame.columns:
        values = frame[col]
        if values.dtype != object:
            continue
        if all(v is None or (isinstance(v, int | float | np.number) and not isinstance(v, bool))
               for v in values):
            out = frame.copy() if out is None else out
            out[col] = pd.to_numeric(values, errors="coerce").astype(float)
    return frame if out is None else out


def campaign_type(params: CampaignParams) -> str:
    """The campaign's type (:data:`~crm_experiments.params.CAMPAIGN_TYPES`): ``campaign_type``
    of the params when set, else ``"coupon"`` when a treatment arm gives a coupon
    (``coupon_face_value`` > 0), else ``"message"``. The report's wording and the economics'
    cost lines follow it."""
    return params.type


def costs_recorded(shop: ShopData, params: CampaignParams) -> dict[str, bool] | None:
    """Which cost lines the shop's data record, for :func:`economics`: ``message_cost`` when
    the contacts table has contacts of the campaign, ``discount_cost`` when some order carries
    a discount value. None for a coupon campaign (its money table has no such flags), unless
    no coupon redemption is recorded at all (no coupons table, no order with a ``coupon_id``,
    e.g. a Taobao order export): then ``{"coupon_cost": False}``, the coupons' cost is unknown
    (not 0) and the arms have no ROI."""
    if params.type == "coupon":
        return None if _coupons_recorded(shop) else {"coupon_cost": False}
    contacts = False
    if shop.has("contacts"):
        c = shop["contacts"].filter(nw.col("campaign_id") == params.campaign_id)
        contacts = int(scalar(c.select(nw.len()))) > 0
    return {"message_cost": contacts, "discount_cost": discounts_recorded(shop["orders"])}


def _coupons_recorded(shop: ShopData) -> bool:
    """Whether the data record coupon redemptions: a coupons table, or an order with a
    ``coupon_id``."""
    if shop.has("coupons"):
        return True
    o = shop["orders"]
    return "coupon_id" in o.collect_schema().names() and int(
        scalar(o.select(nw.col("coupon_id").count()))) > 0


def covariates_without_spread(customers: pd.DataFrame) -> tuple[str, ...]:
    """The pre-period covariates of :data:`COVARIATES` with a single value over the campaign's
    customers (e.g. all 0: no purchase history before the sale); they adjust nothing, so the
    comparisons that would use them are the plain ones."""
    return tuple(c for c in dict.fromkeys(COVARIATES.values())
                 if c in customers.columns and customers[c].nunique(dropna=False) <= 1)


def arm_decisions(economics: pd.DataFrame, srm_passed: bool = True) -> dict[str, str]:
    """Per treatment arm: ``roll_out`` when its incremental profit interval lies above 0,
    ``stop`` when below, else ``test_again``; ``withheld`` for every arm when the sample-ratio
    check failed (the rule of :func:`decide`, arm by arm)."""
    out = {}
    for arm, row in economics.iterrows():
        if not srm_passed:
            out[arm] = "withheld"
        elif row["incremental_profit_low"] > 0:
            out[arm] = "roll_out"
        elif row["incremental_profit_high"] < 0:
            out[arm] = "stop"
        else:
            out[arm] = "test_again"
    return out


#: the estimators of :mod:`crm_experiments.stats.adjustment` and CUPED
ADJUSTED_METHODS = ("lin_ols_hc2", "lin_ridge", "post_stratified", "cuped")


def covariate_group(column: str) -> str:
    """The covariate group (params ``adjustment.covariates``) of a covariate column.

    >>> covariate_group("lifecycle_state=lost"), covariate_group("pre_revenue")
    ('lifecycle_state', 'pre_period')
    """
    for group, cols in COVARIATE_GROUPS.items():
        if column in cols:
            return group
    return column.split("=", 1)[0]


def methods_applied(comparison: ComparisonResult, segment_effects: pd.DataFrame,
                    did: pd.DataFrame, heterogeneity: pd.DataFrame,
                    design: Design | None, *, without_spread: tuple[str, ...] = (),
                    covariates_missing: tuple[str, ...] = ()) -> dict:
    """What was actually applied, read from the effects themselves: per metric its test, the
    covariate groups that adjusted it (``comparison.adjustments``; the one covariate of a
    result stored before them) and the variance reduction it achieved (range over arms);
    the declared covariate groups this shop lacks (``covariates_missing``);
    the multiple-comparison correction and its family; the segment families; which
    cross-checks ran; the covariates left out for having no spread (``without_spread``).
    The report's Methods section is written from this."""
    effects = comparison.effects
    per_metric = []
    for metric in dict.fromkeys(e.metric for e in effects):
        es = [e for e in effects if e.metric == metric]
        reductions = [float(e.variance_reduction) for e in es
                      if e.variance_reduction is not None and np.isfinite(e.variance_reduction)]
        adjusted = bool(reductions) or any(e.method in ADJUSTED_METHODS for e in es)
        used = [c for a in comparison.adjustments if a.metric == metric for c in a.covariates]
        groups = list(dict.fromkeys(covariate_group(c) for c in used))
        per_metric.append({
            "metric": metric,
            "methods": list(dict.fromkeys(e.method for e in es)),
            # a comparison without the adjustments record (an older result): its one covariate
            "covariate": (None if not adjusted or comparison.adjustments
                          else COVARIATES.get(metric)),
            "covariate_groups": groups if adjusted else [],
            "covariate_columns": len(dict.fromkeys(used)),
            "variance_reduction_min": min(reductions) if reductions else None,
            "variance_reduction_max": max(reductions) if reductions else None,
        })
    m = len(effects)
    correction = CORRECTION if comparison.correction else None
    level = 1 - comparison.alpha / m if correction and m else None  # Bonferroni intervals
    segments = {}
    if not segment_effects.empty:
        segments = {str(k): int(n) for k, n in
                    segment_effects.groupby("segment", sort=False).size().items()}
    return {
        "metrics": per_metric,
        "correction": correction,
        "family_size": m,
        "family_arms": len(dict.fromkeys(e.arm for e in effects)),
        "family_metrics": len(per_metric),
        "interval_level": level,
        "segment_correction": CORRECTION if segments else None,
        "segment_families": segments,
        "segment_methods": (list(dict.fromkeys(segment_effects["method"]))
                            if segments else []),
        "did": list(dict.fromkeys(did["method"])) if not did.empty else [],
        "heterogeneity": (list(dict.fromkeys(heterogeneity["method"]))
                          if not heterogeneity.empty else []),
        "heterogeneity_adjusted": (not heterogeneity.empty
                                   and COVARIATES[HETEROGENEITY_METRIC] not in without_spread),
        "covariates_without_spread": list(without_spread),
        "covariates_missing": list(covariates_missing),
        "strata": sorted({a.strata for a in comparison.adjustments if a.strata}),
        "design": design.method if design is not None else None,
    }


# --- verdict ---
def decide(economics: pd.DataFrame, comparison: ComparisonResult) -> Verdict:
    """Best arm by incremental profit; profitable if its interval lies above 0, loses money if
    below, else inconclusive; withheld when the sample-ratio check fails."""
    if economics.empty:
        return Verdict("inconclusive", None, *(float("nan"),) * 6, reason="no treatment arm")
    best = economics["incremental_profit"].idxmax()
    row = economics.loc[best]
    values = [row[c] for c in ("incremental_profit", "incremental_profit_low",
                               "incremental_profit_high", "roi", "roi_low", "roi_high")]
    if not comparison.srm.passed:
        return Verdict("withheld", best, *values, reason="sample ratio mismatch")
    if row["incremental_profit_low"] > 0:
        status = "profitable"
    elif row["incremental_profit_high"] < 0:
        status = "loses_money"
    else:
        status = "inconclusive"
    return Verdict(status, best, *values)


# --- before / after ----------------------------------------------------------------------------
def before_after(shop: ShopData, params: CampaignParams, horizon_days: int,
                 customers: pd.DataFrame, *, span=None) -> pd.DataFrame:
    """Stickiness per arm (and all assigned) in the evaluation window vs the same calendar
    window one year earlier. Retention: buyers of the sale days who buy again within
    ``horizon_days`` after the sale. Not causal on its own (the holdout comparison is).
    ``coverage``: how far the data reach into the row's window
    (:func:`~crm_experiments.metrics.kpis.window_coverage`); a window they do not reach has
    NaN figures ("no data"), not 0. ``span``: the data's first and last order, if known."""
    orders = shop["orders"]
    span = span if span is not None else data_span(orders)
    groups = shop.con.from_pandas(
        customers[["customer_id", "arm"]].rename(columns={"arm": "group"}))
    everyone = shop.con.from_pandas(customers[["customer_id"]].assign(group="all"))
    year = pd.DateOffset(years=1)
    windows = {
        "after": (params.sale_start, params.window_end(horizon_days), params.sale_end),
        "before": (params.sale_start - year, params.window_end(horizon_days) - year,
                   params.sale_end - year),
    }
    frames = []
    names = [*customers["arm"].unique(), "all"]
    for period, (start, end, sale_end) in windows.items():
        coverage = window_coverage(span, start, end)
        dates = {"window_start": start.date(), "window_end": (end - pd.Timedelta(days=1)).date()}
        if coverage == "none":
            frames.append(pd.DataFrame(
                {c: float("nan") for c in ("buyers", "repeat_purchase_rate", "arpu",
                                           "retention")}, index=pd.Index(names))
                .assign(period=period, coverage=coverage, **dates))
            continue
        for g in (groups, everyone):
            # repeat rate and ARPU over the whole window; retention of the sale days' buyers
            # over the days after the sale (complete exactly at the window end)
            s = stickiness(orders, start, end, retention_days=horizon_days, as_of=end, groups=g)
            r = stickiness(orders, start, sale_end, retention_days=horizon_days, as_of=end,
                           groups=g)
            s = s[["buyers", "repeat_purchase_rate", "arpu"]].join(
                r[["retention_rate"]].rename(columns={"retention_rate": "retention"}))
            frames.append(s.assign(period=period, coverage=coverage, **dates))
    out = pd.concat(frames).reset_index(names="group")
    return out.set_index(["group", "period"]).sort_index()


# --- the whole evaluation ----------------------------------------------------------------------
def evaluate(params: CampaignParams, horizon_days: int, shop: ShopData | None = None,
             *, segment_columns: tuple[str, ...] | None = None) -> Evaluation:
    """Evaluate ``params``' campaign at ``horizon_days`` after the sale end."""
    if shop is None:
        shop = load_shop(params.data.path, timezone=params.timezone, params=params)
    start, end = params.sale_start, params.window_end(horizon_days)
    orders = shop["orders"]
    data_end = pd.Timestamp(scalar(orders.select(nw.col("created_at").max())))
    if data_end < end - pd.Timedelta(days=1):
        raise CrmError(
            f"{shop.data_dir}: orders end at {data_end}, but the {horizon_days}-day evaluation "
            f"window runs to {(end - pd.Timedelta(days=1)).date()}; evaluate after that date")
    notes = [str(w) for w in shop.warnings]
    span = data_span(orders)
    # lifecycle states at the sale start and the window end, computed once in the engine and
    # reused by the customer table, the lifecycle shares, the migrations and reactivation
    period = params.lifecycle_period_months
    states = {"before": shop.con.cache(lc.lifecycle_states(orders, start, period)),
              "after": shop.con.cache(lc.lifecycle_states(orders, end, period))}

    customers = campaign_customers(shop, params, horizon_days, states_at_start=states["before"])
    if customers.empty:
        raise CrmError(f"{shop.data_dir}: no customer is assigned to campaign "
                       f"'{params.campaign_id}' in the assignments table")
    unknown = sorted(set(customers["arm"].unique()) - set(params.arm_names))
    if unknown:
        raise CrmError(f"{shop.data_dir}: assignments use arms {unknown} that "
                       f"params do not declare ({list(params.arm_names)})")
    flat = covariates_without_spread(customers)
    # capped outcomes and covariate dummies once for both families, freed after them
    prepared = campaign_frame(customers, params)
    comparison = compare_campaign(customers, params, prepared=prepared)
    secondary, secondary_notes = secondary_comparison(customers, params, prepared=prepared)
    capping, covariates_missing = prepared.capping, prepared.missing
    del prepared
    notes += secondary_notes
    econ = economics(customers, comparison, params, recorded=costs_recorded(shop, params))
    if not econ.empty and not econ["cost_recorded"].all():
        # no ROI rather than an infinite one; a coupon cost unknown says so
        notes.append("note_no_coupon_cost" if "coupon_cost_recorded" in econ else "note_no_cost")
    verdict = decide(econ, comparison)
    segs = segment_columns if segment_columns is not None else tuple(
        s for s in params.segments if s in customers.columns)
    segment_effects = per_segment_effects(customers, params, segs)
    if segs and segment_effects.empty:
        notes.append("note_segments_too_small")  # segments and heterogeneity left out: why

    kpi_windows = {
        "sale": (start, end),
        "weeks_before": (start - (end - start), start),
        "last_year": (start - pd.DateOffset(years=1), end - pd.DateOffset(years=1)),
    }
    kpis = kpi_comparison(orders, kpi_windows)
    coverage = {name: window_coverage(span, *w) for name, w in kpi_windows.items()}
    if not shipping_recorded(orders):
        notes.append("note_no_shipping")  # shipping rates unknown, not "100% not shipped"
    did = did_cross_check(customers, params, end - start)
    if did.empty:
        notes.append("note_no_did")
    arms = shop.con.from_pandas(
        customers[["customer_id", "arm"]].rename(columns={"arm": "group"}))
    lifecycle = lifecycle_by_arm(orders, customers, params, end, states=states,
                                 engine=shop.con)
    migration = {arm: lc.migration_from_states(states["before"], states["after"],
                                               arms.filter(nw.col("group") == arm))
                 for arm in params.arm_names}
    pre_start = start - pd.Timedelta(days=params.pre_period_days)
    sat = pd.concat([
        satisfaction(shop.tables, pre_start, start, alpha=params.alpha, groups=arms)
        .assign(period="before"),
        satisfaction(shop.tables, start, end, alpha=params.alpha, groups=arms)
        .assign(period="after"),
    ], ignore_index=True)
    if not shop.has("reviews") and not shop.has("surveys"):
        notes.append("note_no_satisfaction")  # a key of the report's translation table
    comparison_window = default_comparison_window(start, params.sale_end)
    coverage["cohort_ordinary"] = window_coverage(span, *comparison_window)
    cohorts = cohort_repurchase(orders, (start, params.sale_end), comparison_window, as_of=end,
                                alpha=params.alpha)
    if shop.has("contacts"):
        reactivation = reactivation_rates(
            orders, shop["contacts"], start, params.sale_end, window=(start, end),
            period_months=params.lifecycle_period_months, assignments=shop["assignments"],
            holdout_arm=params.control_arm, campaign_id=params.campaign_id, alpha=params.alpha,
            states=states["before"])
    else:
        reactivation = pd.DataFrame()
        notes.append("note_no_contacts")
    for table in states.values():  # their last use: free them in the engine
        shop.con.release(table)
    interactions, interaction_notes = activity_comparisons(shop, params, (start, end))
    notes += interaction_notes
    reminders, reminder_notes = campaign_reminders(
        orders, shop["contacts"] if shop.has("contacts") else None, start, params.sale_end,
        customers=arms, campaign_id=params.campaign_id, alpha=params.alpha)
    notes += reminder_notes
    arm_names = list(params.arm_names)
    rfm = rfm_by_arm(orders, arms, start, end, arm_names=arm_names, control=params.control_arm,
                     alpha=params.alpha)
    tiers, tier_migration, tier_notes = tiers_by_arm(
        shop, arms, start, end, arm_names=arm_names, control=params.control_arm,
        alpha=params.alpha)
    notes += tier_notes
    design = next_round_design(customers, comparison, params)
    if design is None:
        notes.append("note_no_design")  # the next-round section is left out: say why
    if any(math.isfinite(e.estimate) and math.isnan(e.ci_low) for e in comparison.effects):
        notes.append("note_effect_no_spread")  # a metric constant in both arms: no interval
    if any(e.mean_control == 0 and math.isnan(e.rel_estimate) and not math.isnan(e.ci_low)
           for e in comparison.effects):
        notes.append("note_relative_zero_control")  # e.g. no buyer in the holdout
    return Evaluation(
        params=params, horizon_days=horizon_days, window=(start, end), data_end=data_end,
        n_assigned=len(customers), comparison=comparison, economics=econ,
        segment_effects=segment_effects, kpis=kpis,
        stickiness=before_after(shop, params, horizon_days, customers, span=span),
        lifecycle=lifecycle, migration=migration, verdict=verdict, notes=tuple(notes),
        satisfaction=sat, retention_curve=retention_curve(orders, customers, params, end,
                                                        engine=shop.con),
        cohorts=cohorts, reactivation=reactivation, interactions=interactions,
        reminders=reminders, rfm=rfm, tiers=tiers, tier_migration=tier_migration,
        true_effects=known_true_effects(shop.data_dir, params, horizon_days),
        did=did,
        heterogeneity=heterogeneity_tests(customers, params, segs),
        design=design,
        data_start=span[0], coverage=coverage, covariates_without_spread=flat,
        covariates_missing=covariates_missing, capping=capping, secondary=secondary,
        customers=customers,
    )


@dataclass(frozen=True)
class CampaignFrame:
    """The per-customer table the campaign's families compare (:func:`campaign_frame`)."""

    #: money outcomes capped (:func:`apply_capping`), covariate dummies added
    frame: pd.DataFrame
    #: covariate column names, and the declared groups the data cannot give
    columns: tuple[str, ...]
    missing: tuple[str, ...]
    capping: CappingApplied | None
    #: the factored regression designs on ``frame``, shared by both families (compare_arms)
    designs: dict = field(default_factory=dict, compare=False)


def campaign_frame(customers: pd.DataFrame, params: CampaignParams) -> CampaignFrame:
    """:func:`apply_capping` then :func:`adjustment_covariates` of ``customers``, computed once
    per evaluation for :func:`compare_campaign` and :func:`secondary_comparison`."""
    capped, capping = apply_capping(customers, params)
    frame, columns, missing = adjustment_covariates(capped, params)
    return CampaignFrame(frame, columns, missing, capping)


def compare_campaign(customers: pd.DataFrame, params: CampaignParams, *,
                     prepared: CampaignFrame | None = None) -> ComparisonResult:
    """Every treatment arm against the holdout on :data:`OUTCOMES` and orders: the one family
    of effects of a campaign (Holm over arms x metrics), each metric adjusted on the covariates
    ``params.adjustment`` declares (:func:`adjustment_covariates`; by the rule of
    :mod:`crm_experiments.stats.adjustment`: Lin's OLS, ridge or post-stratification; a
    covariate without spread, e.g. no history before the sale, adjusts nothing), with the
    sample-ratio check
    against the planned shares. Every figure derived from the campaign's effects (economics,
    verdict, pages, plan) starts here. ``prepared``: :func:`campaign_frame` of the same
    ``customers`` and ``params``, when the caller has it."""
    # pre-registered capping (issue 18.2) and the covariates
    prepared = prepared if prepared is not None else campaign_frame(customers, params)
    planned = {a.name: a.planned_share for a in params.arms}
    metrics = [*OUTCOMES, "orders"]
    frame, columns = prepared.frame, prepared.columns
    comparison = compare_arms(
        frame, arm="arm", control=params.control_arm, metrics=metrics,
        covariates={m: list(columns) for m in metrics} if columns else None,
        **_adjustment_options(frame, params), alpha=params.alpha,
        correction=CORRECTION, source=f"campaign {params.campaign_id}",
        designs=prepared.designs,
    )
    counts = customers["arm"].value_counts().to_dict()
    srm = check_sample_ratio({a: int(counts.get(a, 0)) for a in params.arm_names}, planned,
                             alpha=params.srm_alpha)
    return replace(comparison, srm=srm)


def _adjustment_options(frame: pd.DataFrame, params: CampaignParams) -> dict:
    """``strata`` and ``adjustment`` for :func:`compare_arms` from ``params.adjustment``: the
    strata column only where the table has it with more than one value."""
    strata = params.adjustment.strata
    return {"strata": strata if strata in frame and frame[strata].nunique() > 1 else None,
            "adjustment": params.adjustment.method}


def secondary_comparison(customers: pd.DataFrame, params: CampaignParams, *,
                         prepared: CampaignFrame | None = None
                         ) -> tuple[ComparisonResult, tuple[str, ...]]:
    """Every treatment arm against the holdout on :data:`SECONDARY_METRICS`, adjusted on the
    declared covariates like :func:`compare_campaign` (the average order value on its
    linearised values), Holm over this family of its own (it does not enter the decision),
    and the notes (translation keys) of the metrics left out: retention without a pre-period
    buyer in some arm, the order value without an order in some arm. ``prepared`` as in
    :func:`compare_campaign`."""
    prepared = prepared if prepared is not None else campaign_frame(customers, params)
    frame, covs = prepared.frame, list(prepared.columns)
    arms = frame.groupby("arm")
    notes: list[str] = []
    common = {"arm": "arm", "control": params.control_arm, "alpha": params.alpha,
              "correction": None, "source": f"campaign {params.campaign_id}"}
    options = _adjustment_options(frame, params)
    parts = [compare_arms(frame, metrics=["repurchased"],
                          covariates={"repurchased": covs} if covs else None, **options,
                          designs=prepared.designs, **common)]
    if (arms["orders"].sum() > 0).all() and len(arms) == len(params.arm_names):
        # a ratio is not post-stratified (stats.adjustment.compare_ratio_regression)
        parts.append(compare_arms(frame, ratios={"aov": ("revenue", "orders")},
                                  covariates={"aov": covs} if covs else None,
                                  adjustment=options["adjustment"], designs=prepared.designs,
                                  **common))
    else:
        notes.append("note_no_aov")
    earlier = frame[frame["pre_converted"] == 1].assign(retained=lambda f: f["converted"])
    sizes = earlier["arm"].value_counts()
    if all(sizes.get(a, 0) >= 2 for a in params.arm_names):
        parts.append(compare_arms(earlier, metrics=["retained"],
                                  covariates={"retained": covs} if covs else None,
                                  **_adjustment_options(earlier, params), **common))
    else:
        notes.append("note_no_retention")
    effects = adjust([e for c in parts for e in c.effects], CORRECTION, params.alpha)
    return ComparisonResult(
        effects=tuple(effects), srm=None, alpha=params.alpha, correction=effects[0].correction,
        control=params.control_arm, arms=parts[0].arms,
        adjustments=tuple(a for c in parts for a in c.adjustments)), tuple(notes)


def adjustment_covariates(customers: pd.DataFrame, params: CampaignParams
                          ) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...]]:
    """The per-customer table with the covariate columns ``params.adjustment.covariates``
    declares (:data:`~crm_experiments.metrics.campaign.COVARIATE_GROUPS`; lifecycle state,
    tier and gender as dummies, :func:`~crm_experiments.stats.adjustment.covariate_columns`),
    their names, and the declared groups this shop's data cannot give (a group absent or with
    one value for everyone, e.g. tier "unknown" throughout in an import: it adjusts nothing).

    Method ``none`` or no group declared: no covariate."""
    groups = params.adjustment.covariates if params.adjustment.method != "none" else ()
    numeric, categorical, missing = [], [], []
    for group in groups:
        cols = COVARIATE_GROUPS.get(group, (group,))
        present = [c for c in cols if c in customers and customers[c].nunique() > 1]
        if not present:
            missing.append(group)
        elif group in CATEGORICAL_COVARIATES:
            categorical.append(group)
        else:
            numeric += present
    x = covariate_columns(customers, numeric, categorical)
    extra = x.drop(columns=numeric)
    return pd.concat([customers, extra], axis=1), tuple(x.columns), tuple(missing)


def adjustment_table(comparison: ComparisonResult) -> pd.DataFrame:
    """Per (metric, arm): what adjusted the comparison and what it bought, one row each:
    ``method``, ``covariates`` (count), ``variance_reduction`` (``1 - se²/se_plain²``),
    ``extra_customers`` (:func:`~crm_experiments.stats.adjustment.equivalent_extra_sample` of
    the comparison's customers), ``half_width`` of the interval the report shows (the
    multiplicity-adjusted one when there is one) and ``half_width_unadjusted``, the plain
    comparison's at the same critical value (their ratio is ``sqrt(1 - reduction)``)."""
    by_key = {(a.metric, a.arm): a for a in comparison.adjustments}
    rows = []
    for e in comparison.effects:
        a = by_key.get((e.metric, e.arm))
        if a is None:
            continue
        shown = shown_interval(e)
        low, high = shown.low, shown.high
        q = (high - low) / (2 * e.se) if e.se and np.isfinite(e.se) else np.nan
        vr = e.variance_reduction if a.method != "none" else np.nan
        rows.append({
            "metric": e.metric, "arm": e.arm, "method": a.method,
            "covariates": len(a.covariates), "strata": a.strata, "reason": a.reason,
            "variance_reduction": vr,
            "extra_customers": equivalent_extra_sample(e.n_arm + e.n_control, vr),
            "half_width": q * e.se,
            "half_width_unadjusted": q * e.se_unadjusted if a.method != "none" else q * e.se,
        })
    return pd.DataFrame(rows, columns=list(ADJUSTMENT_COLUMNS))


def apply_capping(customers: pd.DataFrame, params: CampaignParams
                  ) -> tuple[pd.DataFrame, CappingApplied | None]:
    """The per-customer table with its money outcomes capped as ``params.capping`` declares
    (:func:`~crm_experiments.stats.capping.cap_money`: revenue and gross profit at their pooled
    percentile, net profit recomputed from the capped gross profit) and the record of it; the
    table unchanged and None when capping is off. The campaign's effects, hence its economics
    and verdict, are then those of the capped values; segment effects, the cross-checks and the
    stored ``customers`` table keep the uncapped values."""
    return cap_money(customers, params.capping.percentile if params.capping else None)


def did_cross_check(customers: pd.DataFrame, params: CampaignParams,
                    window: pd.Timedelta) -> pd.DataFrame:
    """Difference in differences of revenue and net profit per customer (change from the
    pre-period, rescaled to the window's length, to the window) per arm: a cross-check of the
    post-period comparison, which randomisation already makes unbiased. Empty when no assigned
    customer bought in the pre-period: the change would equal the post-period value, and the
    cross-check the holdout comparison itself."""
    if not (customers["pre_orders"] > 0).any():
        return pd.DataFrame()
    scale = (window / pd.Timedelta(days=1)) / params.pre_period_days
    df = customers.assign(pre_revenue_scaled=customers["pre_revenue"] * scale,
                          pre_profit_scaled=customers["pre_gross_profit"] * scale)
    effects = [*did_by_arm(df, "arm", params.control_arm, "pre_revenue_scaled", "revenue",
                           alpha=params.alpha, metric="revenue"),
               *did_by_arm(df, "arm", params.control_arm, "pre_profit_scaled", "net_profit",
                           alpha=params.alpha, metric="net_profit")]
    return effects_frame(effects)


def heterogeneity_tests(customers: pd.DataFrame, params: CampaignParams,
                        segment_columns: tuple[str, ...], metric: str = HETEROGENEITY_METRIC,
                        min_per_arm: int = 30) -> pd.DataFrame:
    """Does the effect on ``metric`` differ between the values of each segment column? Wald
    test of treatment x segment interactions (HC2), adjusted for the pre-period covariate;
    values with fewer than ``min_per_arm`` customers in an arm are left out. ``differs``: the
    test rejects at ``params.alpha``. Without spread in the covariate (no history), unadjusted."""
    covariate = COVARIATES[metric]
    if covariate in covariates_without_spread(customers):
        covariate = None
    results = []
    for col in segment_columns:
        counts = customers.groupby([col, "arm"], observed=True).size().unstack(fill_value=0)
        keep = counts.index[(counts.reindex(columns=list(params.arm_names), fill_value=0)
                             .min(axis=1) >= min_per_arm)]
        if len(keep) < 2:
            continue
        needed = ["arm", metric, col, *([covariate] if covariate else [])]
        g = customers.loc[customers[col].isin(keep), needed]  # the columns the test reads
        results += interaction_test(g, "arm", params.control_arm, metric, col,
                                    covariate=covariate, alpha=params.alpha)
    if not results:
        return pd.DataFrame()
    frame = heterogeneity_frame(results)
    return frame.assign(differs=frame["p_value"] < params.alpha)


def next_round_design(customers: pd.DataFrame, comparison: ComparisonResult,
                      params: CampaignParams, metric: str = "net_profit") -> Design | None:
    """The smallest holdout share that detects this round's best positive effect on
    ``metric`` with 80% power at the same number of customers, using the variance reduction
    this round achieved (a plan for the next round, not a test of this one). None (not
    estimable) when the holdout's ``metric`` has no spread (e.g. no buyer in the holdout: the
    power calculation needs its standard deviation), no effect is positive and the holdout
    mean is 0, or there are too few customers (under 30) to hold 2 out at a 5% share."""
    effects = [e for e in comparison.effects if e.metric == metric]
    best = max(effects, key=lambda e: e.estimate, default=None)
    control = customers.loc[customers["arm"] == params.control_arm, metric]
    sd = float(control.std(ddof=1)) if len(control) >= 2 else math.nan
    if best is None or not sd > 0 or not math.isfinite(sd) or round(0.05 * len(customers)) < 2:
        return None  # the smallest share searched (5%) must leave 2 customers held out
    effect = best.estimate if best.estimate > 0 else 0.1 * abs(control.mean())
    if not effect > 0:
        return None
    return recommend_holdout_share(
        len(customers), effect, sd, alpha=params.alpha, power=0.8,
        # a covariate can (by chance) widen an interval a little: plan with no reduction then
        # (NaN, e.g. an overfitted regression on a handful of customers: no reduction)
        variance_reduction=min(max(float(np.nan_to_num(best.variance_reduction or 0.0)), 0.0),
                               0.95),
        baseline_mean=float(control.mean()))


def known_true_effects(data_dir: Path, params: CampaignParams,
                       horizon_days: int) -> dict[tuple[str, str], float]:
    """``(arm, metric) -> true effect`` from a generated shop's ``truth.json`` (the demo
    knows its truth, so its report can show it beside the estimates); empty for real data."""
    path = Path(data_dir) / "truth.json"
    if not path.exists():
        return {}
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
        if truth.get("campaign_id") != params.campaign_id:
            return {}
        effects = truth["effects"][str(horizon_days)]
    except (OSError, ValueError, KeyError):
        return {}
    return {(arm, metric): float(v) for arm, per in effects.items()
            for metric, v in per.get("overall", {}).items() if v is not None}


def retention_curve(orders: nw.LazyFrame, customers: pd.DataFrame, params: CampaignParams,
                    end: pd.Timestamp, *, engine: Engine | None = None) -> pd.DataFrame:
    """Per arm and day ``k`` after the sale (1..window end): share of the arm's sale buyers
    (a purchase during the sale days) who bought again within ``k`` days after the sale.
    ``engine``: the engine of ``orders`` (``customers``' arms are put next to them; default:
    :func:`~crm_experiments.io.engine.engine_of` ``orders``)."""
    p = purchases(orders)
    ids = (engine or engine_of(orders)).from_pandas(customers[["customer_id", "arm"]])
    buyers = p.filter(in_window("created_at", params.sale_start, params.sale_end))
    buyers = buyers.select("customer_id").unique().join(ids, on="customer_id", how="inner")
    later = p.filter(in_window("created_at", params.sale_end, end))
    later = later.group_by("customer_id").agg(nw.col("created_at").min().alias("first_after"))
    j = buyers.join(later, on="customer_id", how="left")
    # counted in the engine: buyers per arm and day of their first purchase after the sale,
    # day = floor((first_after - sale_end) / 1 day) + 1 in integer days and microseconds of
    # the day (null: not yet back); only arms x days come back
    first, sale_end = nw.col("first_after"), pd.Timestamp(params.sale_end)
    whole = epoch_days(first) - (sale_end.normalize() - pd.Timestamp(0)).days
    end_micros = (sale_end - sale_end.normalize()) // pd.Timedelta(microseconds=1)
    day = whole + 1 - nw.when(micros_of_day(first) < end_micros).then(
        nw.lit(1, dtype=nw.Int64)).otherwise(nw.lit(0, dtype=nw.Int64))
    counts = collect(j.with_columns(day=day).group_by("arm", "day").agg(nw.len().alias("n")))
    days = int((end - params.sale_end) / pd.Timedelta(days=1))
    rows = []
    for arm, g in counts.groupby("arm"):
        n = int(g["n"].sum())
        back = g.dropna(subset=["day"])
        per_day = pd.Series(back["n"].to_numpy(dtype="int64"),
                            index=back["day"].to_numpy(dtype="int64"))
        cum = per_day.reindex(range(1, days + 1), fill_value=0).cumsum()
        rows += [{"arm": arm, "day": k, "buyers": n, "returned": int(c), "share": c / n}
                 for k, c in cum.items()]
    return pd.DataFrame(rows, columns=["arm", "day", "buyers", "returned", "share"])


def lifecycle_by_arm(orders: nw.LazyFrame, customers: pd.DataFrame, params: CampaignParams,
                     after: pd.Timestamp, *, engine: Engine | None = None,
                     states: dict[str, nw.LazyFrame] | None = None) -> pd.DataFrame:
    """Share of each arm's customers in each lifecycle state at the sale start and at the end
    of the evaluation window (rows: arm x moment; columns: states). ``states``: the
    :func:`~crm_experiments.metrics.lifecycle.lifecycle_states` tables of both moments
    (keys ``before``, ``after``) if already computed; ``engine``: the engine of ``orders``
    (default: :func:`~crm_experiments.io.engine.engine_of` ``orders``)."""
    rows = []
    ids = (engine or engine_of(orders)).from_pandas(customers[["customer_id", "arm"]])
    for moment, when in (("before", params.sale_start), ("after", after)):
        s = (states or {}).get(moment)
        if s is None:
            s = lc.lifecycle_states(orders, when, params.lifecycle_period_months)
        j = ids.join(s.select("customer_id", "state"), on="customer_id", how="left")
        j = j.with_columns(nw.col("state").fill_null(lc.NO_STATE))
        counts = collect(j.group_by("arm", "state").agg(nw.len().alias("n")))
        wide = counts.pivot_table(index="arm", columns="state", values="n", fill_value=0)
        wide = wide.reindex(columns=[*lc.STATES, lc.NO_STATE], fill_value=0)
        shares = wide.div(wide.sum(axis=1), axis=0)
        shares["moment"] = moment
        rows.append(shares.reset_index())
    return pd.concat(rows).set_index(["arm", "moment"]).sort_index()


def per_segment_effects(customers: pd.DataFrame, params: CampaignParams,
                        segment_columns: tuple[str, ...],
                        metrics: tuple[str, ...] = ("net_profit", "revenue"),
                        min_per_arm: int = 30) -> pd.DataFrame:
    """Effect of each arm within each value of each segment column, adjusted for the
    pre-period covariate (Lin, HC2), Holm-corrected over the family of values x arms x metrics
    of one segment column. Values with fewer than ``min_per_arm`` customers in an arm are
    skipped (listed nowhere: too small to say anything)."""
    frames = []
    for col in segment_columns:
        effects, keys = [], []
        needed = ["arm", col, *metrics, *(COVARIATES[m] for m in metrics)]
        for value, g in customers[list(dict.fromkeys(needed))].groupby(col, observed=True):
            counts = g["arm"].value_counts()
            if (params.control_arm not in counts or len(counts) < 2
                    or counts.min() < min_per_arm):
                continue
            # a covariate without spread in the segment (e.g. lost customers bought nothing in
            # the pre-period) adjusts nothing: use the plain comparison there
            covs = {m: COVARIATES[m] for m in metrics if g[COVARIATES[m]].nunique() > 1}
            res = compare_arms(g, arm="arm", control=params.control_arm, metrics=list(metrics),
                               covariates=covs, alpha=params.alpha, correction=None)
            effects += res.effects
            keys += [str(value)] * len(res.effects)
        if not effects:
            continue
        f = effects_frame(adjust(effects, CORRECTION, params.alpha))
        f.insert(0, "segment", col)
        f.insert(1, "segment_value", keys)
        frames.append(f)
    if not frames:
        return pd.DataFrame(columns=["segment", "segment_value", "arm", "metric", "estimate",
                                     "se", "n_arm", "n_control"])
    return pd.concat(frames, ignore_index=True)
