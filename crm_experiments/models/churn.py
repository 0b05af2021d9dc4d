"""Churn = no purchase in the next N days, scored three ways and compared on a time-based holdout.

With a cutoff ``c`` (exclusive, midnight) and ``N`` days:

* test set: every customer with a purchase before ``c``; label 1 = no purchase in ``[c, c+N)``;
* training set (for the rules that learn from labels): the same at ``c - N``, labels in
  ``[c - N, c)``, so nothing after ``c`` is used by any scorer;
* scorers: ``model`` = the purchase model's P(no purchase in N days | history), fitted on data
  before ``c``; ``hiatus`` = days since the last purchase, calibrated into a probability by an
  increasing isotonic fit on the training set; ``classifier`` = scikit-learn logistic
  regression (log-transformed, standardised) on RFM and behaviour features
  (:func:`~crm_experiments.models.features.behaviour_features`).
  ``p_alive`` (1 - P(alive)) is shown for reference with a warning: BG/NBD gives P(alive) = 1
  to every customer without a repeat purchase, however long ago they bought.
  When the purchase model cannot be fitted or gives invalid scores, ``model`` and ``p_alive``
  are left out (``model_error`` says why) and the other two are still compared.

Compared by ROC AUC (ranking), Brier score (probability accuracy; lower is better) and a
reliability table (mean score vs observed churn share in 10 score bins).

**Large data: a seeded random sample of customers.** With more than ``max_customers``
(default :data:`MAX_CHURN_CUSTOMERS` = 100,000) customers with a purchase before the cutoff,
the comparison runs on a simple random sample of that many of them (drawn by hashing their
pseudonymous ids with ``seed``, :mod:`crm_experiments.models.sample`): their orders (and
interactions) are selected in the engine first, so every feature, label and fit is computed
for the sample only. The training set is the sampled customers with a purchase before
``c - N``, itself a random sample of that population. AUC and Brier score on 100,000
customers have standard errors of about 0.001-0.002, well below the differences that decide
between the scorers; ``reason``, the ``n`` and ``population`` columns of ``scores`` and
:meth:`ChurnComparison.metrics` report the sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import narwhals as nw
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from crm_experiments.errors import CrmError
from crm_experiments.io.engine import Engine, collect, engine_of
from crm_experiments.metrics.orders import is_purchase, ts
from crm_experiments.models.btyd import (
    PURCHASE_MODELS,
    PurchaseModel,
    one_blas_thread,
)
from crm_experiments.models.features import (
    behaviour_features,
    data_end,
    future_purchase_flag,
    rfm_features,
    unit_days,
)
from crm_experiments.models.sample import precision_factor, sample_positions
from crm_experiments.params import ModelSample

SCORERS = ("model", "hiatus", "classifier")
#: Above this many customers (with a purchase before the cutoff), churn scorers are compared on
#: a seeded random sample of this many: the params' default (``model_sample.churn_customers``).
MAX_CHURN_CUSTOMERS = ModelSample().churn_customers


@dataclass(frozen=True)
class ChurnComparison:
    cutoff: pd.Timestamp
    churn_days: int
    scores: pd.DataFrame        # scorer, auc, brier, n, churn_rate
    reliability: pd.DataFrame   # scorer, bin, mean_score, observed, customers
    best: str
    reason: str
    warnings: tuple[str, ...] = ()
    models: dict = field(default_factory=dict)  # fitted objects: purchase model, classifier...
    population: int = 0         # customers with a purchase before the cutoff
    sampled: bool = False       # compared on a random sample of them (scores["n"])
    best_by_auc: str = ""       # the scorer with the highest AUC
    #: share of the scored customers without a repeat purchase, when ``p_alive`` came from a
    #: BG/NBD model (which gives them P(alive) = 1: the first warning); else None
    one_timer_share: float | None = None
    #: why the purchase model's scorers are left out (None: they are there)
    model_error: str | None = None

    def metrics(self) -> dict[str, float]:
        out = {}
        for r in self.scores.itertuples():
            out[f"churn.{r.scorer}.auc"] = r.auc
            out[f"churn.{r.scorer}.brier"] = r.brier
        out["churn.base_rate"] = float(self.scores["churn_rate"].iloc[0])
        out["churn.days"] = float(self.churn_days)
        out["churn.customers_scored"] = float(self.scores["n"].iloc[0])
        out["churn.customers_population"] = float(self.population)
        n = float(self.scores["n"].iloc[0])
        if self.sampled and n > 0:  # standard errors vs all customers: sqrt(N / n)
            out["churn.precision_factor"] = precision_factor(self.population, int(n))
        return out


class HiatusRule:
    """P(churn) as an increasing function of days since the last purchase (isotonic fit)."""

    def fit(self, days_since_last: np.ndarray, churned: np.ndarray) -> HiatusRule:
        self.iso_ = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0, y_max=1)
        self.iso_.fit(np.asarray(days_since_last, float), np.asarray(churned, float))
        return self

    def predict_proba(self, days_since_last: np.ndarray) -> np.ndarray:
        return self.iso_.predict(np.asarray(days_since_last, float))


def _signed_log1p(x):
    """log(1 + |x|) with the sign of x: tames the long tails of counts and money."""
    return np.sign(x) * np.log1p(np.abs(x))


def _feature_matrix(orders: nw.LazyFrame, at: pd.Timestamp, interactions) -> pd.DataFrame:
    b = behaviour_features(orders, at, interactions=interactions)
    r = rfm_features(orders, at, unit="day")[["frequency", "recency", "T", "monetary_value"]]
    return b.join(r, how="inner")


def _labels(orders: nw.LazyFrame, index: pd.Index, start: pd.Timestamp, days: int) -> np.ndarray:
    bought = future_purchase_flag(orders, start, start + pd.Timedelta(days=days))
    return (~index.isin(bought)).astype(int)


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    q = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False)
    df = pd.DataFrame({"bin": q, "p": p, "y": y}).groupby("bin").agg(
        mean_score=("p", "mean"), observed=("y", "mean"), customers=("y", "size"))
    return df.reset_index()


def _score(orders, cutoff, churn_days, *, model_kind, unit, interactions, seed,
           purchase_model):
    """Features, labels and the scorers' predictions on the test set (see module docstring)."""
    train_at = cutoff - pd.Timedelta(days=churn_days)
    train = _feature_matrix(orders, train_at, interactions)
    test = _feature_matrix(orders, cutoff, interactions)
    # training labels: no purchase in [train_at, cutoff) = last purchase before cutoff more
    # than churn_days ago (every training customer is a test customer: he bought before)
    since_last = test["days_since_last"].reindex(train.index).to_numpy()
    y_train = (since_last > churn_days).astype(int)
    y_test = _labels(orders, test.index, cutoff, churn_days)
    if len(np.unique(y_test)) < 2 or len(np.unique(y_train)) < 2:
        raise CrmError("churn labels have one class only (everyone or no one bought): "
                       "cannot compare scorers")
    k = unit_days(unit)
    # the model's features in its unit: the day features of the test set divided by the days
    # per unit, exactly what rfm_features(..., unit=unit) gives
    feats = test[["frequency", "recency", "T", "monetary_value"]].copy()
    for col in ("recency", "T"):
        feats[col] = feats[col] / k
    feats.attrs["unit"] = unit
    scores = {}
    pm, model_error = purchase_model, None
    try:  # the purchase model's scores; hiatus and the classifier do not need it
        if pm is None:
            pm = PURCHASE_MODELS[model_kind]().fit(feats, seed=seed)
        model_scores = {"model": pm.p_no_purchase(churn_days / k, feats),
                        "p_alive": 1 - pm.p_alive(feats)}
        if not all(np.all(np.isfinite(v)) for v in model_scores.values()):
            raise CrmError(f"{pm.label} gives non-finite churn scores")
        scores["model"] = model_scores["model"]
    except CrmError as exc:
        pm, model_scores, model_error = None, {}, str(exc)
    scores["hiatus"] = HiatusRule().fit(train["days_since_last"], y_train).predict_proba(
        test["days_since_last"])
    cols = list(train.columns)
    clf = make_pipeline(FunctionTransformer(_signed_log1p), StandardScaler(),
                        LogisticRegression(C=1.0, max_iter=2000, random_state=seed))
    clf.fit(train[cols], y_train)
    scores["classifier"] = clf.predict_proba(test[cols])[:, 1]
    if "p_alive" in model_scores:
        scores["p_alive"] = model_scores["p_alive"]
    return y_test, scores, feats, pm, clf, cols, model_error


