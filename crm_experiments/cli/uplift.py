"""``crm-exp uplift``: per-arm effects, uplift model quality and targeting value on any
per-customer table (CSV or Parquet) from a randomised test.

    crm-exp uplift customers.csv --arm arm --control control --outcome net_profit \\
        --features lifecycle_state,tier,pre_revenue,province \\
        --cost-per-treated coupon_a=0.2 --test-size 0.3 --seed 1 --json

Text and categorical feature columns are encoded automatically. See
:func:`crm_experiments.uplift.model.analyse_uplift` for the methods. The per-arm money printed
here is :func:`crm_experiments.uplift.policy.arm_money` of the given table (Holm over its arms,
no fixed costs): for a table without an evaluation. A campaign's money is its evaluation's
(``crm-exp run``: the report and the coupon-uplift page).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from crm_experiments.cli._tables import read_customer_table
from crm_experiments.cli.compare import _plain
from crm_experiments.uplift.model import UpliftInputError, UpliftResult, analyse_uplift

MAX_BOOT = 100_000  # bootstrap resamples; more only takes longer (and memory)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", help="per-customer table, .csv or .parquet")
    parser.add_argument("--arm", required=True, help="column holding the arm of each customer")
    parser.add_argument("--control", required=True, help="name of the control arm")
    parser.add_argument("--outcome", required=True,
                        help="numeric outcome column (profit per customer, or 0/1)")
    parser.add_argument("--features", required=True, metavar="A,B,C",
                        help="comma-separated feature columns (numbers, text or categories)")
    parser.add_argument("--cost-per-treated", action="append", default=[], metavar="ARM=VALUE",
                        help="cost per customer of an arm not inside the outcome (repeatable)")
    parser.add_argument("--test-size", type=float, default=0.3,
                        help="share of customers held out for evaluation (0.3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--learner", choices=["x", "t", "dr"], default="t",
                        help="meta-learner: t (default; the most stable on our checks), x, dr")
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples (200)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def _read(path: Path, arm: str) -> pd.DataFrame:
    return read_customer_table(path, arm, UpliftInputError)


def _costs(values: list[str]) -> dict[str, float]:
    """``ARM=VALUE`` options as {arm: cost}: one finite cost from 0 to ``MAX_MONEY`` per arm
    (a second value for the same arm is refused, not kept silently)."""
    from crm_experiments.params import MAX_MONEY

    out: dict[str, float] = {}
    for v in values:
        key, sep, rest = v.partition("=")
        if not sep or not key or not rest:
            raise UpliftInputError(f"--cost-per-treated {v!r}: expected ARM=VALUE")
        try:
            cost = float(rest)
        except ValueError:
            raise UpliftInputError(f"--cost-per-treated {v!r}: {rest!r} is not a number") \
                from None
        if not 0 <= cost <= MAX_MONEY:  # NaN fails both comparisons
            raise UpliftInputError(f"--cost-per-treated {v!r}: a cost per customer is a number "
                                   f"from 0 to {MAX_MONEY:g}")
        if key in out:
            raise UpliftInputError(f"--cost-per-treated: arm {key!r} given twice ({out[key]:g}, "
                                   f"then {cost:g}): give it once")
        out[key] = cost
    return out


def render(result: UpliftResult) -> str:
    """Plain-text tables: per-arm effects, ranking quality, policy values."""
    money = result.arm_money[["arm", "customers", "profit_per_customer",
                              "profit_per_customer_low", "profit_per_customer_high",
                              "incremental_profit", "p_value_adjusted"]]
    lines = [f"Outcome '{result.outcome}', control '{result.control}'; model ({result.learner}"
             f"-learner) trained on {result.n_train} customers, evaluated on {result.n_test} "
             "held-out customers.", "", "Effect per customer vs control (Holm-adjusted "
             "intervals):", money.to_string(index=False, float_format=lambda x: f"{x:,.4g}"),
             "", "Held-out ranking (Qini coefficient and AUUC normalised by the perfect model, "
             "bootstrap intervals):",
             result.ranking[["arm", "qini", "qini_low", "qini_high", "auuc", "auuc_low",
                             "auuc_high"]].to_string(index=False, float_format="{:.4f}".format),
             "", "Policy value per held-out customer vs treating no one (IPW and doubly "
             "robust):", result.policy_values.to_string(index=False,
                                                        float_format="{:.4g}".format)]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    path = Path(args.table)
    features = [f.strip() for f in args.features.split(",") if f.strip()]
    if not features:
        raise UpliftInputError("--features: give at least one column, e.g. --features a,b")
    if not 10 <= args.n_boot <= MAX_BOOT:
        raise UpliftInputError(f"--n-boot {args.n_boot}: use 10 to {MAX_BOOT:,} resamples")
    if not 0 <= args.seed <= 2**32 - 1:
        raise UpliftInputError(f"--seed {args.seed}: use 0 to 2**32 - 1 (what NumPy accepts)")
    df = _read(path, args.arm)
    result = analyse_uplift(
        df, arm=args.arm, control=args.control, outcome=args.outcome, features=features,
        cost_per_treated=_costs(args.cost_per_treated), test_size=args.test_size,
        seed=args.seed, learner=args.learner, n_boot=args.n_boot, source=str(path))
    if args.json:
        print(json.dumps(_plain(result.to_dict()), indent=2))
    else:
        print(render(result))
    return 0
