"""Run every benchmark script under bench/ and collect their output in bench/RESULTS.md.

Each ``bench/bench_*.py`` is run as its own process (so peak memory is per benchmark) with
the arguments in ``BENCH_ARGS`` (environment, e.g. ``BENCH_ARGS="--customers 100000"`` for a
quick pass). Usage: ``python -m bench [NAME ...]``.

``RESULTS.md`` is rewritten from :data:`MARKER` down; what stands above that line (the
verdicts and notes written by hand) is kept.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The line in RESULTS.md below which ``make bench`` writes; the text above it is kept.
MARKER = "<!-- make bench writes below this line; the text above it is kept -->"


def kept_preface(results: Path) -> str:
    """The hand-written part of ``results`` (up to and including :data:`MARKER`), or a title."""
    text = results.read_text(encoding="utf-8") if results.exists() else ""
    if MARKER in text:
        return text.split(MARKER, 1)[0] + MARKER + "\n\n"
    return f"# Benchmark results\n\n{MARKER}\n\n"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                   if x.startswith("MemTotal")) / 2**20
    except (OSError, StopIteration):
        mem = float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python "
            f"{platform.python_version()} ({versions()})")


def versions() -> str:
    """Versions of the libraries whose speed the benchmarks measure."""
    from importlib import metadata

    found = []
    for name in ("duckdb", "narwhals", "pyspark", "pandas", "lifetimes", "statsmodels",
                 "tea-tasting", "gbstats"):  # the last two: bench_methods' parity peers
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return ", ".join(found)


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    extra = shlex.split(os.environ.get("BENCH_ARGS", ""))
    sections = [f"## Output of `make bench`\n\nDate: {dt.date.today()}  \nMachine: {machine()}\n"]
    failed = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script), *extra], capture_output=True,
                              text=True, cwd=HERE.parent)
        seconds = time.perf_counter() - started
        print(proc.stdout[-4000:], proc.stderr[-2000:] if proc.returncode else "", flush=True)
        failed += proc.returncode != 0
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        sections.append(f"## {script.stem}\n\n{status}, {seconds:.0f} s wall in all\n\n"
                        f"```\n{proc.stdout.strip()}\n```\n")
    results = HERE / "RESULTS.md"
    results.write_text(kept_preface(results) + "\n".join(sections), encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
