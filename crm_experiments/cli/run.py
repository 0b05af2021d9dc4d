"""``crm-exp run PARAMS.yaml --horizon H``: evaluate one campaign at one horizon.

The preflight (:mod:`crm_experiments.pipeline.preflight`) runs first, in seconds: if anything a
run needs is missing it prints the errors and exits 1 before any notebook or MLflow run starts
and before anything is written; the parts the run will skip are printed as warnings. The
tables the preflight staged are the run's shop cache (every horizon's notebooks read them), so
the data directory is read once. The notebooks' kernel is started before the preflight
(:class:`~crm_experiments.pipeline.kernel.NotebookKernel`: it starts and imports on the other
core meanwhile) and serves every horizon's notebooks.

Faults: a reports folder that cannot be written is refused first; an evaluation that a
scheduler (or another run) is running is refused, not run twice (they share its lock); a
broken tracking store or an unreachable tracking server is refused with what to do."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
import threading
from collections.abc import Iterator


def configure(parser: argparse.ArgumentParser) -> None:
    from crm_experiments.cli._types import horizon_days

    parser.add_argument("params", help="campaign parameters (YAML)")
    parser.add_argument("--horizon", type=horizon_days, action="append",
                        help="days after the sale end (repeatable; default: the params' horizons)")
    parser.add_argument("--reports-dir", default="reports", help="where reports go (reports/)")


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM (``kill``, systemd stopping a unit, a CI timeout) raises
    KeyboardInterrupt like Ctrl-C, so the MLflow run is marked FAILED and the scratch folders
    are removed at once, instead of being left to the next command as after ``kill -9``."""
    def _raise(signum, frame):
        raise KeyboardInterrupt(f"terminated by {signal.Signals(signum).name}")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _import_papermill() -> None:
    from crm_experiments.pipeline.kernel import import_papermill

    import_papermill()  # first: before anything else imports jsonschema


#: Imported on a thread during the preflight (:func:`~crm_experiments.pipeline.prefetch.prefetch`).
_RUNNER_MODULES = (_import_papermill, "crm_experiments.pipeline.runner", "mlflow",
                   "mlflow.tracking", "mlflow.store.tracking.sqlalchemy_store")


def run(args: argparse.Namespace) -> int:
    from crm_experiments.pipeline.prefetch import collections_paused

    # no cyclic collections while the imports and the preflight run: resumed before the run
    with terminate_as_interrupt(), collections_paused(thaw=True) as resume:
        return _run(args, resume)


def _run(args: argparse.Namespace, resume_collections=lambda: None) -> int:
    from crm_experiments.io.process import check_writable, scratch_dir
    from crm_experiments.params import load_params
    from crm_experiments.pipeline.kernel import run_kernel
    from crm_experiments.pipeline.prefetch import prefetch
    from crm_experiments.pipeline.preflight import preflight
    from crm_experiments.tracking.client import check_store, tracking_uri

    horizons = args.horizon or list(load_params(args.params).horizons)
    # before anything else: a run that could not publish, or not reach its tracking store
    check_writable(args.reports_dir, create=False)  # created only by a run that runs
    uri = tracking_uri()
    if uri.startswith(("http://", "https://")):  # a local store is checked when opened
        check_store(uri)
    # the preflight's staged tables become the run's shop cache: the data are read once
    # (named with our pid: removed by the next command if this one is killed)
    cache = scratch_dir("shop")
    with run_kernel() as kernel:  # started before the preflight: it imports meanwhile
        # the runner and MLflow's client and sqlite store load while the
        # preflight's queries run, instead of after them
        loading = prefetch(_RUNNER_MODULES)
        try:
            checked = preflight(args.params, horizons, cache_dir=cache)
            for line in checked.lines():
                print(line, file=sys.stderr)
            if not checked.ok:
                print(f"crm-exp run: not run: {len(checked.errors)} error(s) above "
                      f"(`crm-exp validate --params {args.params}` repeats this check)",
                      file=sys.stderr)
                ready = [h for h in horizons if not checked.errors_at(h)]
                if ready:
                    flags = " ".join(f"--horizon {h}" for h in ready)
                    print(f"crm-exp run: everything is there for {flags}", file=sys.stderr)
                return 1
            loading.join()
            from crm_experiments.pipeline.runner import run_evaluation

            resume_collections()
            for h in horizons:
                outcome = run_evaluation(args.params, h, reports_root=args.reports_dir,
                                         progress=lambda m: print(m, file=sys.stderr),
                                         shop_cache_dir=cache, kernel=kernel)
                v = outcome.summary["verdict"]
                print(f"{outcome.campaign_id} {h}d: {v['status']} (best arm {v['best_arm']}); "
                      f"report {outcome.report_path}; MLflow run {outcome.run_id}")
            return 0
        finally:
            shutil.rmtree(cache, ignore_errors=True)
