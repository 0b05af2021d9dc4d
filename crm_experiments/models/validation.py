"""Holdout validation of the purchase models and the choice between them.

Fit on the calibration period, predict each customer's repeat purchases in the holdout period
(``duration_holdout``) from the history, and compare with what happened:

* in total (predicted vs actual holdout repeat purchases, % error);
* by calibration frequency 0, 1, ..., 7+ (Fader, Hardie & Lee 2005's conditional-expectation
  check; the customer-weighted mean absolute error over these groups picks the model);
* over time: cumulative repeat purchases of the calibration cohort per period against the
  model's expectation (the tracking plot), and the calibration frequency histogram.

On large data the models are fitted on one seeded random sample of customers (the same sample
for every model; see :mod:`crm_experiments.models.btyd`), and validated on **all** customers:
the holdout predictions, the log-likelihood and the AIC are over everyone, so the comparison is
on the same data for every model. ``n_fit_customers`` in the summary is the sample size.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_experiments.errors import CrmError
from crm_experiments.models.btyd import (
    MAX_FIT_CUSTOMERS,
    PURCHASE_MODELS,
    ModelWarning,
    PurchaseModel,
    unique_patterns,
)
from crm_experiments.models.features import unit_days

BUCKETS = [str(i) for i in range(7)] + ["7+"]


def frequency_bucket(x: pd.Series | np.ndarray) -> pd.Series:
    x = np.asarray(x)
    return pd.Series(np.where(x >= 7, "7+", np.minimum(x, 7).astype(int).astype(str)))


def fit_purchase_models(features: pd.DataFrame, kinds=("bg_nbd", "mbg_nbd", "pareto_nbd"), *,
                        max_customers: int | None = MAX_FIT_CUSTOMERS, seed: int = 0,
                        **kwargs) -> dict[str, PurchaseModel]:
    """Fit each model kind (on the same random sample of ``max_customers`` customers when there
    are more); one that fails (:class:`~crm_experiments.errors.CrmError`: no convergence,
    invalid predictions ...) is reported with a warning and left out; when all fail, a
    :class:`CrmError` gives each one's reason."""
    out: dict[str, PurchaseModel] = {}
    failed: list[str] = []
    for kind in kinds:
        try:
            out[kind] = PURCHASE_MODELS[kind](**kwargs).fit(
                features, max_customers=max_customers, seed=seed)
        except CrmError as exc:
            failed.append(f"{kind}: {exc}")
            warnings.warn(f"{kind} left out: {exc}", ModelWarning, stacklevel=2)
    if not out:
        raise CrmError("no purchase model could be fitted (" + "; ".join(failed) + ")")
    return out


@dataclass(frozen=True)
class HoldoutValidation:
    """Holdout fit of several purchase models and the chosen one."""

    summary: pd.DataFrame        # one row per model
    by_frequency: pd.DataFrame   # bucket x model: customers, actual and predicted mean
    tracking: pd.DataFrame       # period end x (actual, model...) cumulative repeat purchases
    histogram: pd.DataFrame      # calibration frequency bucket: customers
    best: str
    reason: str
    unit: str


