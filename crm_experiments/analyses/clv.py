"""The campaign's incremental CLV and churn risk: fit, validate and apply the CLV models of
:mod:`crm_experiments.models` to one campaign at one horizon (:func:`campaign_clv`).

The models are fitted on the history up to the end of the evaluation window (sale end +
horizon), every assigned customer's 12-month CLV from then on is predicted (0 for an assigned
customer who has never bought), and each treatment arm's mean is compared with the holdout
control's (:func:`crm_experiments.models.clv.incremental_mean`); see
:mod:`crm_experiments.models.clv` for the definitions and the large-shop sampling.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crm_experiments.errors import CrmError
from crm_experiments.metrics.campaign import campaign_customers
from crm_experiments.models.btyd import (
    MAX_FIT_CUSTOMERS,
    FitSampleWarning,
    ModelWarning,
    PurchaseModel,
    one_blas_thread,
)
from crm_experiments.models.churn import compare_churn_scorers
from crm_experiments.models.clv import clv_by, customer_clv, incremental_mean
from crm_experiments.models.features import (
    data_end,
    repeat_purchases_by_day,
    rfm_features,
)
from crm_experiments.models.gamma_gamma import GammaGammaModel
from crm_experiments.models.validation import fit_purchase_models, validate_models


@dataclass(frozen=True)
class CampaignCLV:
    """Everything the CLV/churn notebook shows and writes."""

    campaign_id: str
    currency: str
    horizon_days: int
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp
    unit: str
    validation: object                      # HoldoutValidation
    purchase_model: PurchaseModel           # chosen model, fitted up to observation_end
    spend_model: GammaGammaModel
    incremental: pd.DataFrame               # arm x {post, pre}: incremental 12-month CLV
    window_effect: pd.DataFrame             # arm: in-window revenue per customer vs control
    by_arm: pd.DataFrame
    by_segment: dict[str, pd.DataFrame]
    churn: object | None                    # ChurnComparison
    months: tuple[int, ...] = (3, 6, 12)
    notes: tuple[str, ...] = field(default_factory=tuple)
    method_notes: tuple[str, ...] = field(default_factory=tuple)  # samples / intervals applied

    def headline(self) -> list[str]:
        lines = []
        post = self.incremental[self.incremental["when"] == "after_window"]
        for r in post.itertuples():
            sig = "lasting value" if r.ci_low > 0 else (
                "less future value" if r.ci_high < 0 else "no clear lasting effect")
            lines.append(
                f"{r.arm}: incremental 12-month CLV {r.estimate:+,.2f} {self.currency} per "
                f"customer (95% interval {r.ci_low:+,.2f} to {r.ci_high:+,.2f}), "
                f"{r.estimate * r.n_arm:+,.0f} {self.currency} over its {r.n_arm:,} customers: "
                f"{sig}.")
        chg = self.incremental[self.incremental["when"] == "change"].set_index("arm")
        for arm in chg.index:
            r = chg.loc[arm]
            lines.append(
                f"{arm}: change of the 12-month CLV from before the sale to after the window, "
                f"treated minus control: {r.estimate:+,.2f} {self.currency} per customer "
                f"({r.ci_low:+,.2f} to {r.ci_high:+,.2f}); this removes any chance imbalance "
                "of the arms before the sale.")
        return lines

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.validation.summary.itertuples():
            for col in self.validation.summary.columns:
                if col.startswith("param_") or col in ("log_likelihood", "aic",
                                                       "holdout_predicted", "holdout_actual",
                                                       "holdout_error_pct", "by_frequency_mae"):
                    out[f"clv.{r.model}.{col.removeprefix('param_')}"] = getattr(r, col)
        for k, v in self.spend_model.params_.items():
            out[f"clv.gamma_gamma.{k}"] = v
        out["clv.gamma_gamma.log_likelihood"] = self.spend_model.log_likelihood_
        for r in self.incremental.itertuples():
            for col in ("estimate", "ci_low", "ci_high", "p_value"):
                out[f"clv.incremental_12m.{r.when}.{r.arm}.{col}"] = getattr(r, col)
        for r in self.by_arm.itertuples():
            out[f"clv.mean_12m.{r.arm}"] = r.clv_12m_mean
        out["clv.fit.customers"] = self.purchase_model.n_customers_
        out["clv.fit.sample_customers"] = self.purchase_model.n_fit_customers_
        if self.churn is not None:
            out.update(self.churn.metrics())
        return {k: float(v) for k, v in out.items()
                if v is not None and np.isfinite(float(v))}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Aggregates only (no customer-level rows)."""
        v = self.validation
        out = {"clv_models": v.summary, "clv_holdout_by_frequency": v.by_frequency,
               "clv_tracking": v.tracking, "clv_frequency_histogram": v.histogram,
               "clv_incremental": self.incremental, "clv_window_effect": self.window_effect,
               "clv_by_arm": self.by_arm}
        for name, t in self.by_segment.items():
            out[f"clv_by_{name}"] = t
        if self.method_notes:
            out["clv_method_notes"] = pd.DataFrame({"note": list(self.method_notes)})
        if self.churn is not None:
            out["churn_scores"] = self.churn.scores
            out["churn_reliability"] = self.churn.reliability
        return out

    def write(self, results_dir: str | Path) -> Path:
        """``metrics.json`` (merged with one already there), ``tables/*.csv`` and
        ``models/<name>/`` (MLflow pyfunc) under ``results_dir``."""
        from crm_experiments.models import persistence

        out = Path(results_dir)
        (out / "tables").mkdir(parents=True, exist_ok=True)
        mpath = out / "metrics.json"
        metrics = json.loads(mpath.read_text()) if mpath.exists() else {}
        metrics.update(self.metrics())
        mpath.write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        for name, frame in self.tables().items():
            frame.to_csv(out / "tables" / f"{name}.csv", index=False)
        models = out / "models"
        persistence.save_model(persistence.clv_pyfunc(self.purchase_model, self.spend_model,
                                                      months=self.months), models / "clv")
        persistence.save_model(persistence.clv_pyfunc(self.purchase_model, months=self.months),
                               models / self.purchase_model.kind)
        if self.churn is not None:
            persistence.save_model(persistence.ClassifierPyfunc(
                self.churn.models["classifier"], self.churn.models["classifier_features"]),
                models / "churn_classifier")
        return out


