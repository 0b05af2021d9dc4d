"""Time the full metrics pass on a generated shop: wall time per metric, total, peak RSS.

The shop comes from the demo generator (``params/demo.yaml``, ``--customers`` customers, every
purchase rate times ``--purchase-rate-scale``: the default gives about 10 orders per customer,
1M customers / 10M orders); an existing shop in ``--data-dir`` generated with the same number
of customers and scale is reused. The
tables are read with :func:`crm_experiments.io.reader.load_shop` (validation included, timed
as ``load``) and every metric is executed to its small pandas result:

lifecycle counts at the sale start and 30 days after the sale, and the migration matrix;
stickiness of the last period before the sale (30-day retention of the period before it);
RFM segment counts; tier counts and tier migration; sale KPIs of the sale vs the baseline
weeks; satisfaction before vs after; cohorts (sale vs ordinary weeks, 30/60/90 days);
wake-up / reactivation with the holdout.

Peak memory is this process's high-water mark (:func:`peak_rss_mib`; DuckDB runs in-process,
so it is included).
Usage: ``python bench/bench_metrics.py [--customers N] [--purchase-rate-scale X]
[--data-dir DIR] [--threads K]``. Unknown arguments are ignored (``python -m bench`` passes the
same ``BENCH_ARGS`` to every script).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import narwhals as nw
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crm_experiments.analyses import descriptive  # noqa: E402
from crm_experiments.demo.generator import BENCH_PURCHASE_RATE_SCALE  # noqa: E402
from crm_experiments.io import engine  # noqa: E402
from crm_experiments.io.engine import collect, scalar  # noqa: E402
from crm_experiments.io.reader import load_shop  # noqa: E402
from crm_experiments.metrics import cohorts, kpis, lifecycle, rfm, stickiness  # noqa: E402
from crm_experiments.params import load_params  # noqa: E402


def peak_rss_mib() -> float:
    """Peak resident memory of this process, MiB: ``VmHWM`` of /proc/self/status where there is
    one (``ru_maxrss`` survives ``fork`` and ``execve`` on Linux, so a spawned worker would
    report its parent's resident memory when that is larger), else ``ru_maxrss``."""
    with contextlib.suppress(OSError, StopIteration, ValueError):
        line = next(x for x in Path("/proc/self/status").read_text().splitlines()
                    if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def ensure_shop(data_dir: Path, params_path: str, n_customers: int, scale: float
                ) -> tuple[float, float] | None:
    """Generate the shop unless one with ``n_customers`` and purchase rate ``scale`` is there;
    returns the generation's seconds and peak RSS (MiB), or None when reused.

    Generation runs in a child process so that its memory does not count in the peak RSS.
    """
    truth = data_dir / "truth.json"
    if truth.exists():
        got = json.loads(truth.read_text())
        if got.get("n_customers") == n_customers and got.get("multipliers", {}).get(
                "purchase_rate_scale", 1.0) == scale:
            return None
    code = ("import sys\n"
            "from crm_experiments.demo.generator import generate_shop\n"
            "from crm_experiments.params import load_params\n"
            "generate_shop(sys.argv[1], load_params(sys.argv[2]), n_customers=int(sys.argv[3]),\n"
            "              purchase_rate_scale=float(sys.argv[4]))")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(data_dir), params_path, str(n_customers),
                    repr(float(scale))], check=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--purchase-rate-scale", type=float, default=BENCH_PURCHASE_RATE_SCALE,
                    help="multiplier of every customer's purchase rate (default "
                         f"{BENCH_PURCHASE_RATE_SCALE:g}: about 10 orders per customer)")
    ap.add_argument("--data-dir", default=None,
                    help="shop directory (default data/bench/shop_<customers>[_x<scale>])")
    ap.add_argument("--params", default=str(ROOT / "params" / "demo.yaml"))
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default all)")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory limit, e.g. 8GB")
    args, _unknown = ap.parse_known_args(argv)

    params = load_params(args.params)
    scale = args.purchase_rate_scale
    suffix = "" if scale == 1.0 else f"_x{scale:g}"
    data_dir = Path(args.data_dir or ROOT / "data" / "bench" / f"shop_{args.customers}{suffix}")
    generated = ensure_shop(data_dir, args.params, args.customers, scale)

    timings: dict[str, float] = {}

    def timed(name: str, fn):
        started = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - started
        return out

    con = engine.connect(memory_limit=args.memory_limit, threads=args.threads)
    shop = timed("load (read + validate)",
                 lambda: load_shop(data_dir, params=params, con=con))
    sizes = {name: int(scalar(shop[name].select(nw.len()))) for name in sorted(shop.tables)}
    o = shop["orders"]

    P = params.lifecycle_period_months
    sale_start = pd.Timestamp(params.sale.start)
    sale_end = pd.Timestamp(params.sale.end) + pd.Timedelta(days=1)   # params: end inclusive
    after = sale_end + pd.Timedelta(days=30)
    base = (sale_start - pd.Timedelta(days=35), sale_start - pd.Timedelta(days=14))
    cid = params.campaign_id
    started_all = time.perf_counter()

    timed("lifecycle counts (2 dates)", lambda: [
        lifecycle.lifecycle_counts(o, d, P, customers=shop["customers"])
        for d in (sale_start, after)])
    timed("lifecycle migration", lambda: lifecycle.migration_summary(
        lifecycle.migration_matrix(o, sale_start, after, P)))
    p1 = lifecycle.period_start(sale_start, P)
    timed("stickiness (2 periods)", lambda: [
        stickiness.stickiness(o, s, e, retention_days=30, as_of=sale_start)
        for s, e in ((p1, sale_start), (lifecycle.period_start(sale_start, P, 2), p1))])

    def rfm_counts():
        t = rfm.rfm(o, sale_start)
        return collect(t.group_by("segment").agg(nw.len().alias("n")))

    timed("RFM segments", rfm_counts)

    def tier_counts():
        t = rfm.tiers(o, after)
        return collect(t.group_by("tier").agg(nw.len().alias("n")))

    timed("tiers", tier_counts)
    timed("tier migration", lambda: rfm.tier_migration(o, sale_start, after))
    timed("sale KPIs (sale, baseline)", lambda: kpis.kpi_comparison(
        o, {"baseline": base, "sale": (sale_start, sale_end)}))
    sat_tables = {n: shop[n] for n in ("orders", "reviews", "surveys") if shop.has(n)}
    timed("satisfaction (before, after)", lambda: [
        descriptive.satisfaction(sat_tables, s, e) for s, e in (base, (sale_start, after))])
    timed("cohorts 30/60/90", lambda: descriptive.cohort_repurchase(
        o, (sale_start, sale_end), cohorts.default_comparison_window(sale_start, sale_end),
        as_of=scalar(o.select(nw.col("created_at").max()))))
    timed("wake-up / reactivation", lambda: descriptive.reactivation_rates(
        o, shop["contacts"], sale_start, sale_end, assignments=shop["assignments"],
        holdout_arm=params.control_arm, campaign_id=cid))
    metrics_total = time.perf_counter() - started_all

    print(f"shop: {data_dir} ({args.customers:,} customers, purchase rate scale {scale:g}"
          + (f", generated in {generated[0]:.1f} s, generator peak RSS {generated[1]:,.0f} MiB"
             if generated is not None else ", reused")
          + ")")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    files = sum(f.stat().st_size for f in data_dir.glob("*.parquet"))
    print(f"files: {files / 2**20:,.0f} MiB of parquet")
    print(f"\n{'step':<32}{'seconds':>9}")
    for name, s in timings.items():
        print(f"{name:<32}{s:>9.2f}")
    print(f"{'metrics total (without load)':<32}{metrics_total:>9.2f}")
    total = metrics_total + timings["load (read + validate)"]
    print(f"{'total (load + metrics)':<32}{total:>9.2f}")
    print(f"\npeak RSS: {peak_rss_mib():,.0f} MiB (this process: load and metrics; "
          f"generation ran in a child process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
