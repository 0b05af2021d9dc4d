"""The query engine: the one place where the Ibis backend is chosen.

Everything above this module works on Ibis expressions and never names DuckDB. The default
engine is an in-memory DuckDB database; ``engine="spark"`` gives Ibis' PySpark backend on a
Spark session (optional extra: ``pip install 'crm-experiments[spark]'``, needs Java 17).

>>> con = connect(threads=1)
>>> con.name
'duckdb'
"""

from __future__ import annotations

import contextlib
import os
import shutil

import ibis

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

#: Environment variable giving DuckDB's ``memory_limit`` when the caller gives none (e.g.
#: ``4GB``; DuckDB spills beyond it, also the staged tables of an in-memory database). Unset:
#: DuckDB's default, 80% of the RAM, per connection. Inherited by the notebooks' kernels.
MEMORY_LIMIT_ENV = "CRM_EXPERIMENTS_DUCKDB_MEMORY_LIMIT"


def default_threads() -> int:
    """DuckDB threads when none are asked for: the cores, raised to
    :data:`MIN_DEFAULT_THREADS` on 2-core machines (a 1-core machine keeps 1)."""
    cores = os.cpu_count() or 1
    return cores if cores < 2 else max(cores, MIN_DEFAULT_THREADS)


def connect(memory_limit: str | None = None, threads: int | None = None, *,
            engine: str = "duckdb", spark_master: str | None = None,
            spark_conf: dict[str, str] | None = None) -> ibis.BaseBackend:
    """An Ibis connection: a fresh in-memory DuckDB database, or a Spark session.

    DuckDB: ``memory_limit`` is a DuckDB size such as ``"8GB"`` (DuckDB spills to disk beyond
    it; default: :data:`MEMORY_LIMIT_ENV` if set); ``threads`` sets the worker threads
    (default: :func:`default_threads`). The session time zone is UTC (Ibis sets it);
    shop-local times are stored as naive timestamps, see ``crm_experiments.io``.

    Spark (``engine="spark"``): see :func:`spark_session`; ``memory_limit`` becomes the driver
    memory and ``threads`` is ignored (a local master names its cores: ``local[2]``).
    """
    if engine == "spark":
        conf = dict(spark_conf or {})
        if memory_limit is not None:
            conf.setdefault("spark.driver.memory", memory_limit)
        return ibis.pyspark.connect(spark_session(spark_master, conf))
    if engine != "duckdb":
        raise CrmError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    config: dict[str, object] = {}
    memory_limit = memory_limit or os.environ.get(MEMORY_LIMIT_ENV) or None
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    config["threads"] = int(threads) if threads is not None else default_threads()
    # Row order of a scan must be the file's order: validation reports row numbers.
    config["preserve_insertion_order"] = True
    con = ibis.duckdb.connect(**config)
    # No progress bars in command output. Inside a Jupyter kernel DuckDB refuses to touch the
    # setting without ipywidgets (and shows no bar there anyway), so a refusal is fine.
    with contextlib.suppress(Exception):
        con.raw_sql("SET enable_progress_bar = false")
    return con


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
    if master.startswith("local"):
        settings.update({"spark.sql.shuffle.partitions": "8", "spark.ui.enabled": "false",
                         "spark.ui.showConsoleProgress": "false"})
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
