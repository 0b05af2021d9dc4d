"""The campaign's incremental CLV and churn risk: fit, validate and apply the CLV models of
:mod:`crm_experiments.models` to one campaign at one horizon (:func:`campaign_clv`).

The models are fitted on the history up to the end of the evaluation window (sale end +
horizon), every assigned customer's 12-month CLV from then on is predicted (0 for an assigned
customer who has never bought), and each treatment arm's mean is compared with the holdout
control's (:func:`crm_experiments.models.clv.incremental_mean`); see
:mod:`crm_experiments.models.clv` for the definitions and the large-shop sampling.

Fallbacks (a shop's data decide what can be fitted): a purchase model that fails is left out
of the validation; the chosen one that cannot be refitted at the window end gives way to the
next validated one (a note); the Gamma-Gamma spend model is retried with a penalizer (named in
the method notes); the churn comparison keeps the hiatus rule and the classifier when the
purchase model cannot score. With no purchase model or no spend model at all, the analysis
raises :class:`~crm_experiments.errors.AnalysisSkipped` and the report shows why.

:class:`CampaignCLV` is a result (:class:`~crm_experiments.analyses.result.ResultMixin`): its
``summary()`` holds the page's facts as data (no English sentences), the page is
:mod:`crm_experiments.report.clv_page`; ``write(dir)`` adds the MLflow pyfunc models.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from crm_experiments.analyses.from_evaluation import evaluation_customers
from crm_experiments.analyses.result import ResultMixin, finite_metrics
from crm_experiments.errors import AnalysisSkipped, CrmError
from crm_experiments.metrics.campaign import campaign_customers
from crm_experiments.models.btyd import (
    FitSampleWarning,
    ModelWarning,
    PurchaseModel,
    fit_sample,
    one_blas_thread,
)
from crm_experiments.models.churn import SCORERS, compare_churn_scorers
from crm_experiments.models.clv import clv_by, customer_clv, incremental_mean
from crm_experiments.models.features import (
    PurchaseDates,
    data_end,
    purchase_dates,
    repeat_purchases_by_day,
    rfm_features,
)
from crm_experiments.models.gamma_gamma import GammaGammaModel, fit_spend_model
from crm_experiments.models.sample import precision_factor, sample_positions, second_sample
from crm_experiments.models.validation import fit_purchase_models, validate_models

#: Declared tables of a stored CLV/churn result (see :class:`ResultMixin`); the churn tables
#: are there (empty) when the churn comparison was skipped.
CLV_SCHEMA: dict[str, tuple[str, ...]] = {
    "clv_models": ("model", "label", "log_likelihood", "aic", "n_customers", "n_fit_customers",
                   "holdout_predicted", "holdout_actual", "holdout_error_pct",
                   "by_frequency_mae"),
    "clv_holdout_by_frequency": ("bucket", "customers", "actual", "predicted", "model"),
    "clv_tracking": ("day", "actual", "date"),
    "clv_frequency_histogram": ("bucket", "customers"),
    "clv_incremental": ("when", "arm", "n_arm", "mean_arm", "mean_control", "estimate",
                        "ci_low", "ci_high", "p_value", "method"),
    "clv_window_effect": ("arm", "n_arm", "mean_arm", "mean_control", "estimate", "ci_low",
                          "ci_high", "p_value"),
    "clv_by_arm": ("arm", "customers", "clv_12m_mean", "clv_12m_total"),
    "clv_by_*": ("customers",),
    "churn_scores": ("scorer", "auc", "brier", "n", "population", "churn_rate"),
    "churn_reliability": ("scorer", "bin", "mean_score", "observed", "customers"),
}


def _finding(ci_low: float, ci_high: float) -> str:
    """What an incremental-CLV interval says: above 0, below 0 or neither."""
    if ci_low > 0:
        return "lasting_value"
    if ci_high < 0:
        return "less_value"
    return "no_clear_effect"


def _plain(value):
    """A JSON-able Python value (numbers as float/int, NaN as None)."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    x = float(value)
    return x if np.isfinite(x) else None


