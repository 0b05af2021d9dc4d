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

Compared by ROC AUC (ranking), Brier score (probability accuracy; lower is better) and a
reliability table (mean score vs observed churn share in 10 score bins).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis.expr.types as ir
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from crm_experiments.errors import CrmError
from crm_experiments.models.btyd import PURCHASE_MODELS, PurchaseModel
from crm_experiments.models.features import (
    behaviour_features,
    data_end,
    future_purchase_flag,
    rfm_features,
    unit_days,
)

SCORERS = ("model", "hiatus", "classifier")


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

    def metrics(self) -> dict[str, float]:
        out = {}
        for r in self.scores.itertuples():
            out[f"churn.{r.scorer}.auc"] = r.auc
            out[f"churn.{r.scorer}.brier"] = r.brier
        out["churn.base_rate"] = float(self.scores["churn_rate"].iloc[0])
        out["churn.days"] = float(self.churn_days)
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


def _feature_matrix(orders: ir.Table, at: pd.Timestamp, interactions) -> pd.DataFrame:
    b = behaviour_features(orders, at, interactions=interactions)
    r = rfm_features(orders, at, unit="day")[["frequency", "recency", "T", "monetary_value"]]
    return b.join(r, how="inner")


def _labels(orders: ir.Table, index: pd.Index, start: pd.Timestamp, days: int) -> np.ndarray:
    bought = future_purchase_flag(orders, start, start + pd.Timedelta(days=days))
    return (~index.isin(bought)).astype(int)


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    q = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False)
    df = pd.DataFrame({"bin": q, "p": p, "y": y}).groupby("bin").agg(
        mean_score=("p", "mean"), observed=("y", "mean"), customers=("y", "size"))
    return df.reset_index()


def compare_churn_scorers(orders: ir.Table, cutoff, churn_days: int = 30, *,
                          model_kind: str = "bg_nbd", unit: str = "week",
                          interactions: ir.Table | None = None, seed: int = 0,
                          purchase_model: PurchaseModel | None = None) -> ChurnComparison:
    """Score churn three ways at ``cutoff`` and compare them (see module docstring).

    ``purchase_model`` may be given already fitted on features at ``cutoff``; otherwise a
    ``model_kind`` model is fitted here.
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    if churn_days < 1:
        raise CrmError("churn_days must be at least 1")
    end = data_end(orders)
    if cutoff + pd.Timedelta(days=churn_days) > end:
        raise CrmError(f"the churn holdout needs data until {cutoff.date()} + {churn_days} days, "
                       f"but the orders end on {(end - pd.Timedelta(days=1)).date()}")
    train_at = cutoff - pd.Timedelta(days=churn_days)
    train = _feature_matrix(orders, train_at, interactions)
    test = _feature_matrix(orders, cutoff, interactions)
    y_train = _labels(orders, train.index, train_at, churn_days)
    y_test = _labels(orders, test.index, cutoff, churn_days)
    if len(np.unique(y_test)) < 2 or len(np.unique(y_train)) < 2:
        raise CrmError("churn labels have one class only (everyone or no one bought): "
                       "cannot compare scorers")
    k = unit_days(unit)
    feats = rfm_features(orders, cutoff, unit=unit).loc[test.index]
    pm = purchase_model if purchase_model is not None else \
        PURCHASE_MODELS[model_kind]().fit(feats)
    scores = {
        "model": pm.p_no_purchase(churn_days / k, feats),
        "hiatus": HiatusRule().fit(train["days_since_last"], y_train).predict_proba(
            test["days_since_last"]),
    }
    cols = list(train.columns)
    clf = make_pipeline(FunctionTransformer(_signed_log1p), StandardScaler(),
                        LogisticRegression(C=1.0, max_iter=2000, random_state=seed))
    clf.fit(train[cols], y_train)
    scores["classifier"] = clf.predict_proba(test[cols])[:, 1]
    p_alive = pm.p_alive(feats)
    scores["p_alive"] = 1 - p_alive

    rows, rel = [], []
    for name, p in scores.items():
        rows.append({"scorer": name, "auc": float(roc_auc_score(y_test, p)),
                     "brier": float(brier_score_loss(y_test, np.clip(p, 0, 1))),
                     "n": int(len(p)), "churn_rate": float(y_test.mean())})
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
              f"{len(y_test):,} customers, {y_test.mean():.0%} churned.")
    notes = []
    one_timers = feats["frequency"].to_numpy() == 0
    if model_kind == "bg_nbd" and one_timers.any():
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
                                   "classifier_features": cols})


def reliability_chart(c: ChurnComparison):
    fig, ax = plt.subplots(figsize=(5, 4.4))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls=":")
    for name, g in c.reliability.groupby("scorer", sort=False):
        ax.plot(g["mean_score"], g["observed"], marker="o", label=name,
                ls="--" if name == "p_alive" else "-")
    ax.set_xlabel("predicted churn probability (bin mean)")
    ax.set_ylabel("observed churn share")
    ax.set_title(f"Reliability: no purchase in {c.churn_days} days")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
