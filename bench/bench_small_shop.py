"""Small shops fast (issue 19.3): the 50k-customer one-week evaluation and the demo's evaluations,
end to end, as a user runs them.

Two commands, each a fresh process as typed in a shell (``python -m crm_experiments.cli``,
which is what the ``crm-exp`` script runs):

- ``run7``: ``crm-exp run params/demo.yaml --horizon 7`` on the demo shop (50,000 customers,
  ``make demo``'s data; generated here first if missing, exactly as ``crm-exp demo`` does);
- ``demo``: ``crm-exp demo`` with its data already there (evaluations at 7 and 30 days with the
  CLV/churn and uplift notebooks, the sale watch pages, the shop holdout page).

Each in two ways, alternating, in the same run of this script: ``shared`` (the default: one
kernel for all of a command's notebooks, started before the preflight) and ``fresh``
(``CRM_EXP_KERNEL=fresh``: one new kernel per notebook, the previous way), and with
``--before DIR`` a third, ``before``: the commands run from another checkout of the package
(``PYTHONPATH=DIR``, its ``params/demo.yaml``; its ``data`` folder must hold the same demo
shop, e.g. a symlink to this one), e.g. the commit before issue 19.3
(``git archive c6ac9c1 | tar -x -C DIR``).

Each run gets its own working folder, reports folder and MLflow store (created beforehand, so
its one-off schema migration is not timed). Reported per command and way: the median wall time
and CPU time (user + system of the process and every child: kernels included) over
``--repeats`` runs, the largest peak of the process tree's resident memory (sum over the tree,
sampled every 0.1 s), and the machine's 1-minute load average before the runs. On a shared
machine the CPU seconds are the steadier figure; the targets (10 s and 30 s wall) are for an
idle machine.

Usage: ``python bench/bench_small_shop.py [--repeats 3] [--only run7|demo] [--before DIR]``;
unknown arguments are ignored.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS_S = {"run7": 10.0, "demo": 30.0}


def _command(case: str, params: Path, reports: Path) -> list[str]:
    base = [sys.executable, "-m", "crm_experiments.cli"]
    if case == "run7":
        return [*base, "run", str(params), "--horizon", "7", "--reports-dir", str(reports)]
    return [*base, "demo", "--params", str(params), "--reports-dir", str(reports)]


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    with contextlib.suppress(psutil.Error):
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
    return total


def run_once(case: str, way: str, root: Path, env_extra: dict[str, str]) -> dict:
    """One command in a fresh folder; its wall and CPU seconds, peak tree RSS, load before."""
    params = root / "params" / "demo.yaml"
    with tempfile.TemporaryDirectory(prefix="bench-small-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}"}
        env.pop("CRM_EXP_KERNEL", None)
        env.update(env_extra)
        # the store exists (as after a first run): its creation is not timed
        subprocess.run([sys.executable, "-c", "from crm_experiments.tracking.client import "
                        "mlflow_client; mlflow_client()"], env=env, cwd=tmp, check=True,
                       capture_output=True)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.Popen(_command(case, params, tmp / "reports"), env=env, cwd=tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ps = psutil.Process(proc.pid)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss(ps))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        steps = []
        for line in proc.stderr:
            steps.append((time.perf_counter() - t0, line.rstrip()))
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        if proc.returncode != 0:
            tail = "\n".join(s for _, s in steps[-15:])
            raise SystemExit(f"{case}/{way} failed (exit {proc.returncode}):\n{tail}")
        return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": peak[0],
                "load": load, "steps": steps}


def ensure_demo_data(params: Path, env_extra: dict[str, str]) -> None:
    """The demo shop in the params' data folder, as ``crm-exp demo`` makes it (generated only
    when missing or made by another generator version)."""
    code = ("import sys; from crm_experiments.cli.demo import ensure_demo_data; "
            "from crm_experiments.params import load_params; "
            "ensure_demo_data(load_params(sys.argv[1]), 50_000, say=print)")
    subprocess.run([sys.executable, "-c", code, str(params)], check=True,
                   env={**os.environ, **env_extra})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=sorted(TARGETS_S), action="append")
    ap.add_argument("--ways", default="shared,fresh",
                    help="comma-separated: shared, fresh (before: added by --before)")
    ap.add_argument("--before", type=Path, default=None,
                    help="also run the commands from this checkout (PYTHONPATH)")
    args, _ = ap.parse_known_args(argv)
    ways = {"shared": (ROOT, {}), "fresh": (ROOT, {"CRM_EXP_KERNEL": "fresh"})}
    ways = {w.strip(): ways[w.strip()] for w in args.ways.split(",") if w.strip()}
    if args.before:
        before = args.before.resolve()
        ways["before"] = (before, {"PYTHONPATH": str(before)})
    ensure_demo_data(ROOT / "params" / "demo.yaml", {})
    cases = args.only or ["run7", "demo"]
    print(f"# bench_small_shop: {', '.join(cases)}; ways "
          f"{', '.join(f'{w} ({r})' for w, (r, _) in ways.items())}; {args.repeats} runs "
          f"each, alternating; {os.cpu_count()} cores")
    got: dict[tuple[str, str], list[dict]] = {(c, w): [] for c in cases for w in ways}
    for _ in range(args.repeats):
        for case in cases:
            for way in ways:
                r = run_once(case, way, *ways[way])
                got[(case, way)].append(r)
                print(f"  {case:5s} {way:6s} wall {r['wall']:6.1f} s  cpu {r['cpu']:6.1f} s  "
                      f"peak {r['rss'] / 2**20:5.0f} MB  load {r['load']:.2f}", flush=True)
    print()
    print("| command | way | median wall s | median CPU s | peak tree RSS MB | load (1 min) "
          "| target wall s |")
    print("|---|---|---|---|---|---|---|")
    med = {}
    for (case, way), rs in got.items():
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        med[(case, way)] = (wall, cpu)
        loads = [r["load"] for r in rs]
        print(f"| {case} | {way} | {wall:.1f} | {cpu:.1f} | "
              f"{max(r['rss'] for r in rs) / 2**20:.0f} | {min(loads):.2f}-{max(loads):.2f} "
              f"| {TARGETS_S[case]:.0f} |")
    print()
    for other in ("fresh", "before"):
        if {"shared", other} <= set(ways):
            for case in cases:
                (ws, cs), (wo, co) = med[(case, "shared")], med[(case, other)]
                print(f"{case}: shared / {other} = {ws / wo:.2f}x wall, {cs / co:.2f}x CPU")
    print()
    print("Steps of the last shared run of each command (s since start, stderr lines):")
    for case in cases:
        way = "shared" if "shared" in ways else next(iter(ways))
        print(f"  {case}:")
        for t, line in got[(case, way)][-1]["steps"]:
            print(f"    {t:6.1f}  {line[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
