"""What the coupon-uplift notebook shows and writes: the campaign's customer table with
attributes, HTML tables, matplotlib figures, and the results directory (metrics, aggregate
tables, next-round targets, the MLflow pyfunc model). No MLflow tracking here."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_experiments.analyses.campaign import per_segment_effects
from crm_experiments.io.reader import ShopData
from crm_experiments.metrics.campaign import COVARIATES, campaign_customers
from crm_experiments.params import CampaignParams
from crm_experiments.uplift.model import UpliftModel, UpliftResult

ATTRIBUTES = ("gender", "province")
BASE_FEATURES = ("lifecycle_state", "tier", "pre_orders", "pre_revenue", "pre_gross_profit",
                 "pre_converted")


def customer_table(shop: ShopData, params: CampaignParams, horizon: int
                   ) -> tuple[pd.DataFrame, list[str]]:
    """``campaign_customers`` plus customer attributes (gender, province, tenure in days at
    the sale start) when the customers table has them; returns ``(table, feature columns)``."""
    df = campaign_customers(shop, params, horizon)
    features = [c for c in BASE_FEATURES if c in df.columns]
    if shop.has("customers"):
        cust = shop["customers"]
        cols = [c for c in (*ATTRIBUTES, "first_order_at") if c in cust.columns]
        if cols:
            extra = cust.select("customer_id", *cols).to_pandas()
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


def samples_html(result: UpliftResult) -> str:
    """Which customers trained and which evaluated the model (samples when capped)."""
    def part(used: int, split: int, what: str) -> str:
        if used >= split:
            return f"all {used:,} {what}"
        return (f"{used:,} of the {split:,} {what} (a seeded random sample, stratified by "
                "arm)")
    return (f"<p>Model trained on {part(result.n_train, result.n_train_split, 'training')} "
            f"customers and evaluated on "
            f"{part(result.n_test, result.n_test_split, 'held-out')} customers.</p>")


def segment_effects(customers: pd.DataFrame, params: CampaignParams,
                    columns: tuple[str, ...] = ("lifecycle_state", "tier", "gender",
                                                "province")) -> pd.DataFrame:
    """Net-profit effect of each arm within each value of each segment column (covariate
    adjusted, Holm over each column's family), from the evaluation layer."""
    metric = "net_profit"
    cols = tuple(c for c in columns if c in customers.columns)
    # one column at a time, on just the columns it reads (grouping takes every column of the
    # frame it is given); Holm runs within each column's family, so nothing else changes
    slim = [per_segment_effects(customers[list(dict.fromkeys(("arm", c, metric,
                                                               COVARIATES[metric])))],
                                params, (c,), metrics=(metric,)) for c in cols]
    found = [f for f in slim if not f.empty]
    return (pd.concat(found, ignore_index=True) if found
            else per_segment_effects(customers.iloc[:0], params, (), metrics=(metric,)))


def segment_html(seg: pd.DataFrame) -> str:
    """Segment effects table: estimate, Holm-adjusted interval and p-value."""
    if seg.empty:
        return "<p>No segment has enough customers per arm.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(str(r['segment']))}</td>"
        f"<td>{html.escape(str(r['segment_value']))}</td><td>{html.escape(str(r['arm']))}</td>"
        f"<td>{r['n_arm']:,} / {r['n_control']:,}</td><td>{_fmt(r['estimate'], False)} "
        f"<small>[{_fmt(r['ci_low_adjusted'], False)}, {_fmt(r['ci_high_adjusted'], False)}]"
        f"</small></td><td>{r['p_value_adjusted']:.3f}</td></tr>"
        for r in seg.to_dict("records"))
    return ("<h3>Net profit effect per customer by segment</h3><table><tr><th>segment</th>"
            "<th>value</th><th>arm</th><th>n arm / control</th><th>effect [Holm interval]</th>"
            "<th>Holm p</th></tr>" + rows + "</table>")


def _fmt(x, money=True) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "&ndash;"
    return f"{x:,.0f}" if money and abs(x) >= 100 else f"{x:,.2f}"


def _interval(row, key, money=True) -> str:
    return (f"{_fmt(row[key], money)} <small>[{_fmt(row[key + '_low'], money)}, "
            f"{_fmt(row[key + '_high'], money)}]</small>")


def money_html(result: UpliftResult, currency: str = "") -> str:
    """Per-arm money for the manager: incremental profit, ROI, cost per incremental order."""
    rows = []
    for r in result.arm_money.to_dict("records"):
        cpo = (_interval(r, "cost_per_incremental_order") if "cost_per_incremental_order" in r
               else "&ndash;")
        rows.append(f"<tr><td>{html.escape(str(r['arm']))}</td><td>{r['customers']:,}</td>"
                    f"<td>{_interval(r, 'incremental_profit')}</td>"
                    f"<td>{_interval(r, 'profit_per_customer')}</td>"
                    f"<td>{_fmt(r['cost'])}</td><td>{_interval(r, 'roi', False)}</td>"
                    f"<td>{cpo}</td></tr>")
    cur = f" ({html.escape(currency)})" if currency else ""
    return ("<h3>What each coupon earned vs the holdout</h3><table><tr><th>arm</th>"
            f"<th>customers</th><th>incremental profit{cur}</th><th>per customer</th>"
            "<th>cost</th><th>ROI</th><th>cost per incremental order</th></tr>"
            + "".join(rows) + "</table><p><small>Intervals: 95 %, Holm-adjusted over the arms "
            "(Bonferroni-simultaneous). Profit is after coupon discounts and message costs.</small>"
            "</p>")


