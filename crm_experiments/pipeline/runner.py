"""Run one evaluation end to end: Papermill executes the notebooks, each writes its result
into a results folder, the pages are rendered from those stored results
(:mod:`crm_experiments.report.pages`), MLflow records the run.

One MLflow run per (campaign, horizon), tagged ``campaign_id``, ``horizon_days`` and
``report_type``.

Degrade, never drop: an extra notebook (CLV and churn, coupon uplift) that cannot run on the
shop's data (its analysis raises :class:`~crm_experiments.errors.AnalysisSkipped`) or fails
with any other error does not cost the report: its page is replaced by a short note
(:func:`~crm_experiments.report.pages.skipped_page`: what was skipped or failed and why), the
navigation links it, the evaluation and the other pages complete, and the run is FINISHED with
the tags ``skipped`` / ``failed_parts`` (comma-separated notebook names) and ``part.<name>``
(the reason). Only the evaluation notebook failing (or bad data, before any notebook starts)
marks the run FAILED, with the error as a tag, and leaves no report behind; an earlier report
of the same campaign and horizon stays untouched.

Campaigns side by side: the run gets the headline of :mod:`crm_experiments.tracking.headlines`
(the verdict's best arm, its incremental profit and ROI with their intervals, the verdict as a
tag) and its per-arm metrics also under position keys. For analysts, the per-customer table the
comparison used (the evaluation's ``customers`` table: pseudonymous id, arm, window outcomes,
costs, pre-period covariates) is published beside the pages as ``campaign_customers.parquet``
and listed in ``summary.json`` (``files``); it goes to MLflow with the other results only when
no id looks personal (:func:`~crm_experiments.io.exports.pseudonymise.personal_id_reason`),
else the run's tag ``customers_table`` says why it was kept out.

Faults: the reports folder is checked writable before anything starts (else
:class:`FolderNotWritable`); the evaluation holds the lock of its (campaign, horizon) that
``crm-exp schedule`` takes too (:func:`~crm_experiments.tracking.ledger.evaluation_lock`), so a
manual run and the scheduler never run it at once (the second is refused with
:class:`EvaluationBusy`); the MLflow run carries its owner process
(:class:`~crm_experiments.io.process.Owner` tags), and the scratch folder its process id, so
that after a ``kill -9`` the next command that opens the store closes the run as FAILED and
removes the folder (:mod:`crm_experiments.tracking.client`); models are registered only once
the run is FINISHED, so no model version points at a failed or killed run. A report that
cannot be written (disk full, folder made read-only meanwhile) fails the run with
:class:`FolderNotWritable`, not a traceback. ``CRM_EXP_STOP_AT`` (``run_created``,
``publishing``, ``finished``) stops the process there with SIGSTOP: a hook for the fault
tests, which kill it at that moment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crm_experiments.analyses.result import ResultMixin, StoredResult
from crm_experiments.errors import AnalysisSkipped, CrmError
from crm_experiments.io.atomic import atomic_copy
from crm_experiments.io.cache import shop_cache
from crm_experiments.io.exports.pseudonymise import personal_id_reason_of_column
from crm_experiments.io.process import (
    FolderNotWritable,
    Owner,
    check_writable,
    os_reason,
    scratch_dir,
)
from crm_experiments.params import NOTEBOOKS_DIR, CampaignParams, load_params
from crm_experiments.pipeline.kernel import (  # noqa: F401 - _kernel_manager_class: tests
    NotebookKernel,
    _kernel_manager_class,
    import_papermill,
    run_kernel,
)
from crm_experiments.pipeline.prefetch import prefetch as prefetch_modules
from crm_experiments.report.chart_cache import CHART_CACHE_ENV
from crm_experiments.tracking.client import (
    REPORT_TYPE,
    mlflow_client,
    public_uri,
    run_url,
    tracking_uri,
)
from crm_experiments.tracking.headlines import log_headline
from crm_experiments.tracking.ledger import (
    evaluation_lock,
    lock_dir,
    lock_holder,
    mark_interrupted,
)
from crm_experiments.tracking.runs import fail_run, log_metrics, log_params, register_models

EVALUATION_NOTEBOOK = NOTEBOOKS_DIR / "campaign_evaluation.ipynb"
#: The evaluation's per-customer table (``Evaluation.tables()``) and its published file name.
CUSTOMERS_TABLE = "customers"
CUSTOMERS_FILE = "campaign_customers.parquet"


def _warm_pages() -> None:
    """The pages' templates compiled and the CJK font's map loaded (caches only: the pages are
    the same without)."""
    from crm_experiments.report import env, fonts

    env.compile_templates()
    fonts.warm()


#: What the runner needs only once the notebooks ran (the stored evaluation, the pages:
#: statsmodels, scikit-learn, matplotlib, the compiled templates): imported and warmed on a
#: thread while the notebooks run (:func:`~crm_experiments.pipeline.prefetch.prefetch`), on the
#: core the kernel leaves free, not before them.
_AFTER_NOTEBOOKS = ("crm_experiments.analyses.campaign", "crm_experiments.report.pages",
                    "crm_experiments.report.render", _warm_pages)


def _extra_results() -> dict[str, type[ResultMixin]]:
    """The result class each extra notebook writes (read back with ``cls.read(dir)``)."""
    from crm_experiments.analyses.clv import CampaignCLV
    from crm_experiments.analyses.uplift import UpliftAnalysis

    return {"clv_churn": CampaignCLV, "coupon_uplift": UpliftAnalysis}


class EvaluationFailed(CrmError):
    """The evaluation notebook failed; its MLflow run is marked FAILED."""


class EvaluationBusy(CrmError):
    """Another process (a scheduler or another ``crm-exp run``) is running this evaluation."""


#: Environment variable of the fault tests' hook (module docstring).
STOP_AT_ENV = "CRM_EXP_STOP_AT"


def _stop_at(point: str, progress: Callable[[str], None]) -> None:
    if os.environ.get(STOP_AT_ENV) == point:
        progress(f"stopped at {point} ({STOP_AT_ENV})")
        os.kill(os.getpid(), signal.SIGSTOP)


class NotebookFailed(EvaluationFailed):
    """A notebook raised: ``ename`` / ``evalue`` are the exception's class name and text."""

    def __init__(self, message: str, ename: str = "", evalue: str = ""):
        super().__init__(message)
        self.ename, self.evalue = ename, evalue


