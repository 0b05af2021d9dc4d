"""Import modules on a daemon thread while the main thread waits on other work (the preflight's
DuckDB queries, a notebook running in its kernel): on a 2-core machine the imports then use
the core the waiting leaves free. A step may also be a warm-up function (e.g. compiling the page
templates, :func:`~crm_experiments.report.env.compile_templates`): whatever it computes must be
a cache whose contents do not depend on when it is filled, so the result is the same with or
without it. A failed step is left to the main thread, which raises it when it does the work
itself."""

from __future__ import annotations

import contextlib
import gc
import importlib
import threading
from collections.abc import Callable, Iterator, Sequence


def prefetch(steps: Sequence[str | Callable[[], object]],
             name: str = "crm-exp-prefetch") -> threading.Thread:
    """Start running ``steps`` (in order: a module name is imported, a function called) on a
    daemon thread and return it; join it before doing the same work on the calling thread if
    the order of side effects matters. The thread runs with the cyclic collector paused
    (:func:`collections_paused`: imports make full collections over a growing heap), and
    unfrozen when it ends: the collector is the process's, and the thread does not know how
    long the process lives (a scheduler or ``crm-exp demo`` runs many evaluations)."""

    def load() -> None:
        with collections_paused(thaw=True):
            for step in steps:
                with contextlib.suppress(Exception):
                    if callable(step):
                        step()
                    else:
                        importlib.import_module(step)

    thread = threading.Thread(target=load, name=name, daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def collections_paused(thaw: bool = False) -> Iterator[Callable[[], None]]:
    """The cyclic garbage collector paused inside the block (resumed on leaving, or earlier by
    calling the function the block gets). While a process imports a few thousand modules,
    each full collection traverses the whole, growing heap again (the runner process of
    ``crm-exp run`` spent CPU in them before its first notebook).

    On resuming, every object alive is frozen first (``gc.freeze``: the imported modules and
    what the block built), else the first collections after the pause would traverse all of
    them at once, on whatever thread allocates next. Reference counting still frees frozen
    objects; only a reference cycle among them that becomes garbage later stays until the
    process ends (a short-lived command's modules and the preflight's results); with
    ``thaw`` they are unfrozen on leaving the block (``gc.unfreeze``: a command called in a
    long-lived process, e.g. by the tests, leaves no frozen objects behind)."""
    was_enabled = gc.isenabled()
    gc.disable()
    resumed = False

    def resume() -> None:
        nonlocal resumed
        if was_enabled and not resumed:
            resumed = True
            gc.freeze()
            gc.enable()

    try:
        yield resume
    finally:
        resume()
        if thaw and resumed:
            gc.unfreeze()
