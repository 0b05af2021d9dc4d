"""The engine layer against the previous one: the same queries, the same data, both timed in
one run, results compared.

Queries (each a public function whose signature did not change with the engine port):
lifecycle state counts at the sale start (``metrics.lifecycle.lifecycle_counts``), the BTYD
features of every customer (``models.features.rfm_features``), sufficient statistics of order
amounts by province (``stats.aggr`` moments, one aggregate query), and the sale KPIs
(``metrics.kpis.sale_kpis``), on a generated shop's orders (default
``data/bench/shop_1000000_x3.9``: 1M customers, 9.9M orders). Loading (staging the Parquet
files into the engine) is timed apart.

The previous engine is another checkout with its own interpreter (``--other-root``,
``--other-python``; e.g. a worktree of the last commit before the port with its ``.venv``,
Ibis 12 on DuckDB 1.5). Each run is a child process (one per engine, alternating, ``--repeats``
times); inside a child every query runs ``--inner`` times and the median is kept. Results are
written by each child and compared here (counts exactly, money to 1e-9 relative).

Usage: ``python bench/bench_engine.py [--data-dir DIR] [--repeats 3] [--inner 3]
[--other-root DIR --other-python PY]``; unknown arguments are ignored.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data" / "bench" / "shop_1000000_x3.9"
QUERIES = ("lifecycle", "features", "moments", "kpis")


def child(root: Path, data_dir: Path, inner: int, out: Path) -> None:
    """Load the shop with the checkout at ``root`` and time each query ``inner`` times."""
    sys.path.insert(0, str(root))
    import pandas as pd

    from crm_experiments.io.reader import load_shop
    from crm_experiments.metrics import kpis, lifecycle
    from crm_experiments.models import features
    from crm_experiments.params import load_params
    from crm_experiments.stats import aggr

    moments = getattr(aggr, "moments_from_frame", None) or aggr.moments_from_ibis
    params = load_params(root / "params" / "demo.yaml")
    start, end = pd.Timestamp(params.sale_start), pd.Timestamp(params.sale_end)
    t0, c0 = time.perf_counter(), time.process_time()
    shop = load_shop(data_dir, params=params, validate=False)
    orders = shop["orders"]
    timings = {"load": [(time.perf_counter() - t0, time.process_time() - c0)]}
    calls = {
        "lifecycle": lambda: lifecycle.lifecycle_counts(orders, start, 3),
        "features": lambda: features.rfm_features(orders, start),
        "moments": lambda: {k: vars(v) for k, v in
                            moments(orders, "province", "amount").items()},
        "kpis": lambda: kpis.sale_kpis(orders, start, end),
    }
    results = {}
    for name, call in calls.items():
        runs = []
        for _ in range(inner):
            t0, c0 = time.perf_counter(), time.process_time()
            results[name] = call()
            runs.append((time.perf_counter() - t0, time.process_time() - c0))
        timings[name] = runs
    with open(out, "wb") as fh:
        pickle.dump({"timings": timings, "results": results,
                     "versions": _versions()}, fh)


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for pkg in ("duckdb", "ibis-framework", "narwhals", "pyspark"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def _same(a, b) -> bool:
    """Equal results: frames by value (sorted index), dicts key by key, 1e-9 relative."""
    import numpy as np
    import pandas as pd

    if isinstance(a, pd.DataFrame):
        a, b = a.sort_index(), b.sort_index()
        if list(a.columns) != list(b.columns) or len(a) != len(b):
            return False
        if not (a.index.astype(str) == b.index.astype(str)).all():
            return False
        return all(_same(a[c].tolist(), b[c].tolist()) for c in a.columns)
    if isinstance(a, dict):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int | np.number) and isinstance(b, float | int | np.number):
        if np.isnan(a) and np.isnan(b):
            return True
        return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=1e-12))
    return a == b


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--inner", type=int, default=3)
    ap.add_argument("--other-root", type=Path, default=None)
    ap.add_argument("--other-python", default=None)
    ap.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args(argv)
    if args.child:
        child(Path(args.child[0]), args.data_dir, args.inner, Path(args.child[1]))
        return 0
    if not (args.data_dir / "orders.parquet").exists():
        print(f"no shop at {args.data_dir}: run bench/bench_metrics.py first (it generates it)")
        return 1
    engines = [("this checkout", sys.executable, ROOT)]
    if args.other_root is not None:
        engines.append(("previous engine", args.other_python or sys.executable,
                        args.other_root.resolve()))
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {label: [] for label, _, _ in engines}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for label, python, root in engines:
                out = Path(tmp) / f"{rep}-{len(runs[label])}-{label[:4]}.pkl"
                subprocess.run([python, str(Path(__file__).resolve()), "--data-dir",
                                str(args.data_dir), "--inner", str(args.inner), "--child",
                                str(root), str(out)], check=True, cwd=tmp,
                               env={**os.environ, "PYTHONPATH": str(root)})
                with open(out, "rb") as fh:
                    runs[label].append(pickle.load(fh))
    load_after = os.getloadavg()
    print(f"orders: {args.data_dir / 'orders.parquet'}; machine: {os.cpu_count()} cores; "
          f"{args.repeats} child runs per engine (alternating), {args.inner} timings per query "
          "per run; medians of wall (CPU) seconds")
    for label, _, root in engines:
        print(f"  {label}: {root} ({json.dumps(runs[label][0]['versions'])})")
    header = f"{'query':<12}" + "".join(f"{label:>26}" for label, _, _ in engines)
    if len(engines) == 2:
        header += f"{'ratio':>8}{'identical':>11}"
    print(header)
    for name in ("load", *QUERIES):
        line = f"{name:<12}"
        medians = []
        for label, _, _ in engines:
            walls = [w for r in runs[label] for w, _ in r["timings"][name][-args.inner:]]
            cpus = [c for r in runs[label] for _, c in r["timings"][name][-args.inner:]]
            medians.append(statistics.median(walls))
            line += f"{statistics.median(walls):>17.2f} ({statistics.median(cpus):5.2f})"
        if len(engines) == 2:
            same = "" if name == "load" else (
                "yes" if _same(runs[engines[0][0]][0]["results"][name],
                               runs[engines[1][0]][0]["results"][name]) else "NO")
            line += f"{medians[1] / medians[0]:>7.2f}x{same:>11}"
        print(line)
    print("load average (1, 5, 15 min): "
          f"{', '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{', '.join(f'{x:.2f}' for x in load_after)} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
