"""Simulation benchmark of capping revenue (issue 18.2) on the demo shop's revenue distribution.

    .venv/bin/python bench/bench_capping.py [--customers 20000] [--draws 2000] [--lift 0.10]
                                            [--seed 0]

Generates the demo shop (``params/demo.yaml``, ``--customers`` customers) and takes its
campaign's per-customer table at the 30-day horizon (``campaign_customers``): the population
is every assigned customer's (revenue, pre-period revenue) pair, all arms together. Each of
``--draws`` simulated experiments resamples customers with replacement into a holdout and a
treated arm of the demo's own sizes (its control arm and its first coupon arm); in the "lift"
scenario every treated customer's revenue is multiplied by ``1 + lift`` (a lift of the buyers'
spending: non-buyers stay at 0), in "A/A" nothing. For no capping and capping at the pooled
99th, 99.5th and 99.9th percentile of the draw (``stats.capping.cap_money``, as the
evaluation does) it compares the arms with the product's estimators (``stats.table
.compare_arms``: Welch's t, and Lin's regression on the pre-period revenue with HC2 errors,
95 % intervals) and prints:

* the truths: ``truth`` = lift x population mean revenue (the uncapped effect), and per cap
  the capped truth = E[min((1+lift) R, c)] - E[min(R, c)] with ``c`` the cap of the
  population mixture (holdout and treated shares of the design);
* ``bias %``: (mean estimate - truth) / truth, i.e. the capped effect's shortfall;
  ``bias cap %``: the same against the capped truth (what capping estimates);
* ``se ratio``: mean reported se / that of no capping (same estimator); ``sd ratio``: the
  estimates' standard deviation over the draws / that of no capping;
* ``rmse``: root mean squared error against the uncapped truth (currency per customer);
* ``cover``: share of 95 % intervals containing the uncapped truth, ``cover cap``: the capped
  truth; in A/A ``false pos.``: share of draws whose interval excludes 0.

Unknown arguments are ignored (``BENCH_ARGS`` of other benchmarks).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from crm_experiments.demo.generator import generate_shop
from crm_experiments.io.reader import load_shop
from crm_experiments.metrics.campaign import campaign_customers
from crm_experiments.params import load_params
from crm_experiments.stats.capping import cap_money
from crm_experiments.stats.table import compare_arms

REPO = Path(__file__).resolve().parents[1]
LEVELS = (None, 99.0, 99.5, 99.9)
ESTIMATORS = {"welch": None, "lin": {"revenue": "pre_revenue"}}
HORIZON = 30


def demo_population(n_customers: int, seed: int) -> tuple[pd.DataFrame, int, int]:
    """The demo campaign's per-customer (revenue, pre_revenue) at the 30-day horizon, and its
    holdout and first treated arm sizes."""
    params = load_params(REPO / "params" / "demo.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        params = params.model_copy(update={
            "seed": params.seed + seed,
            "data": params.data.model_copy(update={"path": data})})
        generate_shop(data, params, n_customers=n_customers)
        shop = load_shop(data, timezone=params.timezone, params=params)
        customers = campaign_customers(shop, params, HORIZON)
    sizes = customers["arm"].value_counts()
    return (customers[["revenue", "pre_revenue"]].reset_index(drop=True),
            int(sizes[params.control_arm]), int(sizes[params.treatment_arms[0]]))


def capped_truth(revenue: np.ndarray, lift: float, n_c: int, n_t: int,
                 percentile: float | None) -> float:
    """Effect on the capped revenue in the population: the cap is the empirical percentile of
    the mixture of the holdout (weight n_c) and the lifted treated (weight n_t)."""
    treated = revenue * (1 + lift)
    if percentile is None:
        return float(treated.mean() - revenue.mean())
    values = np.concatenate([revenue, treated])
    weights = np.concatenate([np.full(revenue.size, n_c), np.full(revenue.size, n_t)]) / (
        (n_c + n_t) * revenue.size)
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(weights[order])
    cap = values[order][np.searchsorted(cdf, percentile / 100 - 1e-12)]
    return float(np.minimum(treated, cap).mean() - np.minimum(revenue, cap).mean())


def simulate(pop: pd.DataFrame, n_c: int, n_t: int, lift: float, draws: int,
             seed: int) -> pd.DataFrame:
    """One row per draw x cap level x estimator: estimate, se, interval."""
    rng = np.random.default_rng(seed)
    revenue, pre = pop["revenue"].to_numpy(float), pop["pre_revenue"].to_numpy(float)
    arm = np.repeat(["control", "treated"], [n_c, n_t])
    rows = []
    for d in range(draws):
        idx = rng.integers(0, len(pop), n_c + n_t)
        y = revenue[idx] * np.where(arm == "treated", 1 + lift, 1.0)
        df = pd.DataFrame({"arm": arm, "revenue": y, "pre_revenue": pre[idx]})
        for level in LEVELS:
            capped, _ = cap_money(df, level, columns=("revenue",))
            for name, covariates in ESTIMATORS.items():
                e = compare_arms(capped, arm="arm", control="control", metrics=["revenue"],
                                 covariates=covariates, correction=None).effects[0]
                rows.append((d, level, name, e.estimate, e.se, e.ci_low, e.ci_high))
    return pd.DataFrame(rows, columns=["draw", "level", "estimator", "estimate", "se",
                                       "ci_low", "ci_high"])


def summarise(sim: pd.DataFrame, truth: float, truths: dict) -> pd.DataFrame:
    out = []
    base = {name: g for name, g in sim[sim["level"].isna()].groupby("estimator")}
    for (name, level), g in sim.groupby(["estimator", sim["level"].fillna(100.0)], sort=False):
        t_cap = truths[None if level == 100.0 else level]
        b = base[name]
        out.append({
            "estimator": name, "cap": "none" if level == 100.0 else f"P{level:g}",
            "capped truth": t_cap, "mean est.": g["estimate"].mean(),
            "bias %": (100 * (g["estimate"].mean() - truth) / truth if truth else np.nan),
            "bias cap %": (100 * (g["estimate"].mean() - t_cap) / t_cap if t_cap else np.nan),
            "se ratio": g["se"].mean() / b["se"].mean(),
            "sd ratio": g["estimate"].std() / b["estimate"].std(),
            "rmse": float(np.sqrt(((g["estimate"] - truth) ** 2).mean())),
            "cover": ((g["ci_low"] <= truth) & (truth <= g["ci_high"])).mean(),
            "cover cap": ((g["ci_low"] <= t_cap) & (t_cap <= g["ci_high"])).mean(),
            "false pos.": ((g["ci_low"] > 0) | (g["ci_high"] < 0)).mean(),
        })
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--draws", type=int, default=2_000)
    parser.add_argument("--lift", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=0)
    args, _ = parser.parse_known_args(argv)
    started = time.perf_counter()
    pop, n_c, n_t = demo_population(args.customers, args.seed)
    r = pop["revenue"].to_numpy(float)
    print(f"demo shop {args.customers:,} customers: {len(pop):,} assigned (population), "
          f"{(r > 0).mean():.1%} bought in the 30-day window; revenue per customer mean "
          f"{r.mean():.2f}, P99 {np.percentile(r, 99):.0f}, P99.9 {np.percentile(r, 99.9):.0f}, "
          f"max {r.max():.0f}; top 1% of customers hold "
          f"{np.sort(r)[-max(1, len(r) // 100):].sum() / r.sum():.1%} of revenue")
    print(f"{args.draws:,} draws per scenario of {n_c:,} holdout + {n_t:,} treated customers "
          f"(resampled with replacement); 95% intervals; generated and read in "
          f"{time.perf_counter() - started:.0f} s")
    pd.set_option("display.width", 140)
    for scenario, lift in ((f"lift {args.lift:.0%} on buyers' revenue", args.lift),
                           ("A/A", 0.0)):
        t0 = time.perf_counter()
        truths = {level: capped_truth(r, lift, n_c, n_t, level) for level in LEVELS}
        truth = truths[None]
        sim = simulate(pop, n_c, n_t, lift, args.draws, args.seed + (1 if lift else 2))
        table = summarise(sim, truth, truths)
        if not lift:
            table = table.drop(columns=["bias %", "bias cap %", "cover"])
        else:
            table = table.drop(columns=["false pos."])
        print(f"\n{scenario}: truth {truth:.3f} per customer "
              f"({time.perf_counter() - t0:.0f} s)")
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