@dataclass(frozen=True, repr=False)
class CampaignCLV(ResultMixin):
    """The campaign's incremental CLV and churn risk at one horizon (:func:`campaign_clv`).

    ``notes`` and ``method_notes`` are facts, not sentences: dicts with a ``key`` (a text of
    the report's translation table) and the values it mentions.
    """

    KIND: ClassVar[str] = "clv_churn"
    SCHEMA: ClassVar[dict[str, tuple[str, ...]]] = CLV_SCHEMA
    MAIN_TABLE: ClassVar[str] = "clv_incremental"

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
    notes: tuple[dict, ...] = field(default_factory=tuple)
    method_notes: tuple[dict, ...] = field(default_factory=tuple)  # samples / intervals applied
    display_name: str = ""
    language: str = "en"
    control_arm: str = "control"
    arm_labels: dict[str, str] = field(default_factory=dict)
    annual_discount_rate: float = 0.10

    # --- the protocol ----------------------------------------------------------------------
    def summary(self) -> dict:
        """Everything the CLV/churn page shows besides the tables, as plain data."""
        inc = self.incremental
        headline = [{"arm": str(r.arm), "estimate": _plain(r.estimate),
                     "ci_low": _plain(r.ci_low), "ci_high": _plain(r.ci_high),
                     "n_arm": int(r.n_arm), "total": _plain(r.estimate * r.n_arm),
                     "finding": _finding(r.ci_low, r.ci_high)}
                    for r in inc[inc["when"] == "after_window"].itertuples()]
        change = [{"arm": str(r.arm), "estimate": _plain(r.estimate),
                   "ci_low": _plain(r.ci_low), "ci_high": _plain(r.ci_high)}
                  for r in inc[inc["when"] == "change"].itertuples()]
        welch = inc["method"].astype(str).str.startswith("Welch").any()
        v = self.validation
        models = v.summary.sort_values(["by_frequency_mae", "aic"])
        best = models[models["model"] == v.best].iloc[0]
        return {
            "campaign_id": self.campaign_id, "display_name": self.display_name,
            "language": self.language, "currency": self.currency,
            "horizon_days": int(self.horizon_days), "control_arm": self.control_arm,
            "arm_labels": dict(self.arm_labels),
            "calibration_end": str(self.calibration_end.date()),
            "observation_end": str(self.observation_end.date()), "unit": self.unit,
            "months": [int(m) for m in self.months],
            "annual_discount_rate": float(self.annual_discount_rate),
            "interval_method": "welch" if welch else "bootstrap",
            "headline": headline, "change": change,
            "model": {"chosen": str(v.best), "label": str(best["label"]),
                      **{k: _plain(best[k]) for k in ("by_frequency_mae", "holdout_predicted",
                                                      "holdout_actual", "holdout_error_pct")},
                      "others": [{"model": str(r.model), "label": str(r.label),
                                  "by_frequency_mae": _plain(r.by_frequency_mae)}
                                 for r in models.itertuples() if r.model != v.best]},
            "fitted": {"purchase": self._fitted(self.purchase_model),
                       "spend": self._fitted(self.spend_model)},
            "churn": self._churn_summary(),
            "method_notes": [dict(n) for n in self.method_notes],
            "notes": [dict(n) for n in self.notes],
        }

    @staticmethod
    def _fitted(model) -> dict:
        return {"kind": str(getattr(model, "kind", "gamma_gamma")), "label": str(model.label),
                "params": {k: _plain(x) for k, x in model.params_.items()},
                "log_likelihood": _plain(model.log_likelihood_),
                "n_customers": int(model.n_customers_),
                "n_fit_customers": int(getattr(model, "n_fit_customers_", model.n_customers_))}

    def _churn_summary(self) -> dict | None:
        c = self.churn
        if c is None:
            return None
        scores = c.scores.set_index("scorer")
        main = c.scores[c.scores["scorer"].isin(SCORERS)].sort_values("brier")
        warnings = []
        if c.one_timer_share is not None and "p_alive" in scores.index:
            warnings.append({"key": "churn_warning_p_alive", "share": c.one_timer_share,
                             "auc": _plain(scores.loc["p_alive", "auc"]),
                             "days": int(c.churn_days)})
        return {"best": c.best, "best_by_auc": c.best_by_auc,
                "cutoff": str(pd.Timestamp(c.cutoff).date()), "days": int(c.churn_days),
                "customers": int(scores["n"].iloc[0]), "population": int(c.population),
                "sampled": bool(c.sampled), "churn_rate": _plain(scores["churn_rate"].iloc[0]),
                "brier": {str(r.scorer): _plain(r.brier) for r in main.itertuples()},
                "auc": {str(r.scorer): _plain(r.auc) for r in main.itertuples()},
                "warnings": warnings}

    def _headline(self) -> dict:
        s = self.summary()
        out = {"campaign_id": s["campaign_id"], "horizon_days": s["horizon_days"],
               "model": s["model"]["label"]}
        for h in s["headline"]:
            out[f"clv_12m_incremental.{h['arm']}"] = round(h["estimate"] or float("nan"), 2)
        if s["churn"]:
            out["churn_scorer"] = s["churn"]["best"]
        return out

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
        for note in self.method_notes:  # the sample's cost in precision (_sample_check)
            if note["key"] == "clv_method_sample_precision":
                out["clv.fit.precision_factor"] = note["factor"]
                for k in ("mean_first", "mean_second", "spread_pct"):
                    if note.get(k) is not None:
                        out[f"clv.fit.sample_check.{k}"] = note[k]
        if self.churn is not None:
            out.update(self.churn.metrics())
        return finite_metrics(out)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Aggregates only (no customer-level rows)."""
        v = self.validation
        out = {"clv_models": v.summary, "clv_holdout_by_frequency": v.by_frequency,
               "clv_tracking": v.tracking, "clv_frequency_histogram": v.histogram,
               "clv_incremental": self.incremental, "clv_window_effect": self.window_effect,
               "clv_by_arm": self.by_arm}
        for name, t in self.by_segment.items():
            out[f"clv_by_{name}"] = t
        if self.churn is not None:
            out["churn_scores"] = self.churn.scores
            out["churn_reliability"] = self.churn.reliability
        else:
            for name in ("churn_scores", "churn_reliability"):
                out[name] = pd.DataFrame(columns=list(CLV_SCHEMA[name]))
        return out

    def write(self, out_dir: str | Path) -> Path:
        """The stored result (:meth:`ResultMixin.write`) and ``models/<name>/`` (MLflow pyfunc:
        ``clv``, the chosen purchase model, ``churn_classifier``) under ``out_dir``."""
        from crm_experiments.models import persistence

        out = super().write(out_dir)
        models = {"clv": persistence.clv_pyfunc(self.purchase_model, self.spend_model,
                                                months=self.months),
                  self.purchase_model.kind: persistence.clv_pyfunc(self.purchase_model,
                                                                   months=self.months)}
        if self.churn is not None:
            models["churn_classifier"] = persistence.ClassifierPyfunc(
                self.churn.models["classifier"], self.churn.models["classifier_features"])
        for name, model in models.items():
            shutil.rmtree(out / "models" / name, ignore_errors=True)  # an earlier result's
            persistence.save_model(model, out / "models" / name)
        return out


def _clv_of(customers: pd.Index, purchase_model, spend_model, features: pd.DataFrame,
            months, annual_discount_rate) -> pd.DataFrame:
    """The ``clv_<M>m`` columns of :func:`customer_clv` of ``customers`` (in their order), 0
    for those without a row in ``features`` (no purchase yet; their number is in
    ``attrs["no_history"]``)."""
    pos = features.index.get_indexer(customers)
    have = pos >= 0
    # the rows of the assigned customers, with the four columns the models read (not a copy
    # of the whole feature frame)
    rows = features[["frequency", "recency", "T", "monetary_value"]].iloc[pos[have]]
    clv = customer_clv(purchase_model, spend_model, rows, months=months,
                       annual_discount_rate=annual_discount_rate, clv_only=True)
    del rows
    values = np.zeros((len(customers), clv.shape[1]))
    values[have] = clv.to_numpy()
    out = pd.DataFrame(values, index=customers, columns=clv.columns, copy=False)
    out.attrs["no_history"] = int((~have).sum())
    return out


def _fit_note(stage: str, models, seed: int, date: pd.Timestamp) -> dict | None:
    """The sample the models of ``stage`` (``calibration`` / ``window_end``) were fitted on,
    as a method note (None: on every customer)."""
    sampled = [m for m in models if m.n_fit_customers_ < m.n_customers_]
    if not sampled:
        return None
    sizes = sorted({(int(m.n_fit_customers_), int(m.n_customers_)) for m in sampled})
    return {"key": f"clv_method_fit_sample_{stage}", "models": [m.label for m in sampled],
            "sizes": [list(x) for x in sizes], "seed": seed, "date": str(date.date())}


def _spend_model(features: pd.DataFrame, fit_args: dict) -> GammaGammaModel:
    """The Gamma-Gamma model, retried with a penalizer when it does not converge
    (:func:`~crm_experiments.models.gamma_gamma.fit_spend_model`); none: the CLV is skipped."""
    try:
        return fit_spend_model(features, **fit_args)
    except CrmError as exc:
        raise AnalysisSkipped("skip_clv_no_spend_model", f"CLV and churn skipped: {exc}",
                              reason=str(exc)) from exc


def _refit(validation, models: dict, features: pd.DataFrame, fit_args: dict,
           notes: list[dict]):
    """The best validated purchase model refitted on ``features``; when that fit fails, the
    next model in the validation's order (with a note); none: the CLV is skipped."""
    order = validation.summary.sort_values(["by_frequency_mae", "aic"])["model"].tolist()
    order = [validation.best, *[m for m in order if m != validation.best and m in models]]
    failed: list[str] = []
    for kind in order:
        try:
            pm = type(models[kind])().fit(features, **fit_args)
        except CrmError as exc:
            failed.append(f"{models[kind].label}: {exc}")
            continue
        if failed:
            notes.append({"key": "clv_note_refit_fallback", "model": pm.label,
                          "reason": "; ".join(failed)})
        return pm
    reason = "; ".join(failed)
    raise AnalysisSkipped("skip_clv_no_purchase_model", f"CLV and churn skipped: {reason}",
                          reason=reason)


