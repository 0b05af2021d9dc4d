"""``crm-exp compare``: arm-vs-control effects on any per-customer table (CSV or Parquet).

    crm-exp compare customers.csv --arm arm --control control --metric revenue \\
        --metric bought --covariate revenue=revenue_pre --ratio aov=revenue/orders \\
        --planned control=0.2 --planned coupon_a=0.8 --json

One row per customer; see :func:`crm_experiments.stats.table.compare_arms` for the methods.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from crm_experiments.cli._tables import read_customer_table
from crm_experiments.stats.table import ComparisonResult, TableError, compare_arms


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", help="per-customer table, .csv or .parquet")
    parser.add_argument("--arm", required=True, help="column holding the arm of each customer")
    parser.add_argument("--control", required=True, help="name of the control arm")
    parser.add_argument("--metric", action="append", default=[], metavar="COL",
                        help="numeric metric column (repeatable); 0/1 columns are proportions")
    parser.add_argument("--covariate", action="append", default=[], metavar="METRIC=COL",
                        help="pre-period covariate for a metric (Lin regression adjustment); "
                             "a bare COL applies to every metric")
    parser.add_argument("--ratio", action="append", default=[], metavar="NAME=NUM/DEN",
                        help="ratio metric sum(NUM)/sum(DEN), e.g. aov=revenue/orders")
    parser.add_argument("--alpha", type=float, default=0.05, help="1 - confidence (0.05)")
    parser.add_argument("--planned", action="append", default=[], metavar="ARM=SHARE",
                        help="planned share of an arm, for the sample-ratio check (repeatable)")
    parser.add_argument("--correction", choices=["holm", "bonferroni", "bh", "none"],
                        default="holm", help="multiple-comparison correction (holm)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _pairs(values: list[str], flag: str, example: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        key, sep, rest = v.partition("=")
        if not sep or not key or not rest:
            raise TableError(f"{flag} {v!r}: expected {example}")
        out.append((key, rest))
    return out


def _read(path: Path, arm: str) -> pd.DataFrame:
    return read_customer_table(path, arm, TableError)


def _plain(value):
    """JSON-safe: numpy scalars to Python, NaN/inf to null."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:+.2%}" if pct else f"{x:,.4g}"


def not_estimable(result: ComparisonResult) -> list[str]:
    """Why a figure shown as '-' (null in JSON) is missing, one sentence per arm x metric."""
    out = []
    for e in result.effects:
        if math.isfinite(e.estimate) and math.isnan(e.ci_low):
            out.append(f"{e.metric}, {e.arm}: not estimable: no spread in '{e.arm}' nor in "
                       f"'{e.control}' (every value equal), so no interval or p-value; the "
                       "difference is exact in the sample")
        elif e.mean_control == 0 and math.isnan(e.rel_estimate):
            out.append(f"{e.metric}, {e.arm}: relative effect not estimable: the control "
                       f"'{e.control}' mean is 0")
    return out


def render_table(result: ComparisonResult) -> str:
    """Plain-text table: one line per arm x metric, then the SRM and correction notes."""
    level = f"{1 - result.alpha:.0%}"
    rows = []
    for e in result.effects:
        rows.append({
            "metric": e.metric, "arm": e.arm, "n arm/ctl": f"{e.n_arm}/{e.n_control}",
            "mean arm": _fmt(e.mean_arm), "mean ctl": _fmt(e.mean_control),
            "difference": _fmt(e.estimate),
            f"{level} CI": f"[{_fmt(e.ci_low)}, {_fmt(e.ci_high)}]",
            "relative": _fmt(e.rel_estimate, pct=True),
            f"{level} CI rel": f"[{_fmt(e.rel_ci_low, True)}, {_fmt(e.rel_ci_high, True)}]",
            "p": _fmt(e.p_value), "p adj": _fmt(e.p_value_adjusted),
            "CI rel adj": (f"[{_fmt(e.rel_ci_low_adjusted, True)}, "
                           f"{_fmt(e.rel_ci_high_adjusted, True)}]"),
            "method": e.method,
        })
    lines = []
    if result.srm is None:
        lines.append("Sample ratio: not checked (pass --planned ARM=SHARE for each arm).")
    else:
        lines.append(result.srm.message)
        if result.verdict_withheld:
            lines.append("VERDICT WITHHELD: the effects below are not trustworthy.")
    frame = pd.DataFrame(rows)
    if not result.correction:
        frame = frame.drop(columns=["p adj", "CI rel adj"])
    lines.append(frame.to_string(index=False))
    lines.append(f"'p adj' and 'CI rel adj': {result.correction}; other columns unadjusted."
                 if result.correction else "No multiple-comparison correction.")
    lines += not_estimable(result)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    path = Path(args.table)
    df = _read(path, args.arm)
    covariates: dict[str, str] = {}
    for item in args.covariate:
        if "=" in item:
            (metric, col), = _pairs([item], "--covariate", "METRIC=COL")
            covariates[metric] = col
        else:
            covariates.update({m: item for m in args.metric})
    ratios = {}
    for name, expr in _pairs(args.ratio, "--ratio", "NAME=NUM/DEN"):
        num, sep, den = expr.partition("/")
        if not sep or not num or not den:
            raise TableError(f"--ratio {name}={expr!r}: expected NAME=NUM/DEN")
        ratios[name] = (num, den)
    planned = {}
    for a, share in _pairs(args.planned, "--planned", "ARM=SHARE"):
        try:
            planned[a] = float(share)
        except ValueError:
            raise TableError(f"--planned {a}={share!r}: share is not a number") from None
    if not 0 < args.alpha < 1:
        raise TableError(f"--alpha {args.alpha}: must be between 0 and 1")
    result = compare_arms(
        df, arm=args.arm, control=args.control, metrics=args.metric, covariates=covariates,
        ratios=ratios, alpha=args.alpha, planned_shares=planned or None,
        correction=None if args.correction == "none" else args.correction, source=str(path))
    if args.json:
        print(json.dumps(_plain({**result.to_dict(), "not_estimable": not_estimable(result)}),
                         indent=2))
    else:
        print(render_table(result))
    return 0