def _purchasers_before(orders: nw.LazyFrame, cutoff: pd.Timestamp) -> pd.Index:
    """Customers with a purchase before ``cutoff`` (ids as text), in the order the engine
    returns them: the sample drawn from them does not depend on it (each id's hash position
    picks it, :func:`~crm_experiments.models.sample.sample_positions`, and the picked ids are
    sorted once, in :func:`compare_churn_scorers`)."""
    p = orders.filter(is_purchase() & (nw.col("created_at") < ts(cutoff)))
    return pd.Index(collect(p.select("customer_id").unique())["customer_id"].astype(str))


def compare_churn_scorers(orders: nw.LazyFrame, cutoff, churn_days: int = 30, *,
                          model_kind: str = "bg_nbd", unit: str = "week",
                          interactions: nw.LazyFrame | None = None, seed: int = 0,
                          purchase_model: PurchaseModel | None = None,
                          max_customers: int | None = MAX_CHURN_CUSTOMERS,
                          population: pd.Index | None = None,
                          sample: pd.Index | None = None,
                          engine: Engine | None = None) -> ChurnComparison:
    """Score churn three ways at ``cutoff`` and compare them (see module docstring).

    ``purchase_model`` may be given already fitted on features at ``cutoff``; otherwise a
    ``model_kind`` model is fitted here. With more than ``max_customers`` customers with a
    purchase before ``cutoff``, everything runs on a random sample of them (``seed``);
    ``population`` may give those customers' ids when the caller knows them (saves a query),
    and ``sample`` the ids of their sample when the caller drew it already
    (:func:`~crm_experiments.models.sample.sample_positions` of ``max_customers`` with
    ``seed``, e.g. from hash positions it holds: saves hashing the population again).
    ``engine`` is the engine of ``orders`` (``shop.con``; found from ``orders`` when not
    given): the sample's ids are put next to the orders there.
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    if churn_days < 1:
        raise CrmError("churn_days must be at least 1")
    end = data_end(orders)
    if cutoff + pd.Timedelta(days=churn_days) > end:
        raise CrmError(f"the churn holdout needs data until {cutoff.date()} + {churn_days} days, "
                       f"but the orders end on {(end - pd.Timedelta(days=1)).date()}")
    if population is None and max_customers is not None:
        population = _purchasers_before(orders, cutoff)
    n_population = None if population is None else len(population)
    sampled = (max_customers is not None and n_population is not None
               and n_population > max_customers)
    cached = []
    if sampled:
        # the customers with the smallest hash positions of their ids (models.sample): the
        # same sample in any row order and on any engine
        if sample is None:
            sample = np.asarray(population, dtype=object)[
                sample_positions(pd.Index(population), max_customers, seed)]
        ids = np.sort(np.asarray(sample, dtype=object))
        engine = engine or engine_of(orders)
        keep = engine.from_pandas(pd.DataFrame({"customer_id": ids.astype(str)}))
        orders = engine.cache(orders.join(keep, on="customer_id", how="semi"))
        cached.append(orders)
        if interactions is not None:
            interactions = engine.cache(interactions.join(keep, on="customer_id", how="semi"))
            cached.append(interactions)
    try:
        with one_blas_thread():
            scored = _score(orders, cutoff, churn_days, model_kind=model_kind, unit=unit,
                            interactions=interactions, seed=seed, purchase_model=purchase_model)
    finally:
        for t in cached:
            engine.release(t)
    y_test, scores, feats, pm, clf, cols, model_error = scored
    n_population = len(y_test) if n_population is None else n_population
    rows, rel = [], []
    for name, p in scores.items():
        rows.append({"scorer": name, "auc": float(roc_auc_score(y_test, p)),
                     "brier": float(brier_score_loss(y_test, np.clip(p, 0, 1))),
                     "n": int(len(p)), "population": int(n_population),
                     "churn_rate": float(y_test.mean())})
        r = reliability_table(y_test, p)
        r.insert(0, "scorer", name)
        rel.append(r)
    table = pd.DataFrame(rows)
    main = table[table["scorer"].isin(SCORERS)].sort_values("brier")
    best = main.iloc[0]
    by_auc = main.sort_values("auc", ascending=False).iloc[0]
    reason = (f"{best.scorer} has the lowest Brier score ({best.brier:.3f}; "
              + ", ".join(f"{r.scorer} {r.brier:.3f}" for r in main.iloc[1:].itertuples())
              + f") and {'also ' if by_auc.scorer == best.scorer else ''}"
              + (f"the highest AUC ({best.auc:.3f})" if by_auc.scorer == best.scorer
                 else f"an AUC of {best.auc:.3f} ({by_auc.scorer} ranks best, {by_auc.auc:.3f})")
              + f", churn = no purchase in {churn_days} days after {cutoff.date()}, "
              f"{len(y_test):,} customers, {y_test.mean():.0%} churned"
              + (f" (a seeded random sample of the {n_population:,} customers with a purchase "
                 "before the cutoff)." if sampled else "."))
    notes = []
    if model_error is not None:
        notes.append(f"The purchase model's churn score is left out: {model_error}")
    one_timers = feats["frequency"].to_numpy() == 0
    one_timer_share = None
    if model_kind == "bg_nbd" and one_timers.any() and "p_alive" in scores:
        one_timer_share = float(one_timers.mean())
        pa_auc = table.loc[table["scorer"] == "p_alive", "auc"].iloc[0]
        notes.append(
            f"P(alive) is a poor churn score here: BG/NBD sets it to 1 for the "
            f"{one_timers.mean():.0%} of customers without a repeat purchase, however long ago "
            f"they bought (AUC of 1 - P(alive): {pa_auc:.3f}). Use P(no purchase in "
            f"{churn_days} days) or the modified BG/NBD instead.")
    return ChurnComparison(cutoff=cutoff, churn_days=churn_days, scores=table,
                           reliability=pd.concat(rel, ignore_index=True), best=str(best.scorer),
                           reason=reason, warnings=tuple(notes),
                           models={"purchase_model": pm, "classifier": clf,
                                   "classifier_features": cols},
                           population=int(n_population), sampled=bool(sampled),
                           best_by_auc=str(by_auc.scorer), one_timer_share=one_timer_share,
                           model_error=model_error)

