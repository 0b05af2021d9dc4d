"""Time the demo shop generator: rows per table, seconds, peak memory and size on disk.

Usage: ``.venv/bin/python bench/bench_generator.py [--customers 10000000] [--compare 1000000]
[--chunk-customers N] [--purchase-rate-scale X] [--out DIR] [--keep]``.

Runs, each in its own process (so ``ru_maxrss`` is that run's peak RSS):

* the main shop of ``--customers`` (default 10M), chunked as ``generate_shop`` does by default
  (in memory up to 1M customers, chunks of 500k above; ``--chunk-customers`` overrides);
* unless ``--compare 0``: the comparison shop of ``--compare`` customers (default 1M) in memory
  and streamed in chunks, for the ratios: time per customer main / comparison, streamed /
  in memory at the comparison size.

The default scale gives about 10 orders per customer (10M customers / 100M orders). ``--out``
keeps the main shop there (e.g. ``data/bench/shop_10000000_x3.9``, what ``bench_evaluation``
reads); otherwise every shop goes to a temporary folder, removed unless ``--keep``. Unknown
arguments are ignored (``python -m bench`` passes the same ``BENCH_ARGS`` to every script).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crm_experiments.demo.generator import (
    BENCH_PURCHASE_RATE_SCALE,
    DEFAULT_CHUNK_CUSTOMERS,
    chunk_size,
    generate_shop,
)
from crm_experiments.params import load_params


def _peak_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def one(args: argparse.Namespace) -> dict:
    """Generate one shop in this process; its figures as a dict."""
    params = load_params(args.params)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    generate_shop(args.out, params, n_customers=args.customers, seed=args.seed,
                  file_format=args.format, purchase_rate_scale=args.purchase_rate_scale,
                  chunk_customers=args.chunk_customers)
    seconds = time.perf_counter() - started
    truth = json.loads((args.out / "truth.json").read_text(encoding="utf-8"))
    return {"customers": args.customers, "seconds": seconds, "peak_mib": _peak_mib(),
            "disk_mib": sum(p.stat().st_size for p in args.out.iterdir()) / 2**20,
            "chunk": chunk_size(args.customers, args.chunk_customers),
            "rows": truth["data"]["rows"], "load": (load + os.getloadavg()[0]) / 2}


def _run(args: argparse.Namespace, customers: int, chunk: int | None, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--one", "--customers", str(customers),
           "--purchase-rate-scale", repr(args.purchase_rate_scale), "--params", str(args.params),
           "--format", args.format, "--out", str(out)]
    if chunk is not None:
        cmd += ["--chunk-customers", str(chunk)]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _line(label: str, r: dict) -> str:
    how = "in memory" if r["chunk"] >= r["customers"] else f"chunks of {r['chunk']:,}"
    return (f"{label:<11} customers {r['customers']:>10,}  {how:<18} seconds {r['seconds']:7.1f}"
            f"  us/customer {1e6 * r['seconds'] / r['customers']:6.1f}  peak RSS "
            f"{r['peak_mib']:7,.0f} MiB  on disk {r['disk_mib']:7,.0f} MiB  load {r['load']:.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=10_000_000)
    ap.add_argument("--compare", type=int, default=1_000_000,
                    help="comparison size, in memory and streamed (0: none)")
    ap.add_argument("--chunk-customers", type=int, default=None,
                    help="customers per chunk of the main shop (default: generate_shop's)")
    ap.add_argument("--purchase-rate-scale", type=float, default=BENCH_PURCHASE_RATE_SCALE,
                    help="multiplier of every customer's purchase rate (default "
                         f"{BENCH_PURCHASE_RATE_SCALE:g}: about 10 orders per customer)")
    ap.add_argument("--params", type=Path, default=Path("params/demo.yaml"))
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder of the main shop, kept (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary output")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args, _unknown = ap.parse_known_args(argv)
    if args.one:
        print(json.dumps(one(args)))
        return 0
    base = Path(tempfile.mkdtemp(prefix="bench-generator-"))
    started = time.perf_counter()
    try:
        main_out = args.out or base / "shop"
        runs = [("main", _run(args, args.customers, args.chunk_customers, main_out))]
        if args.compare:
            runs.append(("in memory", _run(args, args.compare, args.compare, base / "mem")))
            shutil.rmtree(base / "mem", ignore_errors=True)
            streamed_chunk = min(DEFAULT_CHUNK_CUSTOMERS, max(10, args.compare // 2))
            runs.append(("streamed", _run(args, args.compare, streamed_chunk, base / "str")))
            shutil.rmtree(base / "str", ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"purchase rate scale {args.purchase_rate_scale:g}, {args.format}; each run in its "
          f"own process; {time.perf_counter() - started:.0f} s wall in all")
    for label, r in runs:
        print(_line(label, r))
    main_run = runs[0][1]
    for name, rows in main_run["rows"].items():
        print(f"  {name:<13} {rows:>13,}")
    if args.compare:
        per = {label: r["seconds"] / r["customers"] for label, r in runs}
        print(f"time per customer, main / in memory at {args.compare:,}: "
              f"{per['main'] / per['in memory']:.2f}x; main / streamed: "
              f"{per['main'] / per['streamed']:.2f}x")
        mem, st = runs[1][1], runs[2][1]
        print(f"at {args.compare:,}: streamed / in memory: time "
              f"{st['seconds'] / mem['seconds']:.2f}x, peak RSS "
              f"{st['peak_mib'] / mem['peak_mib']:.2f}x")
    if args.out:
        print(f"main shop kept in {args.out}")
    elif args.keep:
        print(f"kept in {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
