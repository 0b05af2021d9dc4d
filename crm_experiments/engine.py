"""The query engine: the one place where the Ibis backend is chosen.

Everything above this module works on Ibis expressions and never names DuckDB; a Spark backend
will be added here. Today the engine is an in-memory DuckDB database.

>>> con = connect(threads=1)
>>> con.name
'duckdb'
"""

from __future__ import annotations

import contextlib

import ibis


def connect(memory_limit: str | None = None, threads: int | None = None) -> ibis.BaseBackend:
    """An Ibis connection to a fresh in-memory DuckDB database.

    ``memory_limit`` is a DuckDB size such as ``"8GB"`` (DuckDB spills to disk beyond it);
    ``threads`` caps the worker threads (default: all cores). The session time zone is UTC
    (Ibis sets it); shop-local times are stored as naive timestamps, see ``crm_experiments.io``.
    """
    config: dict[str, object] = {}
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    if threads is not None:
        config["threads"] = int(threads)
    # Row order of a scan must be the file's order: validation reports row numbers.
    config["preserve_insertion_order"] = True
    con = ibis.duckdb.connect(**config)
    # No progress bars in command output. Inside a Jupyter kernel DuckDB refuses to touch the
    # setting without ipywidgets (and shows no bar there anyway), so a refusal is fine.
    with contextlib.suppress(Exception):
        con.raw_sql("SET enable_progress_bar = false")
    return con