def validate_models(models: dict[str, PurchaseModel], features: pd.DataFrame, *,
                    actual_by_day: pd.Series | None = None) -> HoldoutValidation:
    """Compare the models on the holdout columns of ``features`` (see module docstring).

    ``actual_by_day`` (day number -> repeat purchases of the cohort, from
    :func:`~crm_experiments.models.features.repeat_purchases_by_day`) enables the tracking table.
    """
    if "frequency_holdout" not in features:
        raise CrmError("features have no holdout columns: pass observation_end to rfm_features")
    unit = features.attrs.get("unit", "day")
    k = unit_days(unit)
    duration = float(features["duration_holdout"].iloc[0])
    actual = features["frequency_holdout"].to_numpy(dtype=float)
    # bucket number 0..7 (7 = "7+") of each customer; sums per bucket by bincount
    bucket = np.minimum(features["frequency"].to_numpy(), len(BUCKETS) - 1).astype("int64")
    counts = np.bincount(bucket, minlength=len(BUCKETS))
    present = counts > 0
    actual_mean = np.bincount(bucket, weights=actual, minlength=len(BUCKETS))[present] / \
        counts[present]
    patterns, inverse = unique_patterns(features)  # predict once per distinct history
    rows, by_freq = [], []
    for kind, m in models.items():
        pred = m.expected_purchases(duration, patterns)[inverse]
        g = pd.DataFrame({
            "bucket": np.array(BUCKETS)[present], "customers": counts[present],
            "actual": actual_mean,
            "predicted": np.bincount(bucket, weights=pred, minlength=len(BUCKETS))[present]
            / counts[present],
            "model": kind})
        by_freq.append(g)
        mae = float(np.average((g["predicted"] - g["actual"]).abs(), weights=g["customers"]))
        rows.append({"model": kind, "label": m.label, **{f"param_{p}": v for p, v in
                                                          m.params_.items()},
                     "log_likelihood": m.log_likelihood_, "aic": m.aic_,
                     "n_customers": m.n_customers_,
                     "n_fit_customers": getattr(m, "n_fit_customers_", m.n_customers_),
                     "holdout_predicted": float(pred.sum()), "holdout_actual": float(actual.sum()),
                     "holdout_error_pct": float(100 * (pred.sum() - actual.sum())
                                                / max(actual.sum(), 1e-9)),
                     "by_frequency_mae": mae})
    summary = pd.DataFrame(rows)
    best_row = summary.sort_values(["by_frequency_mae", "aic"]).iloc[0]
    others = summary[summary["model"] != best_row["model"]]
    reason = (f"{best_row['label']} predicts the holdout purchases best: per customer, grouped "
              f"by calibration frequency, it is off by {best_row['by_frequency_mae']:.3f} "
              f"purchases on average (")
    reason += ", ".join(f"{r.label} {r.by_frequency_mae:.3f}" for r in others.itertuples())
    reason += (f"); in total it predicts {best_row['holdout_predicted']:,.0f} repeat purchases "
               f"against {best_row['holdout_actual']:,.0f} actual "
               f"({best_row['holdout_error_pct']:+.1f}%).")
    histogram = pd.DataFrame({"bucket": BUCKETS, "customers": counts})
    tracking = (_tracking(models, features, actual_by_day, k) if actual_by_day is not None
                else pd.DataFrame())
    return HoldoutValidation(summary=summary, by_frequency=pd.concat(by_freq, ignore_index=True),
                             tracking=tracking, histogram=histogram, best=str(best_row["model"]),
                             reason=reason, unit=unit)


def _tracking(models, features, actual_by_day: pd.Series, k: float) -> pd.DataFrame:
    """Cumulative repeat purchases of the cohort per period (of ``k`` days) vs each model's
    unconditional expectation summed over the customers' first-purchase days."""
    first = features["first_purchase_day"].value_counts()
    d_start, d_end = int(actual_by_day.index.min()), int(actual_by_day.index.max()) + 1
    period = max(int(k), 1)
    ends = np.arange(d_start + period, d_end + 1, period)
    actual = np.cumsum(actual_by_day.to_numpy())[ends - d_start - 1]
    out = pd.DataFrame({"day": ends, "actual": actual.astype(float)})
    ages = np.arange(0, d_end - int(first.index.min()) + 1)
    for kind, m in models.items():
        ex = m.expected_population_purchases(ages / k)
        cum = []
        for e in ends:
            a = e - 1 - first.index.to_numpy()  # whole days since the first purchase day
            ok = a > 0
            cum.append(float((first.to_numpy()[ok] * ex[a[ok]]).sum()))
        out[kind] = cum
    out["date"] = pd.Timestamp("1970-01-01") + pd.to_timedelta(out["day"], unit="D")
    return out

