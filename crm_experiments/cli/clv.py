"""``crm-exp clv``: fit and validate the CLV models and compare churn scorers on a shop.

Calibration = purchases before ``--calibration-end``; holdout = ``[calibration end,
observation end)``. Per purchase model (BG/NBD, MBG/NBD, Pareto/NBD) and for Gamma-Gamma:
parameters, log-likelihood (summed over customers, in ``--unit``), holdout predicted vs actual
repeat purchases. Churn = no purchase in ``--churn-days`` days after the calibration end: AUC and
Brier of each scorer (needs the observation end at least that many days later).

``--predictions FILE`` (``.parquet`` or ``.csv``) also writes one row per customer from the same
fitted models (the validated best purchase model and Gamma-Gamma), as of the calibration end:
``customer_id`` (the data's pseudonymous id), ``model``, ``p_alive``, the repeat purchases the
model expects over the holdout and those made there (``expected_purchases_holdout``,
``actual_purchases_holdout``), ``expected_spend`` per purchase, and for M = 3, 6, 12 months
``expected_purchases_<M>m`` and the discounted ``clv_<M>m`` (net revenue, 10% a year:
:func:`crm_experiments.models.clv.customer_clv`).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import pandas as pd

from crm_experiments.cli._types import iso_date, whole_days

PREDICTION_FORMATS = (".parquet", ".csv")
MAX_CHURN_DAYS = 365
CHURN_DAYS = whole_days(MAX_CHURN_DAYS,
                        f"churn is judged over 1-{MAX_CHURN_DAYS} days without a purchase")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", help="directory of canonical tables")
    parser.add_argument("--calibration-end", required=True, type=iso_date,
                        help="first day after the calibration period (YYYY-MM-DD, exclusive)")
    parser.add_argument("--observation-end", required=True, type=iso_date,
                        help="first day after the holdout period (YYYY-MM-DD, exclusive)")
    parser.add_argument("--unit", choices=("day", "week"), default="week",
                        help="time unit of recency/T and the likelihood (default week)")
    parser.add_argument("--churn-days", type=CHURN_DAYS, default=30,
                        help="churn = no purchase in this many days (default 30)")
    parser.add_argument("--timezone", default="Asia/Shanghai")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--predictions", type=Path, metavar="FILE",
                        help="also write per-customer predictions (P(alive), expected "
                             "purchases, CLV) to FILE (.parquet or .csv)")


def clv_report(shop, calibration_end, observation_end, *, unit: str = "week",
               churn_days: int = 30, fitted: dict | None = None) -> dict:
    """The numbers the command prints, as a JSON-ready dict. ``fitted``, if given, receives
    the fitted models (``features``, ``purchase_model``, ``spend_model``, ``best``) for
    :func:`customer_predictions`."""
    from crm_experiments.errors import CrmError
    from crm_experiments.models.btyd import ModelWarning
    from crm_experiments.models.churn import compare_churn_scorers
    from crm_experiments.models.features import data_end, rfm_features
    from crm_experiments.models.gamma_gamma import GammaGammaModel
    from crm_experiments.models.validation import fit_purchase_models, validate_models

    cal, obs = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
    orders = shop["orders"]
    end = data_end(orders)
    if obs > end:  # days without data would count as days without purchases
        raise CrmError(f"{shop.data_dir}: the orders end on {(end - pd.Timedelta(days=1)).date()}"
                       f", before the observation end {obs.date()}: the holdout would count the "
                       "days without data as days without purchases; use --observation-end "
                       f"{end.date()} or earlier")
    feats = rfm_features(orders, cal, obs, unit=unit)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelWarning)
        models = fit_purchase_models(feats)
        gg = GammaGammaModel().fit(feats)
    notes += [str(w.message) for w in caught]
    v = validate_models(models, feats)
    if fitted is not None:
        fitted.update(features=feats, purchase_model=models[v.best], spend_model=gg,
                      best=v.best)
    out = {"data_dir": str(shop.data_dir), "calibration_end": str(cal.date()),
           "observation_end": str(obs.date()), "unit": unit, "customers": int(len(feats)),
           "models": {}, "best_model": v.best, "why": v.reason}
    for r in v.summary.to_dict("records"):
        out["models"][r["model"]] = {
            "params": models[r["model"]].params_, "log_likelihood": r["log_likelihood"],
            "holdout_predicted": r["holdout_predicted"], "holdout_actual": r["holdout_actual"],
            "holdout_error_pct": r["holdout_error_pct"]}
    out["models"]["gamma_gamma"] = {"params": gg.params_, "log_likelihood": gg.log_likelihood_,
                                    "customers": gg.n_customers_}
    try:
        if cal + pd.Timedelta(days=churn_days) > obs:
            raise CrmError(f"the observation end must be at least {churn_days} days after the "
                           "calibration end for the churn holdout")
        c = compare_churn_scorers(orders, cal, churn_days, unit=unit)
        out["churn"] = {"days": churn_days, "cutoff": str(cal.date()), "best": c.best,
                        "why": c.reason,
                        "scorers": {r.scorer: {"auc": r.auc, "brier": r.brier}
                                    for r in c.scores.itertuples()}}
        notes += list(c.warnings)
    except CrmError as exc:
        out["churn"] = None
        notes.append(f"churn comparison skipped: {exc}")
    out["notes"] = notes
    return out


def customer_predictions(fitted: dict) -> pd.DataFrame:
    """One row per customer of the fitted models' calibration data (module docstring)."""
    from crm_experiments.models.clv import customer_clv

    feats, model = fitted["features"], fitted["purchase_model"]
    clv = customer_clv(model, fitted["spend_model"], feats, months=(3, 6, 12))
    out = pd.DataFrame({"model": fitted["best"], "p_alive": clv["p_alive"]}, index=feats.index)
    if "frequency_holdout" in feats:
        duration = float(feats["duration_holdout"].iloc[0])
        out["expected_purchases_holdout"] = model.expected_purchases(duration, feats)
        out["actual_purchases_holdout"] = feats["frequency_holdout"].astype("float64")
    out = out.join(clv.drop(columns="p_alive"))
    return out.rename_axis("customer_id").reset_index()


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` to ``path`` (Parquet or CSV by its suffix) through a temporary file and an
    atomic rename."""
    from crm_experiments.errors import CrmError
    from crm_experiments.io.atomic import atomic_path

    try:
        with atomic_path(path) as tmp:
            if path.suffix.lower() == ".csv":
                frame.to_csv(tmp, index=False)
            else:
                frame.to_parquet(tmp, index=False)
    except OSError as exc:
        raise CrmError(f"{path}: cannot write the predictions ({exc})") from exc
    return path


def run(args: argparse.Namespace) -> int:
    from crm_experiments.errors import CrmError
    from crm_experiments.io.process import check_writable
    from crm_experiments.io.reader import load_shop

    if args.predictions is not None:
        if args.predictions.suffix.lower() not in PREDICTION_FORMATS:
            raise CrmError(f"--predictions {args.predictions}: the file must end in "
                           f"{' or '.join(PREDICTION_FORMATS)}")
        if args.predictions.is_dir():
            raise CrmError(f"--predictions {args.predictions}: is a folder, not a file")
        # before the fits: a file that cannot be written is refused first
        check_writable(args.predictions.parent, "folder of --predictions", create=False)
    shop = load_shop(args.data_dir, timezone=args.timezone)
    fitted: dict = {}
    rep = clv_report(shop, args.calibration_end, args.observation_end, unit=args.unit,
                     churn_days=args.churn_days, fitted=fitted)
    if args.predictions is not None:
        predictions = customer_predictions(fitted)
        write_table(predictions, args.predictions)
        rep["predictions"] = {"file": str(args.predictions), "customers": len(predictions),
                              "model": fitted["best"]}
    if args.json:
        print(json.dumps(rep, indent=2, default=float))
        return 0
    print(f"CLV models on {rep['customers']:,} customers, calibration before "
          f"{rep['calibration_end']}, holdout to {rep['observation_end']} ({rep['unit']}s)")
    for name, m in rep["models"].items():
        ps = ", ".join(f"{k}={v:.4g}" for k, v in m["params"].items())
        line = f"  {name:<11} {ps}  LL={m['log_likelihood']:.1f}"
        if "holdout_predicted" in m:
            line += (f"  holdout predicted {m['holdout_predicted']:,.0f} vs actual "
                     f"{m['holdout_actual']:,.0f}")
        print(line)
    print(f"best: {rep['why']}")
    if rep["churn"]:
        for s, r in rep["churn"]["scorers"].items():
            print(f"  churn {s:<11} AUC {r['auc']:.3f}  Brier {r['brier']:.3f}")
        print(f"churn: {rep['churn']['why']}")
    for n in rep["notes"]:
        print(f"note: {n}")
    if "predictions" in rep:
        p = rep["predictions"]
        print(f"wrote predictions for {p['customers']:,} customers ({p['model']}) to {p['file']}")
    return 0
