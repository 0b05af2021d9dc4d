"""Time the demo shop generator: rows per table, seconds and peak memory.

Usage: ``.venv/bin/python bench/bench_generator.py --customers 1000000
[--purchase-rate-scale X] [--out DIR] [--keep]``. The default scale gives about 10 orders per
customer (1M customers / 10M orders). Unknown arguments are ignored (``python -m bench`` passes
the same ``BENCH_ARGS`` to every script).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from crm_experiments.demo.generator import BENCH_PURCHASE_RATE_SCALE, generate_shop
from crm_experiments.params import load_params


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--purchase-rate-scale", type=float, default=BENCH_PURCHASE_RATE_SCALE,
                    help="multiplier of every customer's purchase rate (default "
                         f"{BENCH_PURCHASE_RATE_SCALE:g}: about 10 orders per customer)")
    ap.add_argument("--params", type=Path, default=Path("params/demo.yaml"))
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--out", type=Path, default=None,
                    help="output directory (default: a temporary one, removed afterwards)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary output")
    args, _unknown = ap.parse_known_args(argv)
    params = load_params(args.params)
    base = args.out.parent if args.out else Path(tempfile.mkdtemp(prefix="bench-generator-"))
    out = args.out or base / "shop"
    started = time.perf_counter()
    generate_shop(out, params, n_customers=args.customers, seed=args.seed,
                  file_format=args.format, purchase_rate_scale=args.purchase_rate_scale)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    peak_mib = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"customers {args.customers:,}  purchase rate scale {args.purchase_rate_scale:g}  "
          f"seconds {seconds:.1f}  peak RSS {peak_mib:,.0f} MiB  "
          f"on disk {size / 2**20:,.0f} MiB")
    for name, rows in truth["data"]["rows"].items():
        print(f"  {name:<13} {rows:>12,}")
    if args.out is None and not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    elif args.out is None:
        print(f"kept in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
