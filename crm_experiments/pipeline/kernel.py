"""One Jupyter kernel for all the notebooks of a command (``crm-exp run``, ``crm-exp demo``).

Papermill executes every notebook; by default it starts a fresh kernel per notebook, and each
kernel pays its start and the imports of the package's analysis stack (pandas,
statsmodels, scipy, scikit-learn, matplotlib, narwhals, duckdb: ~3 s of CPU, bench/RESULTS.md
"Small shops fast") before its first cell.
A :class:`NotebookKernel` is started once, as early as the command can (its imports then run
on the second core while the command checks the data and opens MLflow), and each notebook is
executed in it by Papermill with a given kernel manager (``km``, passed to nbclient's
``NotebookClient``); Papermill still injects the parameters, runs the cells and writes the
executed notebook.

Between notebooks the kernel is put back to a fresh kernel's state as far as a notebook can
see: the user namespace is emptied and a new session begins (``InteractiveShell.reset`` with
``new_session``: the execution counter back at 1, so the executed notebooks are numbered as
before, and a new history session, as a fresh kernel gets), the working folder is the
notebook's and the variables of :data:`SYNCED_ENV` (the shop cache, the run's charts) are what
the runner's environment says at that moment (they are set after the kernel starts). Only
imported modules are kept, and the package keeps no state in them between calls (its module
caches are pure functions of their arguments). A kernel that died (killed, out of memory) is
replaced by a new one before the next notebook.

``CRM_EXP_KERNEL=fresh`` restores one fresh kernel per notebook (the previous way, kept for
``bench/bench_small_shop.py`` and for debugging).

The kernel's connection file lives in a scratch folder of this process
(:func:`~crm_experiments.io.process.scratch_dir`), removed by :meth:`NotebookKernel.close` or,
after a ``kill -9``, by the next command; the kernel itself exits with its parent (ipykernel's
parent poller).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from crm_experiments.errors import CrmError
from crm_experiments.io.cache import SHOP_CACHE_ENV
from crm_experiments.io.process import scratch_dir
from crm_experiments.params import NOTEBOOKS_DIR
from crm_experiments.report.chart_cache import CHART_CACHE_ENV

#: Environment variable choosing how notebooks get kernels: ``shared`` (default) or ``fresh``.
KERNEL_ENV = "CRM_EXP_KERNEL"
#: Papermill engine name of :class:`_SharedKernelEngine`.
ENGINE = "crm-shared-kernel"
#: What a new kernel imports before its first notebook (what the notebooks import first);
#: ``module:function`` is imported and called: the page templates the notebooks' sections
#: render, compiled (a cache: the outputs are the same without it).
WARM_IMPORTS = ("crm_experiments.analyses.campaign", "crm_experiments.report.pages",
                "crm_experiments.io.reader", "IPython.display",
                "crm_experiments.report.env:compile_templates")
#: The runner's environment variables a notebook reads, set per run (after the kernel
#: started): the shop cache and the run's chart folder.
SYNCED_ENV = (SHOP_CACHE_ENV, CHART_CACHE_ENV)
#: How long a kernel may take to start and to answer a reset (s).
START_TIMEOUT_S = 120

_log = logging.getLogger(__name__)


class KernelError(CrmError):
    """The shared kernel could not be made ready for a notebook."""


def import_papermill():
    """``papermill``, imported without jsonschema's IRI format checks.

    Papermill imports nbformat, which imports jsonschema; jsonschema's format module imports
    ``rfc3987_syntax`` when it is installed (it comes with ``jsonschema[format-nongpl]``,
    which JupyterLab's ``jupyter-events`` asks for), and that module compiles Lark grammars
    at import, every process, for the ``iri`` formats no notebook schema uses
    (2.2 s of CPU, bench/RESULTS.md "Small shops fast"). So when jsonschema is not yet
    imported, ``rfc3987_syntax`` is hidden while it is: jsonschema then has no ``iri``
    checker in this process (exactly as on an install without JupyterLab); anything imported
    afterwards can still import ``rfc3987_syntax`` itself."""
    import sys

    hide = "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules
    if hide:
        sys.modules["rfc3987_syntax"] = None  # import raises ImportError
    try:
        import papermill
    finally:
        if hide:
            del sys.modules["rfc3987_syntax"]
    return papermill


def _warm_line(step: str) -> str:
    """``import module``, or for ``module:function`` the import and the call."""
    module, _, function = step.partition(":")
    return f"import {module}; {module}.{function}()" if function else f"import {module}"


def _warm_code(steps: tuple[str, ...]) -> str:
    """The warm-up cell: the steps with the cyclic collector paused (full collections over
    the growing heap of imports cost CPU for nothing), then every object they left frozen
    (``gc.freeze``: the imported modules are never collected; later full collections, in the
    notebooks, no longer traverse them) and the collector resumed, also when a step fails."""
    body = "\n".join(f"    {_warm_line(m)}" for m in steps)
    return f"import gc as _gc\n_gc.disable()\ntry:\n{body}\nfinally:\n" \
           f"    _gc.freeze()\n    _gc.enable()\n    del _gc"


def shared_kernels() -> bool:
    """Whether notebooks share one kernel (``CRM_EXP_KERNEL`` is not ``fresh``)."""
    return os.environ.get(KERNEL_ENV, "shared").strip().lower() != "fresh"


def _reset_code(cwd: Path) -> str:
    """Code run (silently) in the kernel before each notebook; see the module docstring."""
    env = [f"_os.environ[{name!r}] = {os.environ[name]!r}" if os.environ.get(name)
           else f"_os.environ.pop({name!r}, None)" for name in SYNCED_ENV]
    return "\n".join([
        # empties the namespace (names of this cell too), counts from 1 again and opens a new
        # history session (as a fresh kernel: the same session would refuse line 1 again)
        "get_ipython().reset(new_session=True)",
        "import os as _os",
        f"_os.chdir({str(cwd)!r})",
        *env,
        "del _os",
    ])


class NotebookKernel:
    """A kernel started now (returns at once: the kernel starts and imports
    :data:`WARM_IMPORTS` in the background) and reused by :meth:`execute` for every
    notebook; :meth:`close` (or leaving the ``with`` block) shuts it down."""

    def __init__(self, cwd: str | Path, warm: tuple[str, ...] = WARM_IMPORTS):
        self.cwd = Path(cwd)
        self.warm = warm
        self.folder = scratch_dir("run")  # the connection file; removed by close()
        self.km = None
        self._start()

    def _start(self) -> None:
        from jupyter_core.utils import run_sync

        km = _kernel_manager_class(self.folder)(kernel_name="python3")
        run_sync(km.start_kernel)(cwd=str(self.cwd))
        self.km = km
        if self.warm:  # queued now, run while the command does other work
            kc = km.client()
            kc.start_channels(hb=False)  # no heartbeat thread: liveness is the process
            code = _warm_code(self.warm)
            kc.execute(code, silent=True, store_history=False)
            self._warm_kc = kc
        else:
            self._warm_kc = None

    def _ready(self, cwd: Path) -> None:
        """Wait for the warm-up, replace a dead kernel, reset the kernel for a notebook."""
        from jupyter_core.utils import run_sync

        if self.km is None or not run_sync(self.km.is_alive)():
            _log.info("the shared kernel is gone; starting a new one")
            self._shutdown()
            self._start()
        kc = self._warm_kc or self.km.client()
        if self._warm_kc is None:
            kc.start_channels(hb=False)  # no heartbeat thread: liveness is the process
        self._warm_kc = None
        try:
            run_sync(kc.wait_for_ready)(timeout=START_TIMEOUT_S)
            reply = run_sync(kc.execute_interactive)(
                _reset_code(cwd), silent=True, store_history=False, timeout=START_TIMEOUT_S,
                output_hook=lambda msg: None)
        finally:
            kc.stop_channels()
        if reply["content"].get("status") != "ok":
            raise KernelError(f"the notebook kernel could not be reset: "
                              f"{reply['content'].get('evalue', '')}")

    def execute(self, notebook: Path, executed: Path, parameters: dict) -> None:
        """Papermill executes ``notebook`` into ``executed`` in this kernel (raises what
        ``papermill.execute_notebook`` raises)."""
        pm = import_papermill()
        self._ready(Path(notebook).parent)
        _register_engine()
        pm.execute_notebook(str(notebook), str(executed), parameters=parameters,
                            kernel_name="python3", progress_bar=False,
                            engine_name=ENGINE, km=self.km,
                            start_timeout=START_TIMEOUT_S)

    def _shutdown(self) -> None:
        from jupyter_core.utils import run_sync

        if self._warm_kc is not None:
            self._warm_kc.stop_channels()
            self._warm_kc = None
        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001 - already gone
                _log.debug("kernel shutdown", exc_info=True)
            self.km = None

    def close(self) -> None:
        self._shutdown()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> NotebookKernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def run_kernel(kernel: NotebookKernel | None = None) -> Iterator[NotebookKernel | None]:
    """The kernel a command's notebooks share: ``kernel`` when the caller has one (left open
    for it), else a new :class:`NotebookKernel` of the package's notebooks, closed when the
    block ends, or None when every notebook gets a kernel of its own (``CRM_EXP_KERNEL=fresh``,
    :func:`shared_kernels`)."""
    if kernel is not None or not shared_kernels():
        yield kernel
        return
    own = NotebookKernel(NOTEBOOKS_DIR)
    try:
        yield own
    finally:
        own.close()


def _kernel_manager_class(connection_dir: Path | None = None):
    """Papermill's kernel manager. The kernel is always this interpreter's own ipykernel
    (``sys.executable``), so the notebooks import the very package that runs them: a
    ``python3`` kernelspec in a user or system Jupyter folder (``ipykernel install --user``)
    could name another Python without it (tests/test_packaging.py). The kernel's sockets get
    CurveZMQ encryption wherever pyzmq and jupyter_client support it
    (``transport_encryption="auto"``); elsewhere the plain local TCP of jupyter_client's default
    (and ipykernel's warning about it). With ``connection_dir`` the kernel's connection file
    goes there (the run's scratch folder, removed even after a kill) instead of a
    ``tmp*.json`` of its own in the temporary folder."""
    import zmq
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class InterpreterKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _this_interpreter(self) -> KernelSpecManager:
            # no kernel folders: "python3" is ipykernel's built-in spec, run by sys.executable
            return KernelSpecManager(data_dir=self.data_dir, kernel_dirs=[])

    base = InterpreterKernelManager
    if AsyncKernelManager.class_traits().get("transport_encryption"):
        class EncryptedKernelManager(InterpreterKernelManager):
            @default("transport_encryption")
            def _encrypt_when_supported(self) -> str:
                return "auto" if zmq.has("curve") else "disabled"

        base = EncryptedKernelManager
    # else: jupyter_client before manager-provisioned encryption
    if connection_dir is None:
        return base

    class ScratchKernelManager(base):
        @default("connection_file")
        def _in_scratch(self) -> str:
            return str(connection_dir / f"kernel-{uuid.uuid4().hex}.json")

    return ScratchKernelManager


_registered = False


def _register_engine() -> None:
    """Register :class:`_SharedKernelEngine` with Papermill (once)."""
    global _registered
    if _registered:
        return
    import_papermill()
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class _SharedKernelEngine(NBClientEngine):
        """Papermill's nbclient engine on a kernel it does not own (``km``): the kernel stays
        up after the notebook, the client's channels are closed."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, **kwargs):
            kwargs.pop("input_path", None)
            kwargs.pop("cwd", None)  # the kernel's folder is set by the reset
            client = PapermillNotebookClient(
                nb_man, km=kwargs.pop("km"), timeout=execution_timeout,
                startup_timeout=start_timeout, kernel_name=kernel_name, log=_log,
                log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
                **kwargs)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(ENGINE, _SharedKernelEngine)
    _registered = True