def _clv_of(customers: pd.Index, purchase_model, spend_model, features: pd.DataFrame,
            months, annual_discount_rate) -> pd.DataFrame:
    """:func:`customer_clv` of ``customers`` (in their order), 0 for those without a row in
    ``features`` (no purchase yet; their number is in ``attrs["no_history"]``)."""
    pos = features.index.get_indexer(customers)
    have = pos >= 0
    clv = customer_clv(purchase_model, spend_model, features.iloc[pos[have]], months=months,
                       annual_discount_rate=annual_discount_rate)
    values = np.zeros((len(customers), clv.shape[1]))
    values[have] = clv.to_numpy()
    out = pd.DataFrame(values, index=customers, columns=clv.columns)
    out.attrs["no_history"] = int((~have).sum())
    return out


def _fit_note(what: str, models) -> str | None:
    """One sentence on the sample the models of ``what`` were fitted on (None: everyone)."""
    sampled = [m for m in models if m.n_fit_customers_ < m.n_customers_]
    if not sampled:
        return None
    labels = ", ".join(m.label for m in sampled)
    sizes = sorted({(m.n_fit_customers_, m.n_customers_) for m in sampled})
    of = "; ".join(f"{n:,} of {total:,}" for n, total in sizes)
    return f"{what}: {labels} fitted on a seeded random sample of customers ({of})"


def campaign_clv(shop, params, horizon_days: int, *, unit: str = "week",
                 churn_days: int = 30, annual_discount_rate: float = 0.10,
                 n_boot: int = 1000, max_fit_customers: int | None = MAX_FIT_CUSTOMERS,
                 max_churn_customers: int | None = MAX_FIT_CUSTOMERS) -> CampaignCLV:
    """Fit, validate and apply the CLV models to a campaign (see the module docstring).

    Large shops: the models are fitted on a seeded random sample of ``max_fit_customers``
    customers (``params.seed``) and predict for everyone; the churn scorers are compared on a
    sample of ``max_churn_customers`` (the same 100,000 by default); the incremental-CLV
    intervals are Welch's instead of the bootstrap above ~50,000 assigned customers
    (:func:`incremental_mean`). ``method_notes`` says what was applied. ``None`` turns a cap
    off.
    """
    with one_blas_thread():
        return _campaign_clv(shop, params, horizon_days, unit=unit, churn_days=churn_days,
                             annual_discount_rate=annual_discount_rate, n_boot=n_boot,
                             max_fit_customers=max_fit_customers,
                             max_churn_customers=max_churn_customers)


