"""Simulation benchmark of the always-valid daily looks at 20,000 simulated 11-day sales.

    .venv/bin/python bench/bench_sequential.py [--sales 20000] [--seed 0]

Prints, for A/A and for true lifts of the buy rate, the share of sales where ANY of the 11
daily looks excludes 0 (confidence sequence vs the naive fixed-sample 95 % interval), the
single fixed-sample test at the last day, and the share of sales whose intervals cover the
true difference at all looks simultaneously. Same scenario as ``tests/stats/test_sequential.py``
(see ``crm_experiments.stats.sequential.simulate_sale``). Unknown arguments are ignored.
"""

from __future__ import annotations

import argparse
import time

from crm_experiments.stats.sequential import DAILY_CONTROL, simulate_sale

LIFTS = (0.0, 0.10, 0.15, 0.30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args, _ = parser.parse_known_args(argv)  # BENCH_ARGS of other benchmarks are ignored
    n_ctl = sum(DAILY_CONTROL)
    print(f"{args.sales:,} sales per row; 11 daily looks; {n_ctl:,} control and "
          f"{round(1.5 * n_ctl):,} arm customers by the last day; alpha 0.05")
    print(f"{'lift':>6}{'CS any':>9}{'naive any':>11}{'naive last':>12}{'CS cover':>10}"
          f"{'naive cover':>13}{'seconds':>9}")
    for i, lift in enumerate(LIFTS):
        start = time.perf_counter()
        r = simulate_sale(args.sales, lift=lift, seed=args.seed + i)
        secs = time.perf_counter() - start
        print(f"{lift:>6.0%}{r['cs_any_excludes_zero']:>9.4f}{r['naive_any_excludes_zero']:>11.4f}"
              f"{r['naive_last_look_excludes_zero']:>12.4f}{r['cs_coverage_all_looks']:>10.4f}"
              f"{r['naive_coverage_all_looks']:>13.4f}{secs:>9.1f}")
    print("lift 0%: 'any' columns are false-positive rates; otherwise powers of stopping at "
          "the first look that excludes 0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
