"""The coupon-uplift analysis of a campaign: :func:`analyse_campaign_uplift` ->
:class:`UpliftAnalysis`.

What it does: the campaign's customer table with attributes (:func:`customer_table`), the
uplift model and its held-out evaluation (:func:`crm_experiments.uplift.analyse_uplift`),
net-profit effects per segment, and the next round's target list (pseudonymous id,
recommended arm, expected incremental profit).

**The money is the evaluation's.** What each coupon earned (incremental profit with its
interval, ROI, cost per incremental order) is
:func:`crm_experiments.analyses.economics.economics` of the same customer table and the same
family of effects (:func:`crm_experiments.analyses.campaign.compare_campaign`) as the
evaluation, so the uplift page shows the report's figures; the best single coupon is the arm
with the largest effect on net profit per customer in that family. The uplift layer's own
per-arm money (:func:`crm_experiments.uplift.policy.arm_money`) serves only ``crm-exp uplift``.

The result renders through :mod:`crm_experiments.report.uplift_page`; nothing here renders
or logs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_experiments.analyses.campaign import compare_campaign, costs_recorded, per_segment_effects
from crm_experiments.analyses.economics import economics
from crm_experiments.analyses.from_evaluation import evaluation_customers, is_this_campaigns
from crm_experiments.analyses.result import ResultMixin, finite_metrics
from crm_experiments.errors import AnalysisSkipped
from crm_experiments.io.engine import collect
from crm_experiments.io.reader import ShopData
from crm_experiments.metrics.campaign import COVARIATES, campaign_customers
from crm_experiments.params import CampaignParams
from crm_experiments.uplift.features import usable_features
from crm_experiments.uplift.model import UpliftModel, UpliftResult, analyse_uplift

ATTRIBUTES = ("gender", "province")
#: :func:`segment_effects`' segment columns
SEGMENT_COLUMNS = ("lifecycle_state", "tier", "gender", "province")
BASE_FEATURES = ("lifecycle_state", "tier", "pre_orders", "pre_revenue", "pre_gross_profit",
                 "pre_converted")
#: Below this many customers the model is smaller and the bootstrap shorter.
SMALL_SHOP = 20_000
# the T-learner needs 20 customers per arm in the training half of the 50/50 split
MIN_CUSTOMERS_PER_ARM = 40


#: The per-customer columns the analysis reads when it takes the evaluation's money: the
#: model's features and outcome, the segment table's columns and covariate, the ids.
USED_COLUMNS = ("arm", "net_profit", COVARIATES["net_profit"], *BASE_FEATURES, *SEGMENT_COLUMNS)


def customer_table(shop: ShopData, params: CampaignParams, horizon: int, *,
                   evaluation=None, columns: tuple[str, ...] | None = None
                   ) -> tuple[pd.DataFrame, list[str]]:
    """``campaign_customers`` (the per-customer table of ``evaluation`` when it is this
    campaign's at this horizon, only ``columns`` of it when given: :func:`evaluation_customers`;
    else computed) plus customer attributes (gender, province, tenure in days at the sale
    start) when the customers table has them; returns ``(table, feature columns)``."""
    df = evaluation_customers(evaluation, params, horizon, columns=columns)
    if df is None:
        df = campaign_customers(shop, params, horizon)
    features = [c for c in BASE_FEATURES if c in df.columns]
    if shop.has("customers"):
        cust = shop["customers"]
        names = cust.collect_schema().names()
        cols = [c for c in (*ATTRIBUTES, "first_order_at") if c in names]
        if cols:
            extra = collect(cust.select("customer_id", *cols))
            if "first_order_at" in extra:
                first = pd.to_datetime(extra.pop("first_order_at"))
                if first.dt.tz is not None:
                    first = first.dt.tz_localize(None)
                extra["tenure_days"] = (params.sale_start - first) / pd.Timedelta(days=1)
            # a left join on the customer id: position of each campaign customer among the
            # customers (-1: not there), by Arrow's hash lookup (4x faster than a merge)
            pos = pc.index_in(_ids(df["customer_id"]),
                              value_set=_ids(extra["customer_id"])).fill_null(-1).to_numpy()
            for c in extra.columns.drop("customer_id"):
                df[c] = pd.api.extensions.take(extra[c].array, pos, allow_fill=True)
                features.append(c)
    return df, features


def _ids(s: pd.Series) -> pa.Array:
    return pa.array(s.astype("string"), type=pa.large_string())


def segment_effects(customers: pd.DataFrame, params: CampaignParams,
                    columns: tuple[str, ...] = SEGMENT_COLUMNS) -> pd.DataFrame:
    """Net-profit effect of each arm within each value of each segment column (covariate
    adjusted, Holm over each column's family), from the evaluation layer. A column with fewer
    than two values (an import without tiers or genders) is left out: one group is the whole
    comparison again (the page's feature notes say why)."""
    metric = "net_profit"
    cols = tuple(c for c in columns
                 if c in customers.columns and customers[c].dropna().nunique() > 1)
    # one column at a time, on just the columns it reads (grouping takes every column of the
    # frame it is given); Holm runs within each column's family, so nothing else changes
    slim = [per_segment_effects(customers[list(dict.fromkeys(("arm", c, metric,
                                                               COVARIATES[metric])))],
                                params, (c,), metrics=(metric,)) for c in cols]
    found = [f for f in slim if not f.empty]
    return (pd.concat(found, ignore_index=True) if found
            else per_segment_effects(customers.iloc[:0], params, (), metrics=(metric,)))


class UpliftPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow wrapper: ``predict(DataFrame of feature columns)`` -> effect per arm,
    recommended arm, expected incremental profit."""

    def __init__(self, model: UpliftModel):
        self.model = model

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.model.predict(model_input)


#: Declared tables of a stored uplift result (see :class:`ResultMixin`).
UPLIFT_SCHEMA: dict[str, tuple[str, ...]] = {
    "economics": ("arm", "label", "customers", "total_cost", "incremental_profit",
                  "incremental_profit_low", "incremental_profit_high", "roi", "roi_low",
                  "roi_high", "cost_per_incremental_order"),
    "ranking": ("arm", "n_treated", "n_control", "qini", "qini_low", "qini_high", "auuc",
                "auuc_low", "auuc_high"),
    "policy_values": ("policy", "policy_kind", "policy_arm", "treated_share", "value_dr",
                      "value_dr_low", "value_dr_high", "value_ipw", "value_ipw_low",
                      "value_ipw_high"),
    "deciles": ("arm", "decile", "predicted_uplift", "observed_uplift", "ci_low", "ci_high"),
    "curves": ("arm", "share_targeted", "qini", "qini_random"),
    "segment_effects": ("segment", "segment_value", "arm", "estimate"),
    "next_round_targets": ("customer_id", "recommended_arm", "expected_incremental_profit"),
}


def _policy_kind(name: str) -> tuple[str, str | None]:
    """``(kind, arm)`` of a policy name of :func:`~crm_experiments.uplift.policy_values`."""
    for prefix, kind in (("gain over everyone: ", "gain_over_everyone"),
                         ("everyone: ", "everyone")):
        if name.startswith(prefix):
            return kind, name.removeprefix(prefix)
    return {"learned policy": ("learned", None), "no one": ("no_one", None),
            "gain over no one": ("gain_over_no_one", None)}.get(name, (name, None))


@dataclass(frozen=True, repr=False)
class UpliftAnalysis(ResultMixin):
    """The coupon-uplift analysis of one campaign at one horizon (module docstring).

    ``next_round_targets`` is the one table with a row per customer: the pseudonymous id of
    the data, the recommended arm and the expected incremental profit, nothing else.
    """

    KIND: ClassVar[str] = "coupon_uplift"
    SCHEMA: ClassVar[dict[str, tuple[str, ...]]] = UPLIFT_SCHEMA
    MAIN_TABLE: ClassVar[str] = "policy_values"

    campaign_id: str
    display_name: str
    language: str
    currency: str
    horizon_days: int
    control_arm: str
    uplift: UpliftResult
    economics: pd.DataFrame             # analyses.economics.economics: index arm
    segment_effects: pd.DataFrame
    targets: pd.DataFrame               # customer_id, recommended_arm, expected gain
    features: tuple[str, ...] = ()
    arm_labels: dict[str, str] = field(default_factory=dict)
    #: facts, not sentences: ``{"key": <translation key>, ...}`` (e.g. a feature left out)
    notes: tuple[dict, ...] = ()
    #: the campaign's type (``CampaignParams.type``): the page's wording follows it
    campaign_type: str = "coupon"

    def summary(self) -> dict:
        """Everything the uplift page shows besides the tables, as plain data."""
        u = self.uplift
        if u.recommended_policy == "learned policy":
            recommendation = {"kind": "learned", "arm": None}
        elif u.recommended_policy == "no one":
            recommendation = {"kind": "no_one", "arm": None}
        else:
            recommendation = {"kind": "everyone", "arm": u.recommended_policy.split(": ", 1)[1]}
        return {
            "campaign_id": self.campaign_id, "display_name": self.display_name,
            "language": self.language, "currency": self.currency,
            "campaign_type": self.campaign_type,
            "horizon_days": int(self.horizon_days), "control_arm": self.control_arm,
            "arm_labels": dict(self.arm_labels), "arms": [str(a) for a in u.arms],
            "features": list(self.features), "outcome": u.outcome, "learner": u.learner,
            "n_customers": int(u.n_customers), "n_train": int(u.n_train),
            "n_train_split": int(u.n_train_split), "n_test": int(u.n_test),
            "n_test_split": int(u.n_test_split), "best_single_arm": u.best_single_arm,
            "recommendation": recommendation, "notes": [dict(n) for n in self.notes],
        }

    def _headline(self) -> dict:
        u = self.uplift
        out = {"campaign_id": self.campaign_id, "horizon_days": self.horizon_days,
               "customers": u.n_customers, "best_single_arm": u.best_single_arm,
               "recommended": u.recommended_policy}
        for r in u.ranking.itertuples():
            out[f"qini.{r.arm}"] = round(float(r.qini), 3)
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        u = self.uplift
        kinds = [_policy_kind(str(p)) for p in u.policy_values["policy"]]
        policy = u.policy_values.copy()
        policy.insert(1, "policy_kind", [k for k, _ in kinds])
        policy.insert(2, "policy_arm", [a for _, a in kinds])
        return {"economics": self.economics.reset_index(), "ranking": u.ranking,
                "policy_values": policy, "deciles": u.deciles, "curves": u.curves,
                "segment_effects": self.segment_effects, "next_round_targets": self.targets}

    def metrics(self) -> dict[str, float]:
        """Ranking, policy values and sample sizes (``uplift.*``). No money: MLflow keeps the
        campaign's money once, as the evaluation's ``economics.*``."""
        return finite_metrics({k: v for k, v in self.uplift.metrics().items()
                               if not k.startswith("uplift.arm.")})

    def write(self, out_dir: str | Path) -> Path:
        """The stored result (:meth:`ResultMixin.write`) and ``models/uplift/`` (MLflow
        pyfunc scoring a customer table) under ``out_dir``."""
        out = super().write(out_dir)
        model_dir = out / "models" / "uplift"
        shutil.rmtree(model_dir, ignore_errors=True)
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        mlflow.pyfunc.save_model(path=str(model_dir), python_model=UpliftPyfunc(self.uplift.model),
                                 pip_requirements=["scikit-learn", "pandas", "numpy"])
        return out


#: Customers scored at a time for the next round's list (bounds the encoded feature matrix
#: and the learners' intermediate arrays on a shop of millions).
PREDICT_BATCH = 500_000


def next_round_targets(model: UpliftModel, customers: pd.DataFrame,
                       id_column: str = "customer_id",
                       batch: int = PREDICT_BATCH) -> pd.DataFrame:
    """Per customer: id, recommended arm and expected incremental profit (rounded to 4
    decimals), nothing else; scored ``batch`` customers at a time (each customer's figures
    depend on his own row only, so the batches change nothing)."""
    arms, gains = [], []
    for start in range(0, len(customers), batch):
        pred = model.predict(customers.iloc[start:start + batch])
        arms.append(pred["recommended_arm"].astype(str).to_numpy())
        gains.append(pred["expected_incremental_profit"].round(4).to_numpy())
    empty = not arms
    return pd.DataFrame({id_column: customers[id_column].astype(str).to_numpy(),
                         "recommended_arm":
                             np.array([], dtype=object) if empty else np.concatenate(arms),
                         "expected_incremental_profit":
                             np.array([], dtype=float) if empty else np.concatenate(gains)})


def evaluation_money(evaluation, params: CampaignParams, horizon_days: int
                     ) -> tuple[pd.DataFrame, dict[str, float]] | None:
    """The campaign's money as the evaluation stored it: its ``economics`` table (index arm)
    and each treatment arm's effect on net profit per customer from its ``effects`` (the one
    family of :func:`compare_campaign`), when ``evaluation`` (a stored or live evaluation
    result) is this campaign's at this horizon; else None. Reading them back instead of
    comparing the arms again is what keeps the uplift page's money the report's without a
    second run of the regressions (two thirds of the uplift notebook's time at 1M customers)."""
    if not is_this_campaigns(evaluation, params, horizon_days):
        return None
    tables = evaluation.tables()
    if "economics" not in tables or "effects" not in tables:
        return None
    effects = tables["effects"]
    profit = effects[effects["metric"] == "net_profit"]
    arm_profit = {str(a): float(e) for a, e in zip(profit["arm"], profit["estimate"],
                                                   strict=True)}
    if set(arm_profit) != set(params.arm_names) - {params.control_arm}:
        return None
    return tables["economics"].set_index("arm"), arm_profit


def analyse_campaign_uplift(shop: ShopData, params: CampaignParams, horizon_days: int, *,
                            max_train: int | None | str = "params",
                            max_test: int | None | str = "params",
                            evaluation=None) -> UpliftAnalysis:
    """The coupon-uplift analysis of ``params``' campaign ``horizon_days`` after the sale.

    On a large shop the model trains on a random sample of at most ``max_train`` customers of
    its half and is evaluated on a random sample of at most ``max_test`` held-out customers,
    each stratified by arm and drawn by hashing the pseudonymous ids with ``params.seed``
    (defaults: ``params.model_sample.uplift_train_customers`` / ``uplift_test_customers``;
    the summary gives the sizes); every customer still gets a next-round recommendation.

    ``evaluation``: the campaign's evaluation at this horizon (stored, as the runner's
    notebook finds it beside its own results, or live); its money and net-profit effects are
    taken as they are (:func:`evaluation_money`) instead of comparing the arms again, and its
    per-customer table instead of computing it again (:func:`evaluation_customers`).
    """
    if max_train == "params":
        max_train = params.model_sample.uplift_train_customers
    if max_test == "params":
        max_test = params.model_sample.uplift_test_customers
    stored = evaluation_money(evaluation, params, horizon_days)
    # with the evaluation's money, only the columns read below (:data:`USED_COLUMNS`; a stored
    # table reads just these); without it, all (the arms are compared here)
    customers, candidates = customer_table(
        shop, params, horizon_days, evaluation=evaluation,
        columns=USED_COLUMNS if stored is not None else None)
    features, dropped = usable_features(customers, candidates)
    notes = tuple({"key": f"uplift_note_feature_{why}", "feature": c} for c, why in dropped)
    if not features:
        names = ", ".join(c for c, _ in dropped)
        raise AnalysisSkipped("skip_uplift_no_features",
                              f"coupon uplift skipped: no usable feature column ({names} are "
                              "empty or constant)", features=names)
    counts = customers["arm"].value_counts()
    too_small = [f"{a} ({int(counts.get(a, 0))})" for a in params.arm_names
                 if counts.get(a, 0) < MIN_CUSTOMERS_PER_ARM]
    if too_small:
        raise AnalysisSkipped("skip_uplift_small_arms",
                              f"coupon uplift skipped: arm(s) with fewer than "
                              f"{MIN_CUSTOMERS_PER_ARM} customers: {', '.join(too_small)}",
                              arms=", ".join(too_small), minimum=MIN_CUSTOMERS_PER_ARM)
    if stored is not None:
        money, arm_profit = stored
    else:
        comparison = compare_campaign(customers, params)
        money = economics(customers, comparison, params, recorded=costs_recorded(shop, params))
        arm_profit = {e.arm: e.estimate for e in comparison.effects if e.metric == "net_profit"}
    small = len(customers) < SMALL_SHOP
    result = analyse_uplift(
        customers, arm="arm", control=params.control_arm, outcome="net_profit",
        features=features, test_size=0.5, seed=params.seed, learner="t", max_iter=30,
        n_boot=100 if small else 200, alpha=params.alpha, max_train=max_train,
        max_test=max_test, source=str(params.data.path), arm_profit=arm_profit,
        id_column="customer_id")
    return UpliftAnalysis(
        campaign_id=params.campaign_id, display_name=params.display_name,
        language=params.language, currency=params.costs.currency, horizon_days=horizon_days,
        control_arm=params.control_arm, uplift=result, economics=money,
        segment_effects=segment_effects(customers, params),
        targets=next_round_targets(result.model, customers), features=tuple(features),
        arm_labels={a.name: a.label or a.name for a in params.arms}, notes=notes,
        campaign_type=params.type)
