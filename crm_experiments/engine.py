"""The query engine: the one place where the Ibis backend is chosen.

Everything above this module works on Ibis expressions and never names DuckDB; a Spark backend
will be added here. Today the engine is an in-memory DuckDB database.

>>> con = connect(threads=1)
>>> con.name
'duckdb'
"""

from __future__ import annotations

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
    return ibis.duckdb.connect(**config)