#: ``campaign_clv``'s default sample sizes: ``params.model_sample``'s.
FROM_PARAMS = "params"


def _sample_check(pm, gg, features: pd.DataFrame, n: int | None, seed: int,
                  annual_discount_rate: float) -> dict | None:
    """What fitting on a sample costs in precision, measured: each model fitted on a sample
    refitted on a second random sample of the same size disjoint from its first
    (:func:`~crm_experiments.models.sample.second_sample`): the purchase model on the
    customers ranked ``n .. 2n - 1``, the spend model, when it was fitted on a sample of ``n``
    of the repeat customers, on the repeat customers ranked ``n .. 2n - 1`` among them (when
    it was fitted on all of them it is kept, ``spend_refitted`` False). The mean 12-month CLV
    of the customers of both purchase samples predicted by each pair of fits differs by
    sampling error alone, so ``|a - b| / sqrt(2)`` estimates the standard error of one fit's
    figure (one degree of freedom: a rough size, not a bound). None when the models were
    fitted on everyone; without the check (only ``sqrt(N / n)`` stated) when the population
    holds fewer than ``2 n`` customers, or more than ``n`` but fewer than ``2 n`` repeat
    customers."""
    population = int(pm.n_customers_)
    if n is None or pm.n_fit_customers_ >= population:
        return None
    out = {"n": int(pm.n_fit_customers_), "population": population,
           "factor": precision_factor(population, int(pm.n_fit_customers_))}
    pos = second_sample(features.index, n, seed)
    if pos is None:
        return out
    spend_refitted = gg.n_fit_customers_ < gg.n_customers_
    if spend_refitted:
        _, _, _, repeat = GammaGammaModel._repeaters(features, with_mask=True)
        spend_pos = second_sample(features.index, n, seed, among=repeat)
        if spend_pos is None:
            return out
        spend_second = features.iloc[np.flatnonzero(repeat)[spend_pos]]
    first = fit_sample(features.index, n, seed)
    both = features.iloc[np.sort(np.concatenate([first, pos]))]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelWarning)
            pm2 = type(pm)(penalizer_coef=pm.penalizer_coef).fit(features.iloc[pos],
                                                                 max_customers=None)
            gg2 = (GammaGammaModel(penalizer_coef=gg.penalizer_coef).fit(spend_second,
                                                                         max_customers=None)
                   if spend_refitted else gg)
    except CrmError:
        return out
    a, b = (float(customer_clv(p, g, both, months=(12,), annual_discount_rate=annual_discount_rate,
                               clv_only=True)["clv_12m"].mean())
            for p, g in ((pm, gg), (pm2, gg2)))
    out.update({"mean_first": a, "mean_second": b,
                "spread_pct": abs(a - b) / abs(a) * 100 if a else None,
                "spend_refitted": bool(spend_refitted),
                "spend_n": int(gg2.n_fit_customers_), "repeat_customers": int(gg.n_customers_)})
    return out


