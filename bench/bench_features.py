"""Per-customer BTYD features: the engine (Narwhals on DuckDB) vs lifetimes, on the same order log.

The order log is the first N orders (file order) of a generated shop's ``orders.parquet``
(default ``data/bench/shop_1000000_x3.9``: 1M customers, about 10M orders; generated with
``generate_shop(..., purchase_rate_scale=3.9)`` if it is not there), for each N in ``--sizes``.

* engine: :func:`crm_experiments.models.features.rfm_features` on the DuckDB table (the
  first N orders materialised with ``Engine.cache``; days,
  calibration end = the day after the last order), including the transfer of the result
  to a pandas frame indexed by customer;
* lifetimes: ``summary_data_from_transaction_data(purchases, "customer_id", "created_at",
  monetary_value_col="value", observation_period_end=<last day>, freq="D")`` on a pandas frame
  of the purchases (paid, not fully refunded; value = net revenue). Building that frame
  (filter + transfer) is *not* counted in lifetimes' time, which favours lifetimes.

The results are asserted identical (same customers; frequency equal; recency, T and
monetary_value within 1e-9 relative). The two methods run alternately (engine, lifetimes,
engine, ...: ``--repeats`` engine runs, the first ``--lifetimes-repeats`` of them each followed
by a lifetimes run) so that a change of machine load hits both; times are medians. Each method
keeps its own process: the engine runs in this one, lifetimes in a worker process that reads
the purchases once (from a temporary Parquet file) and keeps them, so that neither method's
memory churn (lifetimes frees some 5 GB after each run) lands on the other's page faults.
A **lower bound** is timed beside them: one hash aggregation of the same purchases per
customer (``one_pass_floor``: purchase count, first and last day, summed value, as Arrow,
unsorted). It is not the features (it cannot tell purchase days apart, which takes the second
aggregation per customer and day) but every exact engine query must at least group all
purchases by customer once, so lifetimes' time over it bounds the ratio any such query can
reach on this machine. It runs right after each engine run (so it finds DuckDB's memory
warm, which favours it).
The 1-minute load average (``os.getloadavg``) is printed before and after each size and the
process CPU time (user + system, all threads) of each engine run beside its wall time: on a
loaded machine (the load average above the core count) wall times are inflated and the CPU
times are the steadier comparison. Peak RSS is each process's own high-water mark
(``bench_metrics.peak_rss_mib``). DuckDB runs with :func:`crm_experiments.io.engine.default_threads`
threads unless ``--threads`` says otherwise.
Usage: ``python bench/bench_features.py [--sizes 1000000,10000000] [--repeats 5]
[--lifetimes-repeats 3] [--data-dir DIR] [--threads N]``; unknown arguments are ignored
(``python -m bench`` passes the same ``BENCH_ARGS`` to every script).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import narwhals as nw
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_metrics import ensure_shop, peak_rss_mib  # noqa: E402
from crm_experiments.demo.generator import BENCH_PURCHASE_RATE_SCALE  # noqa: E402
from crm_experiments.io import engine  # noqa: E402
from crm_experiments.io.engine import collect, scalar  # noqa: E402
from crm_experiments.io.reader import load_shop  # noqa: E402
from crm_experiments.metrics.orders import is_purchase, net_revenue, ts  # noqa: E402
from crm_experiments.models.features import data_end, rfm_features  # noqa: E402
from crm_experiments.params import load_params  # noqa: E402


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads), seconds."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def timed(fn):
    """(result, wall seconds, CPU seconds) of one call."""
    started, cpu = time.perf_counter(), cpu_seconds()
    out = fn()
    return out, time.perf_counter() - started, cpu_seconds() - cpu


def one_pass_floor(orders, calibration_end):
    """One aggregation of the purchases before ``calibration_end`` per customer (count, first
    and last date, summed net revenue): the lower bound described in the module docstring."""
    p = orders.filter(is_purchase() & (nw.col("created_at") < ts(calibration_end)))
    p = p.select("customer_id", date=nw.col("created_at").dt.date(), value=net_revenue())
    return p.group_by("customer_id").agg(
        purchases=nw.len(), first=nw.col("date").min(), last=nw.col("date").max(),
        total=nw.col("value").sum())


_PURCHASES: pd.DataFrame | None = None


def _load_purchases(path: str) -> None:
    """Worker process: read the purchases once (outside any timing) and keep them."""
    global _PURCHASES
    _PURCHASES = pd.read_parquet(path)


def _lifetimes_run(last_day: pd.Timestamp) -> tuple[pd.DataFrame, float, float]:
    """Worker process: lifetimes' summary of the kept purchases (result, wall s, peak RSS MiB)."""
    from lifetimes.utils import summary_data_from_transaction_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, wall, _cpu = timed(lambda: summary_data_from_transaction_data(
            _PURCHASES, "customer_id", "created_at", monetary_value_col="value",
            observation_period_end=last_day, freq="D"))
    return out, wall, peak_rss_mib()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--lifetimes-repeats", type=int, default=3)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--purchase-rate-scale", type=float, default=BENCH_PURCHASE_RATE_SCALE)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--params", default=str(ROOT / "params" / "demo.yaml"))
    ap.add_argument("--threads", type=int, default=None)
    args, _unknown = ap.parse_known_args(argv)
    scale = args.purchase_rate_scale
    suffix = "" if scale == 1.0 else f"_x{scale:g}"
    data_dir = Path(args.data_dir or ROOT / "data" / "bench" / f"shop_{args.customers}{suffix}")
    ensure_shop(data_dir, args.params, args.customers, scale)
    params = load_params(args.params)
    con = engine.connect(threads=args.threads)
    orders = load_shop(data_dir, params=params, con=con, validate=False)["orders"]
    total = int(scalar(orders.select(nw.len())))
    threads = con.raw_sql("SELECT current_setting('threads')").fetchall()[0][0]
    print(f"order log: {data_dir / 'orders.parquet'} ({total:,} orders)")
    print(f"machine: {os.cpu_count()} cores; DuckDB threads {threads}; engine and lifetimes "
          "run alternately; times are medians")
    print(f"{'orders':>12}{'purchases':>12}{'customers':>11}{'engine s':>10}"
          f"{'lifetimes s':>13}{'ratio':>8}  identical")
    spawn = multiprocessing.get_context("spawn")
    worker_rss = 0.0
    for n in [int(s) for s in args.sizes.split(",")]:
        if n > total:
            print(f"{'':>12}  ({n:,} asked; the log has {total:,} orders: using all of them)")
            n = total
        t = con.cache(orders.head(n))
        cal_end = data_end(t)
        tx = collect(t.filter(is_purchase()).select("customer_id", "created_at",
                                                    value=net_revenue()))
        with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ProcessPoolExecutor(
                1, mp_context=spawn, initializer=_load_purchases,
                initargs=(str(Path(tmp) / "purchases.parquet"),)) as worker:
            tx.to_parquet(Path(tmp) / "purchases.parquet")
            n_purchases = len(tx)
            del tx
            worker.submit(int, 0).result()  # the worker has read the purchases
            load_before = load_average()
            ours_t, ours_cpu, theirs_t, floor_t = [], [], [], []
            ours = theirs = None
            for r in range(max(args.repeats, args.lifetimes_repeats)):
                if r < args.repeats:
                    ours, wall, cpu = timed(lambda t=t, c=cal_end: rfm_features(t, c))
                    ours_t.append(wall)
                    ours_cpu.append(cpu)
                    floor, wall, _cpu = timed(
                        lambda t=t, c=cal_end: one_pass_floor(t, c).collect(
                            backend="pyarrow").to_native())
                    floor_t.append(wall)
                if r < args.lifetimes_repeats:
                    theirs, wall, rss = worker.submit(
                        _lifetimes_run, cal_end - pd.Timedelta(days=1)).result()
                    theirs_t.append(wall)
                    worker_rss = max(worker_rss, rss)
        load_after = load_average()
        theirs = theirs.sort_index()
        theirs.index = theirs.index.astype(str)
        assert list(ours.index) == list(theirs.index), "different customers"
        assert (ours["frequency"].to_numpy() == theirs["frequency"].to_numpy()).all()
        for col in ("recency", "T", "monetary_value"):
            np.testing.assert_allclose(ours[col].to_numpy(dtype=float),
                                       theirs[col].to_numpy(dtype=float), rtol=1e-9, atol=1e-9,
                                       err_msg=col)
        a, b = statistics.median(ours_t), statistics.median(theirs_t)
        print(f"{n:>12,}{n_purchases:>12,}{len(ours):>11,}{a:>10.2f}{b:>13.2f}{b / a:>7.1f}x  yes")
        print(f"{'':>12}  engine runs: {', '.join(f'{x:.2f}' for x in ours_t)} s "
              f"(CPU {', '.join(f'{x:.2f}' for x in ours_cpu)} s); "
              f"lifetimes runs: {', '.join(f'{x:.2f}' for x in theirs_t)} s")
        lower = statistics.median(floor_t)
        print(f"{'':>12}  lower bound, one aggregation per customer ({floor.num_rows:,} rows): "
              f"{', '.join(f'{x:.2f}' for x in floor_t)} s, median {lower:.2f} s: lifetimes / "
              f"lower bound {b / lower:.1f}x")
        print(f"{'':>12}  load average (1, 5, 15 min): {load_before} before, {load_after} after")
        del theirs, ours, floor
        con.release(t)
    print(f"\npeak RSS: engine process {peak_rss_mib():,.0f} MiB (DuckDB; the purchases frame "
          f"it hands over is freed before the runs), lifetimes worker {worker_rss:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
