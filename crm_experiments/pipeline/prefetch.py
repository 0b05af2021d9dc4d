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
    (:func:`collections_paused`: imports make full collections over a growing heap)."""

    def load() -> None:
        with collections_paused():
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
def collections_paused() -> Iterator[Callable[[], None]]:
    """The cyclic garbage collector paused inside the block (it is resumed on leaving, or
    earlier by calling the function the block gets). While a process imports a few thousand
    modules, each full collection traverses the whole, growing heap again (the runner process
    of ``crm-exp run`` spent most of a second of CPU in them, on its main thread and the
    prefetch thread, before its first notebook); reference counting still frees everything
    acyclic meanwhile, and the first full collection after the pause gathers the rest."""
    was_enabled = gc.isenabled()
    gc.disable()

    def resume() -> None:
        if was_enabled:
            gc.enable()

    try:
        yield resume
    finally:
        resume()
