"""Import modules on a daemon thread while the main thread waits on other work (the preflight's
DuckDB queries, a notebook running in its kernel): on a 2-core machine the imports then use
the core the waiting leaves free. A failed import is left to the main thread's own import of
the module, which raises it."""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Sequence


def prefetch(modules: Sequence[str], name: str = "crm-exp-prefetch") -> threading.Thread:
    """Start importing ``modules`` (in order) on a daemon thread and return it; join it before
    importing them on the calling thread if the order of side effects matters."""

    def load() -> None:
        for module in modules:
            with contextlib.suppress(Exception):
                importlib.import_module(module)

    thread = threading.Thread(target=load, name=name, daemon=True)
    thread.start()
    return thread
