"""``crm-exp generate PARAMS.yaml OUT_DIR``: generate a synthetic shop with known true effects.

Writes the canonical tables, ``truth.json`` and ``true_effects.parquet`` into ``OUT_DIR``
(replaced atomically) and prints the row count of each table and the time taken.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from crm_experiments.errors import CrmError

#: Bounds of a shop: below 10 customers the arms are empty; above MAX_CUSTOMERS (``demo``,
#: which evaluates the shop in memory) the arrays do not fit a machine's memory (about 3.3
#: orders and 1 KB of tables per customer).
MIN_CUSTOMERS, MAX_CUSTOMERS = 10, 5_000_000
#: ``generate`` streams shops above 1M customers in chunks (memory bounded by a chunk plus
#: the shop-level draws; 10M customers: 4.4 GB peak, bench/RESULTS.md).
MAX_GENERATED_CUSTOMERS = 20_000_000
#: --purchase-rate-scale above this multiplies orders past any real shop (and memory).
MAX_RATE_SCALE = 10.0


def check_customers(n: int, option: str = "--customers", maximum: int = MAX_CUSTOMERS) -> None:
    """Refuse a number of customers outside MIN_CUSTOMERS..maximum, naming the option."""
    if not MIN_CUSTOMERS <= n <= maximum:
        raise CrmError(f"{option} must be {MIN_CUSTOMERS} to {maximum:,}, got {n}")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("params", metavar="PARAMS.yaml", type=Path,
                        help="campaign parameters (sale dates, arms, costs, seed)")
    parser.add_argument("out_dir", metavar="OUT_DIR", type=Path,
                        help="directory to write (replaced if it exists)")
    parser.add_argument("--customers", metavar="N", type=int, default=50_000,
                        help="number of customers (default 50000)")
    parser.add_argument("--seed", metavar="N", type=int, default=None,
                        help="random seed (default: the params' seed)")
    parser.add_argument("--purchase-rate-scale", metavar="X", type=float, default=1.0,
                        help="multiply every customer's purchase rate by X (default 1: about "
                             "3.3 orders per customer; 3.9 gives about 10)")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                        help="file format of the tables (default parquet)")
    parser.add_argument("--chunk-customers", metavar="N", type=int, default=None,
                        help="simulate and write N customers at a time (memory bounded by "
                             "the chunk; default: in one piece up to 1000000 customers, "
                             "chunks of 500000 above)")


def run(args: argparse.Namespace) -> int:
    import json

    from crm_experiments.demo.generator import generate_shop
    from crm_experiments.io.process import check_writable
    from crm_experiments.params import load_params

    params = load_params(args.params)
    check_customers(args.customers, maximum=MAX_GENERATED_CUSTOMERS)
    if args.chunk_customers is not None:
        check_customers(args.chunk_customers, "--chunk-customers", MAX_GENERATED_CUSTOMERS)
    if not 0 < args.purchase_rate_scale <= MAX_RATE_SCALE:  # NaN fails too
        raise CrmError(f"--purchase-rate-scale must be > 0 and at most {MAX_RATE_SCALE:g}, "
                       f"got {args.purchase_rate_scale}")
    if args.seed is not None and not 0 <= args.seed <= 2**32 - 1:
        raise CrmError(f"--seed must be 0 to 2**32 - 1 (the params' rule), got {args.seed}")
    if args.out_dir.exists() and not args.out_dir.is_dir():
        raise CrmError(f"{args.out_dir} exists and is not a directory")
    check_writable(args.out_dir, "output folder", create=False)
    started = time.perf_counter()
    out = generate_shop(args.out_dir, params, n_customers=args.customers, seed=args.seed,
                        file_format=args.format, purchase_rate_scale=args.purchase_rate_scale,
                        chunk_customers=args.chunk_customers)
    seconds = time.perf_counter() - started
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    chunks = truth["data"].get("chunks")
    how = (f", {chunks['n_chunks']} chunks of {chunks['customers_per_chunk']:,} customers"
           if chunks else "")
    print(f"generated {out} ({args.format}, seed {truth['seed']}{how}) in {seconds:.1f} s")
    for name, rows in truth["data"]["rows"].items():
        print(f"  {name:<13} {rows:>12,} rows")
    sizes = ", ".join(f"{a} {n:,}" for a, n in truth["data"]["arm_sizes"].items())
    print(f"  assigned      {truth['n_assigned']:>12,} customers ({sizes})")
    return 0