def policy_html(result: UpliftResult) -> str:
    """Targeting gain: learned policy vs everyone-gets-one-arm vs no coupons (held-out)."""
    rows = []
    for r in result.policy_values.to_dict("records"):
        share = "" if pd.isna(r["treated_share"]) else f"{r['treated_share']:.0%}"
        rows.append(f"<tr><td>{html.escape(r['policy'])}</td><td>{share}</td>"
                    f"<td>{_interval(r, 'value_dr', False)}</td>"
                    f"<td>{_interval(r, 'value_ipw', False)}</td></tr>")
    return ("<h3>Targeting the next round</h3><p>Incremental profit per customer vs sending "
            f"no coupon, estimated on {result.n_test:,} held-out customers the model never "
            f"saw. Best single coupon (highest profit per customer in the whole test): "
            f"<b>{html.escape(result.best_single_arm)}</b>.</p><table><tr><th>policy</th>"
            "<th>treated</th><th>doubly robust</th><th>inverse-propensity</th></tr>"
            + "".join(rows) + "</table>" + _recommendation(result))


def _recommendation(result: UpliftResult) -> str:
    if result.recommended_policy == "learned policy":
        return ("<p><b>Recommendation:</b> target the next round per customer (the learned "
                "policy's gain over the best single coupon is above 0 with 95 % confidence)."
                "</p>")
    return (f"<p><b>Recommendation:</b> {html.escape(result.recommended_policy)}. Per-customer "
            "targeting is not recommended: its gain over the best single coupon cannot be told "
            "apart from 0 on the held-out customers, so the target list gives everyone the "
            "same choice.</p>")


def ranking_html(result: UpliftResult) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(r['arm'])}</td><td>{_interval(r, 'qini', False)}</td>"
        f"<td>{_interval(r, 'auuc', False)}</td></tr>"
        for r in result.ranking.to_dict("records"))
    return ("<h3>Does the model rank customers by their response?</h3><table><tr><th>arm</th>"
            "<th>Qini coefficient</th><th>AUUC</th></tr>" + rows + "</table><p><small>Held-out "
            "customers; normalised by the perfect model as scikit-uplift's qini_auc_score / "
            "uplift_auc_score (0 = random); 95 % bootstrap intervals.</small></p>")


def qini_figure(result: UpliftResult):
    arms = list(result.arms)
    fig, axes = plt.subplots(1, len(arms), figsize=(5 * len(arms), 3.6), squeeze=False)
    for ax, a in zip(axes[0], arms, strict=True):
        c = result.curves[result.curves["arm"] == a]
        ax.plot(c["share_targeted"], c["qini"], label="model")
        ax.plot(c["share_targeted"], c["qini_random"], "--", label="random")
        ax.set_title(f"Qini curve: {a}")
        ax.set_xlabel("share of held-out customers targeted")
        ax.set_ylabel(f"incremental {result.outcome}")
        ax.legend()
    fig.tight_layout()
    return fig


def decile_figure(result: UpliftResult):
    arms = list(result.arms)
    fig, axes = plt.subplots(1, len(arms), figsize=(5 * len(arms), 3.6), squeeze=False)
    for ax, a in zip(axes[0], arms, strict=True):
        d = result.deciles[result.deciles["arm"] == a]
        err = np.vstack([d["observed_uplift"] - d["ci_low"], d["ci_high"] - d["observed_uplift"]])
        ax.bar(d["decile"], d["observed_uplift"], yerr=err, capsize=2, alpha=0.7,
               label="observed")
        ax.plot(d["decile"], d["predicted_uplift"], "o-", color="black", label="predicted")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(f"Uplift by predicted decile: {a}")
        ax.set_xlabel("decile (1 = highest predicted uplift)")
        ax.legend()
    fig.tight_layout()
    return fig


class UpliftPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow wrapper: ``predict(DataFrame of feature columns)`` -> effect per arm,
    recommended arm, expected incremental profit."""

    def __init__(self, model: UpliftModel):
        self.model = model

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.model.predict(model_input)


def write_results(result: UpliftResult, customers: pd.DataFrame, results_dir: str | Path,
                  id_column: str = "customer_id",
                  extra_tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """``metrics.json``, ``tables/*.csv``, ``tables/next_round_targets.csv`` (id, arm,
    expected incremental profit only) and ``models/uplift/`` (MLflow pyfunc)."""
    out = Path(results_dir)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result.metrics(), indent=2), encoding="utf-8")
    for name, frame in {**result.tables(), **(extra_tables or {})}.items():
        frame.to_csv(out / "tables" / f"{name}.csv", index=False)
    pred = result.model.predict(customers)
    targets = pd.DataFrame({id_column: customers[id_column].to_numpy(),
                            "recommended_arm": pred["recommended_arm"].to_numpy(),
                            "expected_incremental_profit":
                                pred["expected_incremental_profit"].round(4).to_numpy()})
    targets.to_csv(out / "tables" / "next_round_targets.csv", index=False)
    model_dir = out / "models" / "uplift"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    mlflow.pyfunc.save_model(path=str(model_dir), python_model=UpliftPyfunc(result.model),
                             pip_requirements=["scikit-learn", "pandas", "numpy"])
    return out
