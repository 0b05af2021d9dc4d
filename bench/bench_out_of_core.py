"""Out of core: a metrics pass over an orders Parquet file much larger than DuckDB's memory limit.

The order log is ``--copies`` copies of a generated shop's ``orders.parquet`` (default
``data/bench/shop_1000000_x3.9``, about 10M orders) with the customer and order ids suffixed by
the copy number (so 10 copies = 10M customers, ~100M orders), written once with DuckDB to
``data/bench/out_of_core_x<copies>/orders.parquet`` and reused. The metrics then run on a lazy
frame scanning that file (the file already has the contract's types; ``load_shop`` would first
copy it into an in-memory DuckDB table) on a connection with ``memory_limit`` ``--memory-limit``
(default 1GB) and a temp directory under ``data/bench/`` where DuckDB spills:

lifecycle counts at the sale start and 30 days after it, the lifecycle migration matrix,
stickiness, RFM segment counts, tier counts, sale KPIs (sale vs baseline), cohorts 30/60/90.

Each step is timed (one run: the pass takes minutes); peak RSS is ``ru_maxrss`` of this process,
the temp directory's largest size is sampled every 0.5 s. Usage: ``python
bench/bench_out_of_core.py [--copies 10] [--memory-limit 1GB] [--threads N]``; unknown
arguments are ignored.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

import narwhals as nw
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_metrics import ensure_shop  # noqa: E402
from crm_experiments.analyses import descriptive  # noqa: E402
from crm_experiments.demo.generator import BENCH_PURCHASE_RATE_SCALE  # noqa: E402
from crm_experiments.io import engine  # noqa: E402
from crm_experiments.io.engine import collect, scalar  # noqa: E402
from crm_experiments.io.schema import TABLES  # noqa: E402
from crm_experiments.metrics import cohorts, kpis, lifecycle, rfm, stickiness  # noqa: E402
from crm_experiments.params import load_params  # noqa: E402


def dir_bytes(path: Path) -> int:
    total = 0
    for f in path.rglob("*"):
        with contextlib.suppress(OSError):
            total += f.stat().st_size
    return total


def build_log(src: Path, dst: Path, copies: int) -> float | None:
    """Write ``copies`` id-suffixed copies of ``src`` to ``dst`` unless it is there."""
    if dst.exists():
        return None
    import duckdb

    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".parquet.part")
    cols = [c.name for c in TABLES["orders"].columns]
    sel = ", ".join(f"{c} || '_' || k AS {c}" if c in ("order_id", "customer_id") else c
                    for c in cols)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"COPY (SELECT {sel} FROM read_parquet('{src}'), range({copies}) r(k)) "
                f"TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 500000)")
    con.close()
    tmp.rename(dst)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--purchase-rate-scale", type=float, default=BENCH_PURCHASE_RATE_SCALE)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--params", default=str(ROOT / "params" / "demo.yaml"))
    args, _unknown = ap.parse_known_args(argv)

    scale = args.purchase_rate_scale
    suffix = "" if scale == 1.0 else f"_x{scale:g}"
    data_dir = Path(args.data_dir or ROOT / "data" / "bench" / f"shop_{args.customers}{suffix}")
    ensure_shop(data_dir, args.params, args.customers, scale)
    log = ROOT / "data" / "bench" / f"out_of_core_x{args.copies}" / "orders.parquet"
    built = build_log(data_dir / "orders.parquet", log, args.copies)
    params = load_params(args.params)

    spill = ROOT / "data" / "bench" / "duckdb_spill"
    shutil.rmtree(spill, ignore_errors=True)
    spill.mkdir(parents=True)
    con = engine.connect(memory_limit=args.memory_limit, threads=args.threads)
    con.raw_sql(f"SET temp_directory = '{spill}'")
    o = con.sql(f"SELECT * FROM read_parquet('{log}')")
    n_orders = int(scalar(o.select(nw.len())))

    peak_spill = [0]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak_spill[0] = max(peak_spill[0], dir_bytes(spill))
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()
    P = params.lifecycle_period_months
    sale_start = pd.Timestamp(params.sale.start)
    sale_end = pd.Timestamp(params.sale.end) + pd.Timedelta(days=1)
    after = sale_end + pd.Timedelta(days=30)
    base = (sale_start - pd.Timedelta(days=35), sale_start - pd.Timedelta(days=14))
    p1 = lifecycle.period_start(sale_start, P)
    steps = {
        "lifecycle counts (2 dates)": lambda: [lifecycle.lifecycle_counts(o, d, P)
                                               for d in (sale_start, after)],
        "lifecycle migration": lambda: lifecycle.migration_matrix(o, sale_start, after, P),
        "stickiness": lambda: stickiness.stickiness(o, p1, sale_start, retention_days=30,
                                                    as_of=sale_start),
        "RFM segments": lambda: collect(rfm.rfm(o, sale_start).group_by("segment").agg(
            nw.len().alias("n"))),
        "tiers": lambda: collect(rfm.tiers(o, after).group_by("tier").agg(nw.len().alias("n"))),
        "sale KPIs (sale, baseline)": lambda: kpis.kpi_comparison(
            o, {"baseline": base, "sale": (sale_start, sale_end)}),
        "cohorts 30/60/90": lambda: descriptive.cohort_repurchase(
            o, (sale_start, sale_end), cohorts.default_comparison_window(sale_start, sale_end),
            as_of=scalar(o.select(nw.col("created_at").max()))),
    }
    timings: dict[str, float | str] = {}
    started_all = time.perf_counter()
    for name, fn in steps.items():
        started = time.perf_counter()
        try:
            fn()
            timings[name] = time.perf_counter() - started
        except Exception as exc:  # report how far it got (e.g. out of memory) and go on
            timings[name] = f"FAILED after {time.perf_counter() - started:.0f} s: " \
                            f"{str(exc).splitlines()[0][:160]}"
    total = time.perf_counter() - started_all
    done.set()
    time.sleep(0.6)

    size = log.stat().st_size
    print(f"orders: {log} ({n_orders:,} orders, {args.copies} copies of {data_dir.name}, "
          f"{size / 2**30:.2f} GiB of Parquet"
          + (f", written in {built:.0f} s" if built is not None else ", reused") + ")")
    threads = con.raw_sql("SELECT current_setting('threads')").fetchone()[0]
    print(f"DuckDB memory_limit {args.memory_limit}, threads {threads} on {os.cpu_count()} "
          f"cores, spill directory {spill}")
    print(f"\n{'step':<30}{'seconds':>9}")
    for name, s in timings.items():
        print(f"{name:<30}{s:>9.1f}" if isinstance(s, float) else f"{name:<30} {s}")
    ok = all(isinstance(s, float) for s in timings.values())
    print(f"{'metrics pass total':<30}{total:>9.1f}  ({'completed' if ok else 'INCOMPLETE'})")
    print(f"\npeak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB; "
          f"largest spill directory size seen: {peak_spill[0] / 2**20:,.0f} MiB; "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    shutil.rmtree(spill, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
