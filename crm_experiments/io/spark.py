"""Read a shop's Parquet tables into Spark, typed to the canonical schema (the Spark engine:
``data.engine: spark`` in the params, or a PySpark connection passed to ``load_shop``)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import narwhals as nw

from crm_experiments.errors import CrmError, DataValidationError, Finding
from crm_experiments.io.engine import SparkEngine
from crm_experiments.io.schema import TABLES, Kind
from crm_experiments.io.staging import ShopData, _first_line

if TYPE_CHECKING:
    from crm_experiments.params import CampaignParams

_counter = itertools.count(1)


def _spark_type_expr(col: str, src: object, kind: Kind, timezone: str) -> str:
    """Spark SQL for the canonical value of ``col`` (Spark type ``src``); the same rules as
    :func:`_convert` for Parquet: trimmed text with empty = null, ids that went through a float
    column without ``.0``, zone-aware timestamps converted to the shop's timezone."""
    from pyspark.sql import types as T

    q = "`" + col.replace("`", "``") + "`"
    if isinstance(src, T.StringType):
        v = f"NULLIF(TRIM({q}), '')"
        if kind in ("id", "text"):
            return v
        if kind == "number":
            x = f"TRY_CAST({v} AS DOUBLE)"
            return f"CASE WHEN NOT isnan({x}) AND abs({x}) != double('inf') THEN {x} END"
        if kind == "integer":
            return f"TRY_CAST({v} AS BIGINT)"
        return f"TRY_CAST({v} AS TIMESTAMP)"  # ISO text, taken as shop-local (session UTC)
    if kind in ("id", "text"):
        if isinstance(src, T.DoubleType | T.FloatType):
            return (f"CASE WHEN {q} = floor({q}) THEN CAST(CAST({q} AS BIGINT) AS STRING) "
                    f"ELSE CAST({q} AS STRING) END")
        return f"CAST({q} AS STRING)"
    if kind == "timestamp":
        if isinstance(src, T.TimestampType):  # instants (zone-aware Parquet)
            return f"from_utc_timestamp({q}, '{timezone}')"
        return f"CAST({q} AS TIMESTAMP)"  # naive timestamps and dates: shop-local
    return f"CAST({q} AS {'DOUBLE' if kind == 'number' else 'BIGINT'})"


def load_shop_spark(con: SparkEngine, data_dir: str | Path, *, timezone: str,
                     params: CampaignParams | None, validate: bool) -> ShopData:
    """Read the shop's Parquet tables into Spark, typed to the canonical schema.

    Each table is ``data.tables[<name>]`` from the params (a file, a directory of Parquet
    files or a URI such as ``s3a://bucket/shop/orders/``; relative local paths are taken
    relative to ``data_dir``), else ``<data_dir>/<name>.parquet`` (a file or a directory).
    Timestamps are Spark ``TIMESTAMP_NTZ`` (naive shop-local times, as on DuckDB), so the
    tables have the same Narwhals schema on both engines (``Datetime("us")`` without a zone).
    CSV files are not read (convert them to Parquet, e.g. with DuckDB), and the row-level
    data rules of :mod:`crm_experiments.io.validate` (which report row numbers) run on DuckDB
    only: with ``validate`` a warning finding says they were skipped.
    """
    session = con.session
    locations = dict(params.data.tables) if params is not None else {}
    unknown = sorted(set(locations) - set(TABLES))
    if unknown:
        raise CrmError(f"data.tables names unknown tables {', '.join(unknown)}; the data "
                       f"contract has {', '.join(TABLES)}")
    local_dir = Path(data_dir)
    findings: list[Finding] = []
    tables: dict[str, nw.LazyFrame] = {}
    for name, schema in TABLES.items():
        location = locations.get(name)
        label = f"{name}.parquet"
        if location is None:
            path = local_dir / label
            if not path.exists():
                if (local_dir / f"{name}.csv").exists():
                    findings.append(Finding(
                        file=f"{name}.csv", rule="csv_on_spark",
                        severity="error" if name == "orders" else "warning",
                        message="the Spark engine reads Parquet only; convert the file to "
                                "Parquet (or use the DuckDB engine)"))
                continue
            location = str(path)
        elif "://" not in location and not Path(location).is_absolute():
            location = str(local_dir / location)
        else:
            label = location
        try:
            df = session.read.parquet(location)
            types = {f.name: f.dataType for f in df.schema.fields}
        except Exception as exc:  # py4j/Spark raise many types: all mean "cannot read"
            findings.append(Finding(file=label, rule="unreadable_file",
                                    message=f"Spark cannot read {location}: {_first_line(exc)}"))
            continue
        sql_types = {"id": "STRING", "text": "STRING", "number": "DOUBLE",
                     "integer": "BIGINT", "timestamp": "TIMESTAMP_NTZ"}
        select = []
        for column in schema.columns:
            q = "`" + column.name + "`"
            if column.name in types:
                expr = _spark_type_expr(column.name, types[column.name], column.kind, timezone)
                select.append(f"CAST({expr} AS {sql_types[column.kind]}) AS {q}")
            else:
                select.append(f"CAST(NULL AS {sql_types[column.kind]}) AS {q}")
        extras = ["`" + c.replace("`", "``") + "`" for c in types if schema.column(c) is None]
        view = f"crm_{name}_{next(_counter)}"
        df.selectExpr(*select, *extras).createOrReplaceTempView(view)
        tables[name] = con.table(view)
    if "orders" not in tables and not any(f.file.startswith("orders") for f in findings):
        findings.append(Finding(
            file="orders.parquet", rule="missing_table",
            message=f"no orders.parquet in {data_dir} (nor data.tables.orders in the params): "
                    "orders are required by every analysis"))
    if any(f.severity == "error" for f in findings):
        raise DataValidationError(findings)
    if validate:
        findings.append(Finding(
            file="*", rule="not_validated", severity="warning",
            message="the Spark engine types the tables but does not check the data rules "
                    "(those run on DuckDB: crm-exp validate on the files or a sample)"))
    return ShopData(con=con, tables=tables, data_dir=local_dir, timezone=timezone,
                    warnings=findings)
