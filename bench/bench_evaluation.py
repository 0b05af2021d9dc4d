"""The full one-month evaluation of a large generated shop: wall time and peak memory.

Runs :func:`crm_experiments.pipeline.runner.run_evaluation` (the evaluation notebook, then the demo
params' extra notebooks due at 30 days: CLV/churn and coupon uplift; reports; MLflow) with
``params/demo.yaml`` pointed at a generated shop (default ``data/bench/shop_1000000_x3.9``:
1M customers, about 10M orders; generated if missing), horizon ``--horizon`` days, MLflow on a
temporary sqlite store. Each run is a child process (its notebooks run in Jupyter kernels, more
child processes); the peak resident memory of the whole process tree (sum of RSS over the
tree, sampled every 0.2 s) and the largest single process (``ru_maxrss`` of the children) are
reported, with the time of each step (from the runner's progress messages). Times are medians
of ``--repeats`` runs. Targets: issue 10 at 1M customers, < 180 s and < 4 GB; issue 19 at 10M
customers, < 15 min and < 12 GB, on a 2-core machine.

``--data-dir`` naming a generated shop (with its ``truth.json``) takes the number of customers
and the purchase rate scale from it, so the shop is never regenerated over.

The CPU time (user + system) of each run's process tree is printed beside its wall time: on a
shared machine it is the steadier figure.

Usage: ``python bench/bench_evaluation.py [--repeats 2] [--horizon 30] [--data-dir DIR]``;
unknown arguments are ignored.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_metrics import ensure_shop  # noqa: E402
from crm_experiments.demo.generator import BENCH_PURCHASE_RATE_SCALE  # noqa: E402

CHILD = """
import sys, time
from crm_experiments.pipeline.runner import run_evaluation
t0 = time.perf_counter()
def progress(msg):
    print(f"{time.perf_counter() - t0:8.1f} s  {msg}", flush=True)
out = run_evaluation(sys.argv[1], int(sys.argv[2]), reports_root=sys.argv[3], progress=progress)
progress(f"done: report {out.report_path}")
"""


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:  # the run just ended
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def children_cpu() -> float:
    """User + system CPU seconds of the finished children (and the kernels they waited for)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(params_file: Path, horizon: int, work: Path) -> tuple[float, float, float, str]:
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}",
               PYTHONPATH=str(ROOT))
    started, cpu = time.perf_counter(), children_cpu()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(params_file), str(horizon),
                             str(work / "reports")], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]
    ps = psutil.Process(proc.pid)

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(ps))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:
        print(out[-6000:])
        raise SystemExit(f"evaluation failed (exit {proc.returncode})")
    # The kernels' transport warning repeats for every notebook and says nothing about speed.
    out = "\n".join(line for line in out.splitlines() if "running over TCP" not in line)
    return seconds, peak[0] / 2**20, children_cpu() - cpu, out


def step_times(log: str) -> list[tuple[str, float]]:
    """``(step, seconds)`` from the runner's progress lines (``<t> s  [...] <step>``): each
    step lasts until the next line's time."""
    marks = []
    for line in log.splitlines():
        head, _, rest = line.strip().partition(" s  ")
        try:
            t = float(head)
        except ValueError:
            continue
        marks.append((rest.split("] ", 1)[-1] if rest.startswith("[") else rest, t))
    return [(name, nxt - t) for (name, t), (_, nxt) in zip(marks, marks[1:], strict=False)]


def targets(customers: int) -> tuple[float, float]:
    """``(seconds, MiB)``: issue 19's 15 min / 12 GB from 10M customers, else issue 10's."""
    return (900.0, 12 * 1024.0) if customers >= 10_000_000 else (180.0, 4096.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--purchase-rate-scale", type=float, default=BENCH_PURCHASE_RATE_SCALE)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--params", default=str(ROOT / "params" / "demo.yaml"))
    ap.add_argument("--horizon", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=2)
    args, _unknown = ap.parse_known_args(argv)

    scale = args.purchase_rate_scale
    suffix = "" if scale == 1.0 else f"_x{scale:g}"
    data_dir = Path(args.data_dir or ROOT / "data" / "bench" / f"shop_{args.customers}{suffix}")
    truth = data_dir / "truth.json"
    if args.data_dir and truth.exists():  # a given shop: its size, never regenerated
        got = json.loads(truth.read_text())
        args.customers = int(got.get("n_customers", args.customers))
        scale = float(got.get("multipliers", {}).get("purchase_rate_scale", scale))
    else:
        ensure_shop(data_dir, args.params, args.customers, scale)
    times, peaks = [], []
    with tempfile.TemporaryDirectory(prefix="crm-bench-eval-") as tmp:
        raw = yaml.safe_load(Path(args.params).read_text(encoding="utf-8"))
        raw["data"]["path"] = str(data_dir.resolve())
        params_file = Path(tmp) / "params.yaml"
        params_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        for i in range(args.repeats):
            work = Path(tmp) / f"run{i}"
            work.mkdir()
            seconds, peak, cpu, log = run_once(params_file, args.horizon, work)
            times.append(seconds)
            peaks.append(peak)
            print(f"run {i + 1}: {seconds:.1f} s wall ({cpu:.1f} s CPU, all processes), peak RSS "
                  f"of the process tree {peak:,.0f} MiB, load average {os.getloadavg()[0]:.1f}")
            print("  " + log.strip().replace("\n", "\n  "))
            print("  steps: " + "; ".join(f"{name} {sec:.1f} s" for name, sec in step_times(log)
                                          if sec >= 0.5))
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    med = statistics.median(times)
    print(f"\nshop: {data_dir} ({args.customers:,} customers, purchase rate scale {scale:g})")
    print(f"evaluation at {args.horizon} days (all notebooks, reports, MLflow): median "
          f"{med:.1f} s over {len(times)} run(s); peak RSS of the process tree "
          f"{max(peaks):,.0f} MiB (largest single process {largest:,.0f} MiB)")
    sec, mib = targets(args.customers)
    print(f"targets: < {sec:.0f} s -> {'met' if med < sec else 'NOT met'}; < {mib:.0f} MiB -> "
          f"{'met' if max(peaks) < mib else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
