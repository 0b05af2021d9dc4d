"""``crm-exp clv``: fit and validate the CLV models and compare churn scorers on a shop.

Calibration = purchases before ``--calibration-end``; holdout = ``[calibration end,
observation end)``. Per purchase model (BG/NBD, MBG/NBD, Pareto/NBD) and for Gamma-Gamma:
parameters, log-likelihood (summed over customers, in ``--unit``), holdout predicted vs actual
repeat purchases. Churn = no purchase in ``--churn-days`` days after the calibration end: AUC and
Brier of each scorer (needs the observation end at least that many days later).
"""

from __future__ import annotations

import argparse
import json
import warnings

import pandas as pd


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", help="directory of canonical tables")
    parser.add_argument("--calibration-end", required=True,
                        help="first day after the calibration period (YYYY-MM-DD, exclusive)")
    parser.add_argument("--observation-end", required=True,
                        help="first day after the holdout period (YYYY-MM-DD, exclusive)")
    parser.add_argument("--unit", choices=("day", "week"), default="week",
                        help="time unit of recency/T and the likelihood (default week)")
    parser.add_argument("--churn-days", type=int, default=30,
                        help="churn = no purchase in this many days (default 30)")
    parser.add_argument("--timezone", default="Asia/Shanghai")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def clv_report(shop, calibration_end, observation_end, *, unit: str = "week",
               churn_days: int = 30) -> dict:
    """The numbers the command prints, as a JSON-ready dict."""
    from crm_experiments.errors import CrmError
    from crm_experiments.models.btyd import ModelWarning
    from crm_experiments.models.churn import compare_churn_scorers
    from crm_experiments.models.features import rfm_features
    from crm_experiments.models.gamma_gamma import GammaGammaModel
    from crm_experiments.models.validation import fit_purchase_models, validate_models

    cal, obs = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
    orders = shop["orders"]
    feats = rfm_features(orders, cal, obs, unit=unit)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelWarning)
        models = fit_purchase_models(feats)
        gg = GammaGammaModel().fit(feats)
    notes += [str(w.message) for w in caught]
    v = validate_models(models, feats)
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


def run(args: argparse.Namespace) -> int:
    from crm_experiments.io.reader import load_shop

    shop = load_shop(args.data_dir, timezone=args.timezone)
    rep = clv_report(shop, args.calibration_end, args.observation_end, unit=args.unit,
                     churn_days=args.churn_days)
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
    return 0
