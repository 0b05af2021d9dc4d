"""Simulation benchmark of the effect estimators at 20,000 experiments per scenario.

    .venv/bin/python bench/bench_stats.py [--experiments 20000] [--seed 0]

Prints, per estimator: the A/A false-positive rate at alpha 0.05 (target 4-6 %), the 95 %
interval coverage of a known effect, absolute and relative (target 93.5-96.5 %), the power at
that effect, and for CUPED the mean variance reduction next to rho² (0.36). Same scenarios as
``tests/stats/test_simulate.py`` (see ``crm_experiments.stats.simulate``).
"""

from __future__ import annotations

import argparse
import time

from crm_experiments.stats.simulate import SCENARIOS, simulate

LIFTS = {"proportion": 0.15, "mean": 0.10, "ratio": 0.05, "cuped": 0.03}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args, _ = parser.parse_known_args(argv)  # BENCH_ARGS of other benchmarks are ignored
    n = args.experiments
    print(f"{n:,} experiments per row; arms of 2,400 vs 1,600 customers; alpha 0.05")
    print(f"{'estimator':<11}{'A/A fpr':>9}{'lift':>7}{'power':>8}{'coverage':>10}"
          f"{'rel cov':>9}{'A/A cov':>9}{'var red':>9}{'seconds':>9}")
    for i, s in enumerate(SCENARIOS):
        start = time.perf_counter()
        aa = simulate(s, n_experiments=n, lift=0.0, seed=args.seed + 10 * i)
        ab = simulate(s, n_experiments=n, lift=LIFTS[s], seed=args.seed + 10 * i + 1)
        secs = time.perf_counter() - start
        vr = f"{ab['variance_reduction']:.3f}" if s == "cuped" else "-"
        print(f"{s:<11}{aa['false_positive_rate']:>9.4f}{LIFTS[s]:>7.0%}"
              f"{ab['false_positive_rate']:>8.3f}{ab['coverage']:>10.4f}"
              f"{ab['rel_coverage']:>9.4f}{aa['coverage']:>9.4f}{vr:>9}{secs:>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
