"""Simulation benchmark of daily looks during a sale: the watch's group-sequential boundary
against the confidence sequence and the naive fixed-sample interval.

    .venv/bin/python bench/bench_sequential.py [--sales 1000] [--seed 0] [--workers 2]
        [--params params/demo.yaml] [--cs-sales 20000] [--spending pocock] [--parts 123]

Three parts, every row "looked at every day, stop at the first day the interval excludes 0":

1. **Demo A/A shuffles** (the watch's design): the demo shop's holdout and first coupon arm,
   every assigned customer with their cumulative conversion and net revenue at the end of each
   of the 11 sale days (as ``crm-exp watch`` counts them); the arm labels shuffled ``--sales``
   times (true difference 0). Per shuffle the boundary is recomputed from its own data, as the
   watch does.
2. **Synthetic sales** with the same design: fixed arms (the demo's sizes), each customer buys
   on day ``d`` with probability ``p_d`` (busy first and last days), spending lognormal(3.5,
   1.2); the arm's daily buy probability is ``p_d (1 + lift)``. A/A (``lift`` 0) and a known
   lift: false positives or power, and coverage of the true difference at the last look and
   at all looks jointly.
3. The confidence sequence on sales where customers ARRIVE day by day
   (:func:`crm_experiments.stats.sequential.simulate_sale`, ``--cs-sales``), as before.

Columns: ``any`` share of sales where some look excludes 0 (false-positive rate under A/A,
power otherwise); ``last`` the single fixed-sample test at the last day; ``cov last`` /
``cov all`` coverage of the true difference at the last look / at every look; ``GS day`` the
mean first day whose GS interval excludes 0 (among the sales where one does); ``c last`` the
mean critical value of the last look. ``--spending obrien_fleming`` compares the other
spending function (the watch uses Pocock-type). Unknown arguments are ignored (BENCH_ARGS of
other benchmarks).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.group_sequential import (
    SPENDING_FUNCTIONS,
    LookMoments,
    group_sequential,
)
from crm_experiments.stats.sequential import DAILY_CONTROL, confidence_sequence, simulate_sale

REPO = Path(__file__).resolve().parents[1]
LIFTS = (0.0, 0.10, 0.15, 0.30)
METRICS = ("converted", "revenue")
#: synthetic sale: daily buy probability of a holdout customer over 11 days (busy first and
#: last days; about 20 % buy at least once), and the lognormal spend of a purchase
DAILY_P = (0.05, 0.02, 0.015, 0.012, 0.01, 0.01, 0.01, 0.012, 0.015, 0.02, 0.04)
MU, SIGMA = 3.5, 1.2
_DATA: dict[str, np.ndarray] = {}  # the demo's per-customer outcomes, shared with the workers
_SPENDING = ["pocock"]  # the spending function, shared with the workers


def demo_outcomes(params_path: Path) -> tuple[dict[str, np.ndarray], int, int]:
    """The demo's holdout + first treatment arm: cumulative conversion and net revenue per
    customer at the end of each sale day (``(customers, days)``), and the two arm sizes."""
    import narwhals as nw
    import pandas as pd

    from crm_experiments.io.engine import collect
    from crm_experiments.io.reader import load_shop
    from crm_experiments.metrics.watch import customer_day_revenue
    from crm_experiments.params import load_params

    params = load_params(params_path)
    shop = load_shop(params.data.path, params=params)
    a = shop["assignments"]
    a = (a.filter(nw.col("campaign_id") == params.campaign_id)
         .select("customer_id", "arm").unique())
    arm, ctl = params.treatment_arms[0], params.control_arm
    a = a.filter(nw.col("arm").is_in([arm, ctl]))
    start, end = pd.Timestamp(params.sale.start), pd.Timestamp(params.sale.end)
    per = collect(customer_day_revenue(shop["orders"], a, start, end))
    ids = collect(a).sort_values(["arm", "customer_id"], kind="stable")
    days = pd.date_range(start, end)
    daily = (per.assign(_day=pd.to_datetime(per["_day"]).dt.normalize())
             .pivot_table(index="customer_id", columns="_day", values="rev", aggfunc="sum")
             .reindex(index=ids["customer_id"], columns=days).fillna(0.0).to_numpy())
    bought = (per.assign(_day=pd.to_datetime(per["_day"]).dt.normalize(), one=1.0)
              .pivot_table(index="customer_id", columns="_day", values="one", aggfunc="max")
              .reindex(index=ids["customer_id"], columns=days).fillna(0.0).to_numpy())
    out = {"revenue": daily.cumsum(axis=1), "converted": (bought.cumsum(axis=1) > 0) * 1.0}
    n_ctl = int((ids["arm"] == ctl).sum())
    return out, n_ctl, len(ids) - n_ctl


def _record(y_arm: np.ndarray, y_ctl: np.ndarray, truth: np.ndarray, alpha: float) -> dict:
    """One sale, one metric: the three intervals at every look."""
    g = group_sequential(LookMoments.from_outcomes(y_arm), LookMoments.from_outcomes(y_ctl),
                         planned_looks=y_arm.shape[1], alpha=alpha, spending=_SPENDING[0])
    cs = confidence_sequence([MomentStats.from_arrays(y_arm[:, k]) for k in range(len(truth))],
                             [MomentStats.from_arrays(y_ctl[:, k]) for k in range(len(truth))],
                             alpha=alpha, planned_n=len(y_arm) + len(y_ctl))
    out = {}
    for name, lo, hi in (("gs", g.lower, g.upper), ("cs", cs.lower, cs.upper),
                         ("naive", g.naive_lower, g.naive_upper)):
        cover = (lo <= truth) & (truth <= hi)
        out[f"{name}_any"] = bool(((lo > 0) | (hi < 0)).any())
        out[f"{name}_last"] = bool((lo[-1] > 0) | (hi[-1] < 0))
        out[f"{name}_cov_last"] = bool(cover[-1])
        out[f"{name}_cov_all"] = bool(cover.all())
    out["c_last"] = float(g.critical_value[-1])
    out["stop"] = g.stopped_at or 0
    return out


def _demo_chunk(args: tuple[int, int, int, float]) -> list[dict]:
    seed, count, n_ctl, alpha = args
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(count):
        p = rng.permutation(len(_DATA["revenue"]))
        for metric in METRICS:
            y = _DATA[metric]
            truth = np.zeros(y.shape[1])
            records.append({"metric": metric, **_record(y[p[n_ctl:]], y[p[:n_ctl]], truth,
                                                         alpha)})
    return records


def synthetic_truth(lift: float) -> dict[str, np.ndarray]:
    """True arm - holdout difference at each look of a synthetic sale."""
    p = np.asarray(DAILY_P)
    spend = math.exp(MU + SIGMA**2 / 2)
    return {"revenue": np.cumsum(p * lift) * spend,
            "converted": np.cumprod(1 - p) - np.cumprod(1 - p * (1 + lift))}


def _synthetic_sale(rng: np.random.Generator, n: int, lift: float) -> dict[str, np.ndarray]:
    p = np.asarray(DAILY_P) * (1 + lift)
    buys = rng.random((n, len(p))) < p
    spend = np.where(buys, rng.lognormal(MU, SIGMA, (n, len(p))), 0.0)
    return {"revenue": spend.cumsum(axis=1), "converted": (buys.cumsum(axis=1) > 0) * 1.0}


def _synthetic_chunk(args: tuple[int, int, int, int, float, float]) -> list[dict]:
    seed, count, n_ctl, n_arm, lift, alpha = args
    rng = np.random.default_rng(seed)
    truth = synthetic_truth(lift)
    records = []
    for _ in range(count):
        ya, yc = _synthetic_sale(rng, n_arm, lift), _synthetic_sale(rng, n_ctl, 0.0)
        for metric in METRICS:
            records.append({"metric": metric,
                            **_record(ya[metric], yc[metric], truth[metric], alpha)})
    return records


def _run(fn, tasks: list[tuple], workers: int) -> list[dict]:
    if workers <= 1:
        return [r for t in tasks for r in fn(t)]
    with ProcessPoolExecutor(workers) as pool:
        return [r for chunk in pool.map(fn, tasks) for r in chunk]


def _chunks(total: int, seed: int, size: int = 25) -> list[tuple[int, int]]:
    return [(seed * 100_003 + i, min(size, total - start))
            for i, start in enumerate(range(0, total, size))]


HEADER = (f"{'metric':<10}{'lift':>6}{'GS any':>8}{'CS any':>8}{'naive any':>11}"
          f"{'naive last':>12}{'GS cov last':>13}{'GS cov all':>12}{'CS cov all':>12}"
          f"{'naive cov all':>15}{'GS day':>8}{'c last':>8}")


def _line(metric: str, lift: float, recs: list[dict]) -> str:
    m = [r for r in recs if r["metric"] == metric]

    def rate(key: str) -> float:
        return sum(r[key] for r in m) / len(m)

    stops = [r["stop"] for r in m if r["stop"]]
    stop = float(np.mean(stops)) if stops else float("nan")

    return (f"{metric:<10}{lift:>6.0%}{rate('gs_any'):>8.4f}{rate('cs_any'):>8.4f}"
            f"{rate('naive_any'):>11.4f}{rate('naive_last'):>12.4f}{rate('gs_cov_last'):>13.4f}"
            f"{rate('gs_cov_all'):>12.4f}{rate('cs_cov_all'):>12.4f}"
            f"{rate('naive_cov_all'):>15.4f}{stop:>8.2f}"
            f"{np.mean([r['c_last'] for r in m]):>8.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=1_000)
    parser.add_argument("--cs-sales", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--params", default=str(REPO / "params" / "demo.yaml"))
    parser.add_argument("--lifts", type=float, nargs="*", default=[0.0, 0.10])
    parser.add_argument("--spending", default="pocock", choices=SPENDING_FUNCTIONS)
    parser.add_argument("--parts", default="123", help="which parts to run (1, 2, 3)")
    args, _ = parser.parse_known_args(argv)  # BENCH_ARGS of other benchmarks are ignored
    alpha = 0.05
    _SPENDING[0] = args.spending
    print(f"alpha {alpha}; group-sequential (GS): {args.spending} alpha spending over the 11 "
          "daily looks, correlations of the daily z statistics estimated per sale")

    started = time.perf_counter()
    n_ctl, n_arm = 8_632, 17_263  # the demo's holdout and first arm
    data = None
    if "1" in args.parts:
        try:
            data, n_ctl, n_arm = demo_outcomes(Path(args.params))
        except Exception as exc:  # noqa: BLE001  (no demo data: `crm-exp demo` makes it)
            print(f"\n1. demo A/A: skipped, the demo shop cannot be read ({exc})")
    if data is not None:
        _DATA.update(data)
        tasks = [(s, k, n_ctl, alpha) for s, k in _chunks(args.sales, args.seed)]
        recs = _run(_demo_chunk, tasks, args.workers)
        print(f"\n1. demo A/A: {args.sales:,} shuffles of {n_ctl:,} holdout + {n_arm:,} arm "
              f"customers, 11 looks ({time.perf_counter() - started:.0f} s)")
        print(HEADER)
        for metric in METRICS:
            print(_line(metric, 0.0, recs))

    if "2" in args.parts:
        _synthetic(args, n_ctl, n_arm, alpha)
    if "3" in args.parts:
        _arriving(args)
    print("lift 0 %: 'any' columns are false-positive rates; otherwise powers of stopping at "
          "the first look that excludes 0")
    return 0


def _synthetic(args: argparse.Namespace, n_ctl: int, n_arm: int, alpha: float) -> None:
    print(f"\n2. synthetic sales: {args.sales:,} per row, {n_ctl:,} holdout + {n_arm:,} arm "
          f"customers, 11 looks")
    print(HEADER + f"{'seconds':>9}")
    for i, lift in enumerate(args.lifts):
        started = time.perf_counter()
        tasks = [(s, k, n_ctl, n_arm, lift, alpha)
                 for s, k in _chunks(args.sales, args.seed + 1 + i)]
        recs = _run(_synthetic_chunk, tasks, args.workers)
        secs = time.perf_counter() - started
        for metric in METRICS:
            print(_line(metric, lift, recs) + f"{secs:>9.0f}")
    truth = synthetic_truth(1.0)
    print(f"   (true differences at the last look per 100 % lift: revenue "
          f"{truth['revenue'][-1]:.3f}, conversion {truth['converted'][-1]:.4f})")


def _arriving(args: argparse.Namespace) -> None:
    n_c = sum(DAILY_CONTROL)
    print(f"\n3. confidence sequence, customers arriving daily: {args.cs_sales:,} sales per "
          f"row; {n_c:,} control and {round(1.5 * n_c):,} arm customers by the last day")
    print(f"{'lift':>6}{'CS any':>9}{'naive any':>11}{'naive last':>12}{'CS cover':>10}"
          f"{'naive cover':>13}{'seconds':>9}")
    for i, lift in enumerate(LIFTS):
        started = time.perf_counter()
        r = simulate_sale(args.cs_sales, lift=lift, seed=args.seed + i)
        secs = time.perf_counter() - started
        print(f"{lift:>6.0%}{r['cs_any_excludes_zero']:>9.4f}{r['naive_any_excludes_zero']:>11.4f}"
              f"{r['naive_last_look_excludes_zero']:>12.4f}{r['cs_coverage_all_looks']:>10.4f}"
              f"{r['naive_coverage_all_looks']:>13.4f}{secs:>9.1f}")


if __name__ == "__main__":
    raise SystemExit(main())