def _part_of(exc: BaseException) -> dict:
    """What the report says of an extra notebook that did not give its page: ``skipped``
    (:class:`AnalysisSkipped`, with its translation key and facts) or ``failed`` (any other
    error: its class and message)."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    parsed = AnalysisSkipped.parse(evalue) if ename == AnalysisSkipped.__name__ else None
    if isinstance(exc, AnalysisSkipped):
        parsed = (exc.key, exc.facts)
    if parsed is not None:
        key, facts = parsed
        return {"status": "skipped", "key": key, "facts": facts,
                "message": evalue.rsplit(" [", 1)[0]}
    return {"status": "failed", "error": ename, "message": evalue}


@dataclass(frozen=True)
class RunOutcome:
    campaign_id: str
    horizon_days: int
    run_id: str
    report_path: Path
    seconds: float
    summary: dict


def run_evaluation(params_path: str | Path, horizon_days: int, *,
                   reports_root: str | Path = "reports",
                   notebook: str | Path = EVALUATION_NOTEBOOK,
                   progress: Callable[[str], None] = lambda msg: None,
                   shop_cache_dir: str | Path | None = None,
                   held_lock: bool = False,
                   kernel: NotebookKernel | None = None) -> RunOutcome:
    """Evaluate the campaign of ``params_path`` at ``horizon_days``; see the module docstring.

    The data directory is read and validated once (:mod:`crm_experiments.io.cache`; or not
    at all when ``shop_cache_dir`` holds the preflight's cache of it); bad data raises
    :class:`~crm_experiments.errors.DataValidationError` before any notebook runs.
    The evaluation notebook runs first, then the params' ``extra_notebooks`` due at this
    horizon (CLV and churn, coupon uplift ...). Each gets the same three parameters and writes
    its result (``result.json``, ``tables/``, and ``models/`` where it has models) into its own
    results folder; all of them go into the one MLflow run (metrics from each ``result.json``),
    and each becomes a page, rendered from the stored result, beside ``report.html``.

    The evaluation's lock is taken here (:class:`EvaluationBusy` when another process has
    it) unless ``held_lock`` says the caller (the scheduler) holds it already.

    The notebooks run in ``kernel`` (a caller's :class:`~crm_experiments.pipeline.kernel.
    NotebookKernel`, kept up for its next evaluation), else in one kernel of this run, started
    here so that it starts and imports while the store is opened (one fresh kernel per
    notebook with ``CRM_EXP_KERNEL=fresh``).
    """

    params_path = Path(params_path).resolve()
    params = load_params(params_path)
    if horizon_days not in params.horizons:
        progress(f"note: horizon {horizon_days}d is not among the params' horizons "
                 f"{list(params.horizons)}; evaluating it anyway")
    extras = [NOTEBOOKS_DIR / f"{name}.ipynb" for name in params.notebooks_at(horizon_days)]
    check_writable(reports_root)
    with run_kernel(kernel) as shared:
        return _run_held(params, params_path, horizon_days, extras, reports_root, notebook,
                         progress, shop_cache_dir, held_lock, shared)


def _run_held(params: CampaignParams, params_path: Path, horizon_days: int,
              extras: list[Path], reports_root: str | Path, notebook: str | Path,
              progress: Callable[[str], None], shop_cache_dir: str | Path | None,
              held_lock: bool, kernel: NotebookKernel | None) -> RunOutcome:
    """:func:`run_evaluation` once its kernel is started: the lock, then the run."""
    client, exp_id = mlflow_client()
    key = f"{params.campaign_id}-{horizon_days}d"
    locks = lock_dir(reports_root)
    with (contextlib.nullcontext(True) if held_lock else evaluation_lock(locks, key)) as held:
        if not held:
            holder = lock_holder(locks, key)
            raise EvaluationBusy(
                f"{params.campaign_id} at {horizon_days}d is being evaluated by another "
                f"process{f' (pid {holder})' if holder else ''}, a scheduler or another "
                f"crm-exp run (lock {locks / f'{key}.lock'}); not run twice. Run it again "
                f"once that one has ended")
        stale = mark_interrupted(client, exp_id, params.campaign_id, horizon_days, REPORT_TYPE)
        if stale:
            progress(f"[{params.campaign_id} {horizon_days}d] marked {stale} interrupted "
                     f"run(s) FAILED")
        return _run_locked(client, exp_id, params, params_path, horizon_days, extras,
                           reports_root, notebook, progress, shop_cache_dir, kernel)


def _run_locked(client, exp_id: str, params: CampaignParams, params_path: Path,
                horizon_days: int, extras: list[Path], reports_root: str | Path,
                notebook: str | Path, progress: Callable[[str], None],
                shop_cache_dir: str | Path | None,
                kernel: NotebookKernel | None = None) -> RunOutcome:
    """:func:`run_evaluation` once its lock is held."""
    tags = {"campaign_id": params.campaign_id, "horizon_days": str(horizon_days),
            "report_type": REPORT_TYPE, "mlflow.runName": f"{params.campaign_id}-{horizon_days}d",
            **Owner.me().tags()}
    run = client.create_run(exp_id, tags=tags)
    run_id = run.info.run_id
    started = time.perf_counter()
    label = f"[{params.campaign_id} {horizon_days}d]"
    work = None
    charts_before = os.environ.get(CHART_CACHE_ENV)
    try:
        _stop_at("run_created", progress)
        work = scratch_dir("run")
        # charts drawn once: by the notebook's sections, read back by the pages below
        os.environ[CHART_CACHE_ENV] = str(work / "charts")
        log_params(client, run_id, _flat_params(params, params_path))
        folders: dict[str, Path] = {}
        parts: dict[str, dict] = {}  # extra notebooks skipped or failed: their notes
        progress(f"{label} reading and validating {params.data.path}")
        import_papermill()  # first: the main thread imports (almost) nothing beside the thread
        prefetch = prefetch_modules(_AFTER_NOTEBOOKS)
        # staged and validated once for all the notebooks
        with shop_cache(params, shop_cache_dir):
            for nb in [Path(notebook), *extras]:
                progress(f"{label} executing {nb.name}")
                main = nb == Path(notebook)
                results = work / "results" if main else work / "results" / nb.stem
                try:
                    _execute(client, run_id, nb, work, params_path, horizon_days, results,
                             kernel)
                except Exception as exc:  # an extra notebook's failure: its page, a note
                    if main:
                        raise
                    parts[nb.stem] = _part_of(exc)
                    shutil.rmtree(results, ignore_errors=True)
                    progress(f"{label} {nb.stem} {parts[nb.stem]['status']}: "
                             f"{parts[nb.stem]['message']}")
                    continue
                folders[nb.stem] = results

        prefetch.join()
        from crm_experiments.analyses.campaign import Evaluation
        from crm_experiments.report.pages import (
            evaluation_page,
            extra_page,
            page_nav,
            skipped_page,
        )
        from crm_experiments.report.render import publish_report, report_dir

        results = work / "results"
        main_stem = Path(notebook).stem
        evaluation = Evaluation.read(folders.pop(main_stem))
        extra_results = _read_extras(folders, parts)
        metrics = _run_metrics([evaluation, *extra_results.values()])
        log_metrics(client, run_id, metrics)
        log_headline(client, run_id, evaluation.summary(), evaluation.metrics())
        customers_file = _customers_file(client, run_id, results, work)
        client.log_artifacts(run_id, str(results), "results")

        progress(f"{label} rendering report")
        stems = [nb.stem for nb in extras]
        nav = page_nav(stems, params.language, params.type)
        html_pages = {"report": evaluation_page(evaluation, nav=nav)}
        for stem, result in extra_results.items():
            try:
                html_pages[stem] = extra_page(stem, result, evaluation=evaluation, nav=nav)
            except Exception as exc:  # a bug in one page: that page becomes a note
                parts[stem] = _part_of(exc)
        for stem, part in parts.items():
            html_pages[stem] = skipped_page(stem, part, params.language, nav=nav,
                                            campaign_type=params.type)
        _tag_parts(client, run_id, parts)
        links = {stem: f"{stem}.html" for stem in stems}
        summary = dict(evaluation.summary())
        summary.update({"mlflow_run_id": run_id, "mlflow_experiment_id": exp_id,
                        "mlflow_tracking_uri": public_uri(tracking_uri()),
                        "mlflow_run_url": run_url(exp_id, run_id),
                        "pages": sorted(links.values()),
                        "files": {"customers": CUSTOMERS_FILE} if customers_file else {},
                        "skipped_parts": {stem: dict(p) for stem, p in sorted(parts.items())}})
        staged = work / "report"
        staged.mkdir()
        for name, html in html_pages.items():
            (staged / f"{name}.html").write_text(html, encoding="utf-8")
        client.log_artifacts(run_id, str(staged), "report")
        _stop_at("publishing", progress)
        try:
            if customers_file is not None:  # before summary.json, which lists it
                atomic_copy(customers_file, report_dir(reports_root, params.campaign_id,
                                                         horizon_days) / CUSTOMERS_FILE)
            report = publish_report(reports_root, params.campaign_id, horizon_days,
                                    html_pages, summary)
        except OSError as exc:
            raise FolderNotWritable(
                f"{exc.filename or reports_root}: the report could not be written "
                f"({os_reason(exc)}); the MLflow run {run_id} is marked FAILED") from None
        client.set_terminated(run_id, "FINISHED")
        _stop_at("finished", progress)
        # only now: no model version points at a run that failed or was killed
        _register(client, run_id, results, params.campaign_id, horizon_days, progress)
    except BaseException as exc:
        fail_run(client, run_id, exc)
        raise
    finally:
        if charts_before is None:
            os.environ.pop(CHART_CACHE_ENV, None)
        else:
            os.environ[CHART_CACHE_ENV] = charts_before
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    progress(f"{label} done in {seconds:.1f}s: {report}")
    return RunOutcome(params.campaign_id, horizon_days, run_id, report, seconds, summary)


def _register(client, run_id: str, results: Path, campaign_id: str, horizon_days: int,
              progress: Callable[[str], None]) -> None:
    """Register the run's models (after it is FINISHED); a failure there costs the models,
    not the finished evaluation: the run is tagged ``models_not_registered`` with why."""
    try:
        register_models(client, run_id, results, campaign_id, horizon_days, progress)
    except Exception as exc:  # noqa: BLE001 - the report and the run are complete
        why = f"{type(exc).__name__}: {exc}"[:_TAG_CHARS]
        progress(f"[{campaign_id} {horizon_days}d] models not registered: {why}")
        with contextlib.suppress(Exception):
            client.set_tag(run_id, "models_not_registered", why)


def _customers_file(client, run_id: str, results: Path, work: Path) -> Path | None:
    """The stored per-customer table of the evaluation (None for a result without one). When
    an id looks personal it is moved out of ``results`` (so it is not logged to MLflow) and the
    run is tagged ``customers_table`` with the reason; it is still published beside the
    report, which the data's owner reads. Only the ``customer_id`` column is read."""
    path = results / "tables" / f"{CUSTOMERS_TABLE}.parquet"
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    reason = (personal_id_reason_of_column(pq.read_table(path, columns=["customer_id"]).column(0))
              if "customer_id" in pq.read_schema(path).names else None)
    if reason is None:
        return path
    kept = work / CUSTOMERS_FILE
    shutil.move(path, kept)
    client.set_tag(run_id, "customers_table", f"not logged to MLflow: {reason}"[:_TAG_CHARS])
    return kept


def _read_extras(folders: dict[str, Path], parts: dict[str, dict]) -> dict[str, StoredResult]:
    """The stored result of each extra notebook, read with its class's declared schema; one
    that cannot be read goes into ``parts`` as failed."""
    classes = _extra_results() if folders else {}
    out = {}
    for stem, folder in folders.items():
        cls = classes.get(stem)
        try:
            out[stem] = cls.read(folder) if cls is not None else StoredResult.load(folder)
        except Exception as exc:
            parts[stem] = _part_of(exc)
            shutil.rmtree(folder, ignore_errors=True)
    return out


#: MLflow's limit on a tag value is larger; a reason is cut here to stay readable.
_TAG_CHARS = 500


def _tag_parts(client, run_id: str, parts: dict[str, dict]) -> None:
    """Tags of the parts left out: ``skipped`` and ``failed_parts`` (names, comma-separated),
    ``part.<name>`` (why)."""
    for status, tag in (("skipped", "skipped"), ("failed", "failed_parts")):
        names = sorted(stem for stem, p in parts.items() if p["status"] == status)
        if names:
            client.set_tag(run_id, tag, ",".join(names))
    for stem, p in parts.items():
        why = p["message"] if p["status"] == "skipped" else f"{p['error']}: {p['message']}"
        client.set_tag(run_id, f"part.{stem}", why[:_TAG_CHARS])


def _run_metrics(results: list[StoredResult]) -> dict[str, float]:
    """The MLflow metrics of the run: every stored result's ``metrics`` (its ``result.json``)."""
    metrics: dict[str, float] = {}
    for result in results:
        metrics.update(result.metrics())
    return metrics


def _execute(client, run_id: str, notebook: Path, work: Path, params_path: Path,
             horizon_days: int, results: Path, kernel: NotebookKernel | None = None) -> Path:
    """Run one notebook with Papermill (in ``kernel``, else in a fresh kernel of its own);
    log the executed copy; raise EvaluationFailed."""
    pm = import_papermill()

    executed = work / "executed" / notebook.name
    executed.parent.mkdir(exist_ok=True)
    parameters = {"params_path": str(params_path), "horizon": int(horizon_days),
                  "results_dir": str(results)}
    try:
        if kernel is not None:
            kernel.execute(notebook, executed, parameters)
        else:
            pm.execute_notebook(
                str(notebook), str(executed), parameters=parameters,
                kernel_name="python3", progress_bar=False, cwd=str(notebook.parent),
                kernel_manager_class=_kernel_manager_class(work),
            )
    except pm.PapermillExecutionError as exc:
        raise NotebookFailed(
            f"notebook {notebook.name} failed at {horizon_days}d: {exc.ename}: {exc.evalue}",
            exc.ename, exc.evalue) from exc
    finally:
        if executed.exists():
            client.log_artifact(run_id, str(executed), "notebook")
    return executed


def _flat_params(params: CampaignParams, params_path: Path) -> dict[str, str]:
    flat = params.flat()
    flat["params_file"] = params_path.name
    return flat
