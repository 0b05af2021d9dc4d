"""The query engine: the one place where DuckDB or Spark is chosen.

Everything above this module works on Narwhals lazy frames (:class:`narwhals.LazyFrame`) and
never names DuckDB or Spark. Narwhals translates one expression API to DuckDB's relational API
and to PySpark DataFrames, so a metric is written once and runs on both. What Narwhals does not
cover (opening a connection, raw SQL for staging and validation, putting a pandas frame next to
the engine's tables, materialising an intermediate result) is behind :class:`Engine`, with one
implementation per engine (:class:`DuckDBEngine`, :class:`SparkEngine`).

The default engine is an in-memory DuckDB database; ``engine="spark"`` gives a Spark session
(optional extra: ``pip install 'crm-experiments[spark]'``, needs Java 17).

>>> con = connect(threads=1)
>>> con.name
'duckdb'
>>> import pandas as pd
>>> t = con.from_pandas(pd.DataFrame({"x": [1, 2, 3]}))
>>> int(collect(t.select(nw.col("x").sum()))["x"].iloc[0])
6
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from typing import Any

import narwhals as nw
import pandas as pd

from crm_experiments.errors import CrmError

ENGINES = ("duckdb", "spark")

#: DuckDB worker threads when the caller does not say: all cores, but at least this many on a
#: machine with two or more cores. With two threads or fewer DuckDB's hash aggregation grows one
#: hash table per thread; with more it keeps the tables cache-sized and radix-partitions what
#: does not fit (``GROW_STRATEGY_THREAD_THRESHOLD`` in DuckDB's
#: ``radix_partitioned_hashtable.cpp``). Aggregations with millions of groups (per customer
#: and day) are then about 1.3x faster on a 2-core machine and use less CPU in all
#: (``bench/RESULTS.md``), which outweighs the cost of a third thread on two cores.
MIN_DEFAULT_THREADS = 3

_names = itertools.count(1)

#: Environment variable giving DuckDB's ``memory_limit`` when the caller gives none (e.g.
#: ``4GB``; DuckDB spills beyond it, also the staged tables of an in-memory database). Unset:
#: DuckDB's default, 80% of the RAM, per connection. Inherited by the notebooks' kernels.
MEMORY_LIMIT_ENV = "CRM_EXPERIMENTS_DUCKDB_MEMORY_LIMIT"


def default_threads() -> int:
    """DuckDB threads when none are asked for: the cores, raised to
    :data:`MIN_DEFAULT_THREADS` on 2-core machines (a 1-core machine keeps 1)."""
    cores = os.cpu_count() or 1
    return cores if cores < 2 else max(cores, MIN_DEFAULT_THREADS)


def collect(frame: nw.LazyFrame) -> pd.DataFrame:
    """Run a lazy frame in its engine and return the (small) result as pandas."""
    return frame.collect(backend="pandas").to_native()


def scalar(frame: nw.LazyFrame) -> Any:
    """The single value of a one-row, one-column lazy frame, as a Python scalar."""
    value = collect(frame).iloc[0, 0]
    return value.item() if hasattr(value, "item") else value


class Engine:
    """A connection to one query engine, with the few operations Narwhals leaves out.

    ``name`` is ``"duckdb"`` or ``"spark"``. Tables are :class:`narwhals.LazyFrame`\\ s; nothing
    runs until a caller collects (:func:`collect`).
    """

    name: str

    def table(self, name: str, database: str | None = None) -> nw.LazyFrame:
        """A table (or view) of the engine by name."""
        raise NotImplementedError

    def from_pandas(self, frame: pd.DataFrame) -> nw.LazyFrame:
        """``frame`` as a table of this engine, so it can be joined with the others."""
        raise NotImplementedError

    def cache(self, frame: nw.LazyFrame) -> nw.LazyFrame:
        """Compute ``frame`` once and keep the result in the engine (reused by several
        queries); :meth:`release` frees it."""
        raise NotImplementedError

    def release(self, frame: nw.LazyFrame) -> None:
        """Free what :meth:`cache` kept (no-op for other frames)."""

    def disconnect(self) -> None:
        """Close the connection (DuckDB) or leave the shared session running (Spark)."""


class DuckDBEngine(Engine):
    """An in-memory DuckDB database (``con``: the :class:`duckdb.DuckDBPyConnection`)."""

    name = "duckdb"

    def __init__(self, con) -> None:
        self.con = con
        #: id of each frame :meth:`cache` returned -> the table holding it
        self._cached: dict[int, str] = {}

    def raw_sql(self, sql: str, parameters: list | None = None):
        """Execute SQL on the connection; returns it, so ``fetchall()`` follows. Fetch every
        row: with DuckDB 2 a result left half-read (``fetchone()``) blocks the next relation
        operation on the connection (``ResourceInUseException``)."""
        return self.con.execute(sql, parameters) if parameters else self.con.execute(sql)

    def sql(self, query: str) -> nw.LazyFrame:
        """A SELECT as a lazy frame."""
        return nw.from_native(self.con.sql(query))

    def table(self, name: str, database: str | None = None) -> nw.LazyFrame:
        qualified = _ident(name) if database is None else f"{_ident(database)}.{_ident(name)}"
        return nw.from_native(self.con.sql(f"SELECT * FROM {qualified}"))

    def from_pandas(self, frame: pd.DataFrame) -> nw.LazyFrame:
        name = f"crm_frame_{next(_names)}"
        self.con.register(name, frame)
        return nw.from_native(self.con.sql(f"SELECT * FROM {_ident(name)}"))

    def cache(self, frame: nw.LazyFrame) -> nw.LazyFrame:
        name = f"crm_cached_{next(_names)}"
        frame.to_native().to_table(name)
        cached = self.table(name)
        self._cached[id(cached)] = name
        return cached

    def release(self, frame: nw.LazyFrame) -> None:
        name = self._cached.pop(id(frame), None)
        if name is not None:
            with contextlib.suppress(Exception):
                self.con.execute(f"DROP TABLE IF EXISTS {_ident(name)}")

    def disconnect(self) -> None:
        self.con.close()


class SparkEngine(Engine):
    """A Spark session (``session``), local or on a cluster."""

    name = "spark"

    def __init__(self, session) -> None:
        self.session = session

    def table(self, name: str, database: str | None = None) -> nw.LazyFrame:
        return nw.from_native(self.session.table(name if database is None
                                                 else f"{database}.{name}"))

    def from_pandas(self, frame: pd.DataFrame) -> nw.LazyFrame:
        import pyarrow as pa

        return nw.from_native(self.session.createDataFrame(
            pa.Table.from_pandas(frame, preserve_index=False)))

    def cache(self, frame: nw.LazyFrame) -> nw.LazyFrame:
        return nw.from_native(frame.to_native().persist())

    def release(self, frame: nw.LazyFrame) -> None:
        with contextlib.suppress(Exception):
            frame.to_native().unpersist()


def engine_of(frame: nw.LazyFrame) -> Engine:
    """The engine ``frame`` runs in, for a function given frames but no engine that must put a
    pandas frame next to them (:meth:`Engine.from_pandas`). Spark: the frame's session; DuckDB:
    the relation's connection (DuckDB exposes it only as ``_con``; a version without it makes
    this an error asking for the engine)."""
    native = frame.to_native()
    session = getattr(native, "sparkSession", None)
    if session is not None:
        return SparkEngine(session)
    con = getattr(native, "_con", None)
    if con is None:
        raise CrmError("cannot tell which engine this table runs in: pass the engine "
                       "(shop.con) explicitly")
    return DuckDBEngine(con)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect(memory_limit: str | None = None, threads: int | None = None, *,
            engine: str = "duckdb", spark_master: str | None = None,
            spark_conf: dict[str, str] | None = None) -> Engine:
    """An engine: a fresh in-memory DuckDB database, or a Spark session.

    DuckDB: ``memory_limit`` is a DuckDB size such as ``"8GB"`` (DuckDB spills to disk beyond
    it; default: :data:`MEMORY_LIMIT_ENV` if set); ``threads`` sets the worker threads
    (default: :func:`default_threads`). The session time zone is UTC; shop-local times are
    stored as naive timestamps, see ``crm_experiments.io``.

    Spark (``engine="spark"``): see :func:`spark_session`; ``memory_limit`` becomes the driver
    memory and ``threads`` is ignored (a local master names its cores: ``local[2]``).
    """
    if engine == "spark":
        conf = dict(spark_conf or {})
        if memory_limit is not None:
            conf.setdefault("spark.driver.memory", memory_limit)
        return SparkEngine(spark_session(spark_master, conf))
    if engine != "duckdb":
        raise CrmError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    import duckdb

    config: dict[str, object] = {}
    memory_limit = memory_limit or os.environ.get(MEMORY_LIMIT_ENV) or None
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    config["threads"] = int(threads) if threads is not None else default_threads()
    # Row order of a scan must be the file's order: validation reports row numbers.
    config["preserve_insertion_order"] = True
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET TimeZone = 'UTC'")
    # No progress bars in command output. Inside a Jupyter kernel DuckDB refuses to touch the
    # setting without ipywidgets (and shows no bar there anyway), so a refusal is fine.
    with contextlib.suppress(Exception):
        con.execute("SET enable_progress_bar = false")
    return DuckDBEngine(con)


def spark_session(master: str | None = None, conf: dict[str, str] | None = None):
    """The Spark session for ``master`` (default ``local[*]``) with ``conf`` applied.

    Spark allows one session per process: if one is active (a notebook on a cluster, a
    ``spark-submit`` job), it is reused and ``master`` is ignored; session-level settings of
    ``conf`` are still applied. The session time zone is UTC (shop-local times are naive
    timestamps, as on DuckDB). A local master gets few shuffle partitions and no web UI unless
    ``conf`` says otherwise.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise CrmError("the Spark engine needs pyspark: pip install 'crm-experiments[spark]' "
                       "(and Java 17)") from exc
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise CrmError("the Spark engine needs Java (17): no java on PATH and no JAVA_HOME")
    master = master or "local[*]"
    settings = {"spark.sql.session.timeZone": "UTC"}
    # no progress bar in command output, on any master
    settings["spark.ui.showConsoleProgress"] = "false"
    if master.startswith("local"):
        settings.update({"spark.sql.shuffle.partitions": "8", "spark.ui.enabled": "false"})
    settings.update(conf or {})
    active = SparkSession.getActiveSession()
    if active is not None:
        for key, value in settings.items():
            with contextlib.suppress(Exception):  # static settings of a running session
                active.conf.set(key, value)
        return active
    builder = SparkSession.builder.master(master).appName("crm-experiments")
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if master.startswith("local"):
        session.sparkContext.setLogLevel("ERROR")
    return session