def campaign_clv(shop, params, horizon_days: int, *, unit: str = "week",
                 churn_days: int = 30, annual_discount_rate: float = 0.10,
                 n_boot: int = 1000, max_fit_customers: int | None | str = FROM_PARAMS,
                 max_churn_customers: int | None | str = FROM_PARAMS,
                 evaluation=None) -> CampaignCLV:
    """Fit, validate and apply the CLV models to a campaign (see the module docstring).

    Large shops: the models are fitted on a random sample of ``max_fit_customers`` customers
    drawn by hashing their ids with ``params.seed`` (:mod:`crm_experiments.models.sample`;
    default ``params.model_sample.clv_customers``) and predict for everyone; the churn
    scorers are compared on a sample of ``max_churn_customers`` (default
    ``params.model_sample.churn_customers``); the incremental-CLV intervals are Welch's
    instead of the bootstrap above ~50,000 assigned customers (:func:`incremental_mean`).
    When the population holds two disjoint samples, the chosen models are refitted on the
    second one to measure what the sample costs in precision (:func:`_sample_check`).
    ``method_notes`` says what was applied. ``None`` turns a cap off.

    ``evaluation``: the campaign's evaluation at this horizon (stored, as the runner's
    notebook finds it beside its own results, or live): its per-customer table is taken
    instead of computing it again
    (:func:`~crm_experiments.analyses.from_evaluation.evaluation_customers`).
    """
    if max_fit_customers == FROM_PARAMS:
        max_fit_customers = params.model_sample.clv_customers
    if max_churn_customers == FROM_PARAMS:
        max_churn_customers = params.model_sample.churn_customers
    with one_blas_thread():
        return _campaign_clv(shop, params, horizon_days, unit=unit, churn_days=churn_days,
                             annual_discount_rate=annual_discount_rate, n_boot=n_boot,
                             max_fit_customers=max_fit_customers,
                             max_churn_customers=max_churn_customers, evaluation=evaluation)