def _campaign_clv(shop, params, horizon_days: int, *, unit, churn_days, annual_discount_rate,
                  n_boot, max_fit_customers, max_churn_customers) -> CampaignCLV:
    orders = shop["orders"]
    seed = int(params.seed)
    cal_end = params.sale_start
    obs_end = params.window_end(horizon_days)
    end = data_end(orders)
    notes: list[str] = []
    method: list[str] = []
    if obs_end > end:
        notes.append(f"the data end on {(end - pd.Timedelta(days=1)).date()}, before the window "
                     f"end {obs_end.date()}: the holdout is shorter")
        obs_end = end
    months = (3, 6, 12)
    fit_args = {"max_customers": max_fit_customers, "seed": seed}

    def record(caught) -> None:
        notes.extend(str(w.message) for w in caught if not issubclass(w.category,
                                                                       FitSampleWarning))

    # 1. validation: calibration = before the sale, holdout = sale + horizon
    feats_cal = rfm_features(orders, cal_end, obs_end, unit=unit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelWarning)
        models = fit_purchase_models(feats_cal, **fit_args)
        gg_cal = GammaGammaModel().fit(feats_cal, **fit_args)
    record(caught)
    first = int(feats_cal["first_purchase_day"].min())
    actual = repeat_purchases_by_day(
        orders, pd.Timestamp("1970-01-01") + pd.Timedelta(days=first), obs_end, cal_end)
    validation = validate_models(models, feats_cal, actual_by_day=actual)
    best = validation.best
    # 2. assigned customers: arm, segments; the pre-sale CLV from the calibration models
    cust = campaign_customers(shop, params, horizon_days).set_index("customer_id")
    keep = ["arm", "revenue", *[c for c in dict.fromkeys([*params.segments, "tier"])
                                 if c in cust.columns and c not in ("arm", "revenue")]]
    cust = cust[keep]  # only what is used below
    cust.index = cust.index.astype(str)
    for col in keep:
        if col != "revenue":
            cust[col] = cust[col].astype("category")  # grouped several times below
    pre = _clv_of(cust.index, models[best], gg_cal, feats_cal, months,
                  annual_discount_rate)[["clv_12m"]]
    del feats_cal
    # 3. refit the chosen model on everything up to the window end
    feats_post = rfm_features(orders, obs_end, unit=unit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelWarning)
        pm = type(models[best])().fit(feats_post, **fit_args)
        gg = GammaGammaModel().fit(feats_post, **fit_args)
    record(caught)
    post = _clv_of(cust.index, pm, gg, feats_post, months, annual_discount_rate)
    # churn below: the customers with a purchase before its cutoff (<= obs_end)
    cutoff = min(obs_end, end - pd.Timedelta(days=churn_days))
    cutoff_day = (cutoff.normalize() - pd.Timestamp("1970-01-01")).days
    churn_population = feats_post.index[feats_post["first_purchase_day"].to_numpy() < cutoff_day]
    del feats_post
    for what, ms in (("Calibration (before the sale)", [*models.values(), gg_cal]),
                     (f"Up to the window end ({obs_end.date()})", [pm, gg])):
        note = _fit_note(what, ms)
        if note:
            method.append(note + f", seed {seed}; parameters describe the population, CLV is "
                          "predicted for every customer from his own history and the "
                          "log-likelihoods are over all customers.")
    # 4. incremental CLV: no history = CLV 0
    n_none = int(post.attrs["no_history"])
    if n_none:
        notes.append(f"{n_none:,} assigned customers had no purchase by {obs_end.date()}; "
                     "their CLV is counted as 0 (the models describe customers after a first "
                     "purchase)")
    inc = []
    change = pd.DataFrame({"clv_12m": post["clv_12m"] - pre["clv_12m"]})
    for when, frame in (("after_window", post), ("pre_sale", pre), ("change", change)):
        t = incremental_mean(frame["clv_12m"], cust["arm"], params.control_arm,
                             seed=seed, n_boot=n_boot)
        t.insert(0, "when", when)
        inc.append(t)
    del pre, change
    window = incremental_mean(cust["revenue"], cust["arm"], params.control_arm,
                              seed=seed, n_boot=n_boot)
    methods = set(pd.concat(inc)["method"]) | set(window["method"])
    if any(m.startswith("Welch") for m in methods):
        method.append(f"Intervals of the incremental CLV and in-window revenue: Welch's t "
                      f"interval, not the bootstrap (the arms have {len(cust):,} customers; at "
                      "that size the bootstrap over customers gives the same normal interval up "
                      "to its Monte Carlo noise, at a thousand times the cost).")
    by_arm = clv_by(post, cust["arm"], "arm", months)
    by_segment = {}
    for seg in params.segments:
        if seg in cust:
            by_segment[seg] = clv_by(post, cust[seg], seg, months)
    if "tier" in cust and "tier" not in by_segment:
        by_segment["tier"] = clv_by(post, cust["tier"], "tier", months)
    del post, cust
    # 5. churn: the latest cutoff whose N-day follow-up is in the data, at most the window end
    churn = None
    try:
        churn = compare_churn_scorers(
            orders, cutoff, churn_days, unit=unit, seed=seed,
            interactions=shop["interactions"] if shop.has("interactions") else None,
            max_customers=max_churn_customers, population=churn_population)
    except CrmError as exc:
        notes.append(f"churn comparison skipped: {exc}")
    if churn is not None and churn.sampled:
        method.append(f"Churn scorers compared on a seeded random sample of "
                      f"{int(churn.scores['n'].iloc[0]):,} of the {churn.population:,} customers "
                      f"with a purchase before {churn.cutoff.date()} (seed {seed}).")
    return CampaignCLV(
        campaign_id=params.campaign_id, currency=params.costs.currency,
        horizon_days=horizon_days, calibration_end=cal_end, observation_end=obs_end, unit=unit,
        validation=validation, purchase_model=pm, spend_model=gg,
        incremental=pd.concat(inc, ignore_index=True), window_effect=window, by_arm=by_arm,
        by_segment=by_segment, churn=churn, months=months, notes=tuple(notes),
        method_notes=tuple(method))
