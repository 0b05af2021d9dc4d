"""What `crm-exp run` spends before its first notebook: the preflight and the run's shop cache.

Before, the preflight staged and validated the data directory to check it, then the runner
staged and validated it again to build the shop cache the notebooks read
(``preflight(...)`` then ``build_shop_cache(...)``). Now the preflight writes the tables it
staged as that cache (``preflight(..., cache_dir=...)``). Both paths are timed here on the same
generated shop (default 1M customers, about 10M orders, as bench_evaluation), alternating,
each in a fresh process (so the OS file cache is warm for both but no DuckDB state is shared);
wall and CPU (user + system) seconds, medians of ``--repeats`` runs, and their ratio.

Usage: ``python bench/bench_run_staging.py [--customers 1000000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_metrics import ensure_shop  # noqa: E402
from crm_experiments.demo.generator import BENCH_PURCHASE_RATE_SCALE  # noqa: E402

CHILD = """
import json, resource, shutil, sys, tempfile, time
from crm_experiments.io.cache import build_shop_cache
from crm_experiments.params import load_params
from crm_experiments.pipeline.preflight import preflight
params_path, mode = sys.argv[1], sys.argv[2]
cache = tempfile.mkdtemp(prefix="bench-shop-")
t0 = time.perf_counter()
if mode == "twice":
    assert preflight(params_path, 30).ok
    build_shop_cache(load_params(params_path), cache)
else:
    assert preflight(params_path, 30, cache_dir=cache).ok
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
shutil.rmtree(cache)
print(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--purchase-rate-scale", type=float, default=BENCH_PURCHASE_RATE_SCALE)
    ap.add_argument("--params", default=str(ROOT / "params" / "demo.yaml"))
    ap.add_argument("--repeats", type=int, default=3)
    args, _ = ap.parse_known_args(argv)
    suffix = "" if args.purchase_rate_scale == 1 else f"_x{args.purchase_rate_scale:g}"
    data_dir = ROOT / "data" / "bench" / f"shop_{args.customers}{suffix}"
    generated = ensure_shop(data_dir, args.params, args.customers, args.purchase_rate_scale)
    if generated:
        print(f"generated {data_dir} in {generated[0]:.1f} s")
    raw = yaml.safe_load(Path(args.params).read_text(encoding="utf-8"))
    raw["data"]["path"] = str(data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        params_file = Path(tmp) / "bench.yaml"
        params_file.write_text(yaml.safe_dump(raw), encoding="utf-8")
        n_orders = subprocess.run(
            [sys.executable, "-c", "import duckdb,sys; print(duckdb.sql(f\"select count(*) from "
             "'{sys.argv[1]}'\").fetchone()[0])", str(data_dir / "orders.parquet")],
            capture_output=True, text=True, check=True).stdout.strip()
        print(f"# bench_run_staging: {args.customers:,} customers, {int(n_orders):,} orders; "
              f"preflight at 30 days + the run's shop cache; {args.repeats} runs each")
        got: dict[str, list[dict]] = {"twice": [], "once": []}
        for _ in range(args.repeats):
            for mode in got:
                out = subprocess.run([sys.executable, "-c", CHILD, str(params_file), mode],
                                     capture_output=True, text=True, check=True, cwd=ROOT)
                got[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {mode: {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu")}
           for mode, runs in got.items()}
    for mode, label in (("twice", "staged twice (before)"), ("once", "staged once (now)")):
        walls = ", ".join(f"{r['wall']:.1f}" for r in got[mode])
        print(f"{label:24s} wall {med[mode]['wall']:6.1f} s (runs: {walls}); "
              f"cpu {med[mode]['cpu']:6.1f} s")
    print(f"ratio before/now: wall {med['twice']['wall'] / med['once']['wall']:.2f}x, "
          f"cpu {med['twice']['cpu'] / med['once']['cpu']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