def _campaign_clv(shop, params, horizon_days: int, *, unit, churn_days, annual_discount_rate,
                  n_boot, max_fit_customers, max_churn_customers, evaluation) -> CampaignCLV:
    orders = shop["orders"]
    seed = int(params.seed)
    cal_end = params.sale_start
    obs_end = params.window_end(horizon_days)
    end = data_end(orders)
    notes: list[dict] = []
    method: list[dict] = []
    if obs_end > end:
        notes.append({"key": "clv_note_data_short",
                      "data_end": str((end - pd.Timedelta(days=1)).date()),
                      "window_end": str(obs_end.date())})
        obs_end = end
    months = (3, 6, 12)
    fit_args = {"max_customers": max_fit_customers, "seed": seed}

    def record(caught) -> None:
        notes.extend({"key": "clv_note_model_warning", "text": str(w.message)}
                     for w in caught if not issubclass(w.category, FitSampleWarning))

    # 1. validation: calibration = before the sale, holdout = sale + horizon
    # the three feature queries read the purchase days before the window end: aggregated
    # over every order once, kept in the engine while they run
    dates = purchase_dates(orders, obs_end)
    dates = PurchaseDates(dates.end, shop.con.cache(dates.frame))
    try:
        feats_cal = rfm_features(orders, cal_end, obs_end, unit=unit, dates=dates)
        first = int(feats_cal["first_purchase_day"].min())
        actual = repeat_purchases_by_day(
            orders, pd.Timestamp("1970-01-01") + pd.Timedelta(days=first), obs_end, cal_end,
            dates=dates)
        feats_post = rfm_features(orders, obs_end, unit=unit, dates=dates)
    finally:
        shop.con.release(dates.frame)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelWarning)
        try:
            models = fit_purchase_models(feats_cal, **fit_args)
        except CrmError as exc:
            raise AnalysisSkipped("skip_clv_no_purchase_model",
                                  f"CLV and churn skipped: {exc}", reason=str(exc)) from exc
        gg_cal = _spend_model(feats_cal, fit_args)
    record(caught)
    validation = validate_models(models, feats_cal, actual_by_day=actual)
    best = validation.best
    # 2. assigned customers: arm, segments; the pre-sale CLV from the calibration models
    used = ["arm", "revenue", *[c for c in dict.fromkeys([*params.segments, "tier"])
                                 if c not in ("arm", "revenue")]]
    cust = evaluation_customers(evaluation, params, horizon_days, columns=used)
    if cust is None:
        cust = campaign_customers(shop, params, horizon_days)
    cust = cust.set_index("customer_id")
    keep = [c for c in used if c in cust.columns]
    cust = cust[keep]  # only what is used below
    cust.index = cust.index.astype(str)
    for col in keep:
        if col != "revenue":
            cust[col] = cust[col].astype("category")  # grouped several times below
    pre = _clv_of(cust.index, models[best], gg_cal, feats_cal, (12,), annual_discount_rate)
    del feats_cal
    # 3. refit the chosen model on everything up to the window end
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelWarning)
        pm = _refit(validation, models, feats_post, fit_args, notes)
        gg = _spend_model(feats_post, fit_args)
    record(caught)
    post = _clv_of(cust.index, pm, gg, feats_post, months, annual_discount_rate)
    check = _sample_check(pm, gg, feats_post, max_fit_customers, seed, annual_discount_rate)
    if check is not None:
        method.append({"key": "clv_method_sample_precision", **check,
                       "date": str(obs_end.date()), "currency": params.costs.currency})
    # churn below: the customers with a purchase before its cutoff (<= obs_end)
    cutoff = min(obs_end, end - pd.Timedelta(days=churn_days))
    cutoff_day = (cutoff.normalize() - pd.Timestamp("1970-01-01")).days
    bought = feats_post["first_purchase_day"].to_numpy() < cutoff_day
    churn_population = feats_post.index[bought]
    # the churn sample from the hash positions of feats_post's ids (computed for the refit
    # when it was sampled): the population's ids are not hashed again
    pick = (None if max_churn_customers is None else
            sample_positions(feats_post.index, max_churn_customers, seed, among=bought))
    churn_sample = None if pick is None else churn_population[pick]
    del feats_post
    for stage, ms, date in (("calibration", [*models.values(), gg_cal], cal_end),
                            ("window_end", [pm, gg], obs_end)):
        note = _fit_note(stage, ms, seed, date)
        if note:
            method.append(note)
        spend = gg_cal if stage == "calibration" else gg
        if spend.penalizer_coef > 0:
            method.append({"key": "clv_method_gg_penalizer", "penalizer": spend.penalizer_coef,
                           "date": str(date.date())})
    # 4. incremental CLV: no history = CLV 0
    n_none = int(post.attrs["no_history"])
    if n_none:
        notes.append({"key": "clv_note_no_history", "n": n_none,
                      "date": str(obs_end.date())})
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
        method.append({"key": "clv_method_welch", "n": len(cust)})
    by_arm = clv_by(post, cust["arm"], "arm", months)
    by_segment = {}
    for seg in dict.fromkeys([*params.segments, "tier"]):
        if seg not in cust:
            continue
        values = cust[seg].dropna().unique()
        if len(values) < 2:  # one group says nothing (an import without tiers: all unknown)
            notes.append({"key": "clv_note_segment_one_value", "segment": seg,
                          "value": str(values[0]) if len(values) else ""})
            continue
        by_segment[seg] = clv_by(post, cust[seg], seg, months)
    del post, cust
    # 5. churn: the latest cutoff whose N-day follow-up is in the data, at most the window end
    churn = None
    try:
        churn = compare_churn_scorers(
            orders, cutoff, churn_days, unit=unit, seed=seed,
            interactions=shop["interactions"] if shop.has("interactions") else None,
            max_customers=max_churn_customers, population=churn_population,
            sample=churn_sample)
    except CrmError as exc:
        notes.append({"key": "clv_note_churn_skipped", "reason": str(exc)})
    if churn is not None and churn.model_error:
        notes.append({"key": "clv_note_churn_model_left_out", "reason": churn.model_error})
    if churn is not None and churn.sampled:
        method.append({"key": "clv_method_churn_sample", "n": int(churn.scores["n"].iloc[0]),
                       "population": int(churn.population), "date": str(churn.cutoff.date()),
                       "seed": seed})
    return CampaignCLV(
        campaign_id=params.campaign_id, currency=params.costs.currency,
        horizon_days=horizon_days, calibration_end=cal_end, observation_end=obs_end, unit=unit,
        validation=validation, purchase_model=pm, spend_model=gg,
        incremental=pd.concat(inc, ignore_index=True), window_effect=window, by_arm=by_arm,
        by_segment=by_segment, churn=churn, months=months, notes=tuple(notes),
        method_notes=tuple(method), display_name=params.display_name, language=params.language,
        control_arm=params.control_arm,
        arm_labels={a.name: a.label or a.name for a in params.arms},
        annual_discount_rate=annual_discount_rate)
