"""Stage a shop's data directory as typed tables in DuckDB (raw SQL on the
engine's connection; the tables are then Narwhals lazy frames).

:func:`crm_experiments.io.reader.load_shop` is the entry point; with the Spark engine the
tables are read from Parquet into Spark instead (:mod:`crm_experiments.io.spark`).

A data directory holds ``<table>.csv`` or ``<table>.parquet`` for the tables of
:data:`crm_experiments.io.schema.TABLES`; only ``orders`` is required, other files are ignored.
Each file is scanned once by DuckDB and materialised as a temporary table with canonical
types; nothing is loaded into pandas, so this works on tens of millions of rows.

Types: id and text columns become strings (trimmed, empty = null), number columns float64,
integer columns int64, timestamp columns naive timestamps in the shop's timezone.
CSV files are read as text (``read_csv(..., all_varchar=true)``) so that values that do not
parse can be reported with their row numbers instead of failing the whole read.

Timestamp text is parsed as follows:

* with a UTC offset or ``Z`` after the time (``2025-11-01T10:00:00+08:00``,
  ``2025-11-01 02:00:00Z``, ``... +0800``): the instant is converted to the shop's timezone;
* without an offset it is taken as shop-local time. Accepted: ISO dates and date-times with a
  space or ``T`` and optional seconds / fractions (``2025-11-01``, ``2025-11-01 10:00``,
  ``2025-11-01T10:00:00.250``), slashes (``2025/11/01``, ``2025/11/01 10:00``,
  ``2025/11/01 10:00:00``), compact ``20251101`` / ``20251101100000`` and Chinese
  ``2025年11月01日`` with an optional ``HH:MM[:SS]`` time.

Parquet timestamps with a time zone are converted to the shop's timezone and made naive; naive
Parquet timestamps and dates are taken as shop-local time. Where a value was given as an instant
(an offset, a zone-aware Parquet column) the staged table also keeps the instant (naive UTC, in
the helper column ``INSTANT + column``): the ordering rules of validation (paid after created)
compare instants, because two shop-local times in the hour a daylight-saving change repeats
cannot be ordered. Number columns read as NaN or ±inf (Parquet doubles; ``nan``/``inf`` text)
do not parse and are reported like any unparseable value.

Columns that are not in the contract are kept (customer attributes can be model features);
in CSV files their type is DuckDB's guess from a sample, values that do not fit become null
and are reported as warnings. Contract columns that are absent from a file are added as nulls
so that every analysis sees the same columns.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import narwhals as nw

from crm_experiments.errors import CrmError, Finding
from crm_experiments.io.engine import DuckDBEngine, Engine
from crm_experiments.io.schema import TABLES, Kind

if TYPE_CHECKING:
    from crm_experiments.params import CampaignParams

#: Column of staged tables holding the 1-based data row number in the source file.
ROW = "__crm_row"
#: Prefix of helper columns holding the original text of values that did not parse.
BAD = "__crm_bad__"
#: Prefix of helper columns holding, for timestamps given as instants (text with a UTC offset,
#: zone-aware Parquet), the instant as naive UTC (null where the value was shop-local time).
INSTANT = "__crm_utc__"

SQL_TYPES: dict[str, str] = {
    "id": "VARCHAR", "text": "VARCHAR", "number": "DOUBLE", "integer": "BIGINT",
    "timestamp": "TIMESTAMP",
}
_OFFSET_RE = r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)$"
_STRPTIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d%H%M%S", "%Y%m%d",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日",
)

#: What each optional table is used for, to explain a missing table.
NEEDED_BY: dict[str, str] = {
    "orders": "every analysis",
    "customers": "first-order dates, segments by tier/gender/province and CLV/churn features",
    "assignments": "arm-vs-control effects, the sample-ratio check and uplift models",
    "contacts": "message costs, ROI, wake-up and reactivation rates",
    "coupons": "coupon cost and redemption, ROI",
    "reviews": "DSR averages and the positive-review rate",
    "surveys": "satisfaction scores (CSAT, NPS)",
    "interactions": "participants vs non-participants of interactive activities",
}

_counter = itertools.count(1)


@dataclass
class StagedTable:
    """One data file materialised in the engine, with what validation needs to point at rows.

    ``table`` holds :data:`ROW`, every contract column (typed, null if absent from the file),
    the extra columns, and for each column parsed from text a helper ``BAD + column`` holding
    the original text where it did not parse (null elsewhere).
    """

    name: str
    file: str
    path: Path
    table: nw.LazyFrame
    sql_name: str
    present: frozenset[str]
    extras: tuple[str, ...]
    parsed: dict[str, Kind] = field(default_factory=dict)
    #: Timestamp columns with an :data:`INSTANT` helper.
    instants: frozenset[str] = frozenset()

    def canonical(self) -> nw.LazyFrame:
        """The canonical table: contract columns in contract order, then the extra columns."""
        cols = [c.name for c in TABLES[self.name].columns]
        return self.table.select(*cols, *self.extras)


@dataclass
class ShopData:
    """The tables of one data directory, typed and materialised in the engine."""

    con: Engine
    tables: dict[str, nw.LazyFrame]
    data_dir: Path
    timezone: str
    warnings: list[Finding] = field(default_factory=list)
    #: The run cache the tables were attached from (:mod:`crm_experiments.io.cache`), if any.
    cache: Path | None = None

    def has(self, name: str) -> bool:
        return name in self.tables

    def __getitem__(self, name: str) -> nw.LazyFrame:
        try:
            return self.tables[name]
        except KeyError:
            if name not in TABLES:
                raise CrmError(f"unknown table {name!r}; the data contract has "
                               f"{', '.join(TABLES)}") from None
            raise CrmError(
                f"table '{name}' is not in {self.data_dir} (no {name}.csv or {name}.parquet); "
                f"it is needed for {NEEDED_BY.get(name, 'this analysis')}") from None


# --- SQL helpers --------------------------------------------------------------------------------
def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def resolve_timezone(timezone: str | None, params: CampaignParams | None = None) -> str:
    """``timezone``, else the params' timezone, else Asia/Shanghai; unknown names are an error."""
    tz = timezone or (params.timezone if params is not None else "Asia/Shanghai")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise CrmError(f"unknown timezone {tz!r} (use an IANA name such as Asia/Shanghai)") from exc
    return tz


def parse_timestamp_sql(text: str, timezone: str) -> str:
    """SQL turning a text expression into a naive shop-local timestamp (null if unparseable)."""
    formats = "[" + ", ".join(_lit(f) for f in _STRPTIME_FORMATS) + "]"
    return (f"CASE WHEN regexp_matches({text}, {_lit(_OFFSET_RE)}) "
            f"THEN timezone({_lit(timezone)}, TRY_CAST({text} AS TIMESTAMPTZ)) "
            f"ELSE COALESCE(TRY_CAST({text} AS TIMESTAMP), try_strptime({text}, {formats})) END")


def _convert(col: str, src_type: str, kind: Kind, timezone: str) -> tuple[str, str | None]:
    """SQL for the typed value of ``col`` and, if values can fail to parse, for the text that
    counts as 'a value was given' (the helper column keeps it where the typed value is null)."""
    q = _ident(col)
    src = src_type.upper()
    if src == "VARCHAR":
        v = f"NULLIF(TRIM({q}), '')"
        if kind in ("id", "text"):
            return v, None
        if kind == "number":
            x = f"TRY_CAST({v} AS DOUBLE)"
            return f"CASE WHEN isfinite({x}) THEN {x} END", v
        if kind == "integer":
            return f"TRY_CAST({v} AS BIGINT)", v
        return parse_timestamp_sql(v, timezone), v
    if kind in ("id", "text"):
        if src in ("DOUBLE", "FLOAT", "REAL"):  # ids that went through a float column
            # NaN / ±inf are no id: null, and reported as unparseable (were: a cast error)
            return (f"CASE WHEN NOT isfinite({q}) THEN NULL "
                    f"WHEN {q} = trunc({q}) AND abs({q}) < 9e18 "
                    f"THEN CAST(CAST({q} AS BIGINT) AS VARCHAR) "
                    f"ELSE CAST({q} AS VARCHAR) END"), q
        if src.startswith("DECIMAL"):  # 123 stored as DECIMAL(10, 2) is the id '123'
            return (f"CASE WHEN {q} = trunc({q}) THEN CAST(CAST({q} AS HUGEINT) AS VARCHAR) "
                    f"ELSE CAST({q} AS VARCHAR) END"), None
        return f"CAST({q} AS VARCHAR)", None
    if kind == "timestamp":
        if src.startswith("TIMESTAMP WITH TIME ZONE") or src == "TIMESTAMPTZ":
            return f"timezone({_lit(timezone)}, {q})", None
        if src.startswith("TIMESTAMP") or src == "DATE":
            return f"CAST({q} AS TIMESTAMP)", None
        return f"TRY_CAST({q} AS TIMESTAMP)", q
    target = SQL_TYPES[kind]
    numeric = src in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                      "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "REAL", "DOUBLE") \
        or src.startswith("DECIMAL")
    if kind == "number" and src in ("FLOAT", "REAL", "DOUBLE"):  # NaN and ±inf do not parse
        return f"CASE WHEN isfinite({q}) THEN CAST({q} AS DOUBLE) END", q
    if numeric:
        return f"CAST({q} AS {target})", None
    return f"TRY_CAST({q} AS {target})", q


def _instant(col: str, src_type: str) -> str | None:
    """SQL for the instant (naive UTC) of a timestamp column where the source gives one: text
    with a UTC offset, zone-aware Parquet; None for sources that only hold local times."""
    q = _ident(col)
    src = src_type.upper()
    if src == "VARCHAR":
        v = f"NULLIF(TRIM({q}), '')"
        return (f"CASE WHEN regexp_matches({v}, {_lit(_OFFSET_RE)}) "
                f"THEN timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ)) END")
    if src.startswith("TIMESTAMP WITH TIME ZONE") or src == "TIMESTAMPTZ":
        return f"timezone('UTC', {q})"
    return None


_SNIFFED_KINDS: dict[str, Kind] = {
    "BIGINT": "integer", "INTEGER": "integer", "SMALLINT": "integer", "TINYINT": "integer",
    "HUGEINT": "integer", "UBIGINT": "integer", "DOUBLE": "number", "FLOAT": "number",
    "DATE": "timestamp", "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp",
}


class ReadFailure(Exception):
    """DuckDB could not read a file at all (reported as a finding, not raised to the user)."""


def stage_table(con: DuckDBEngine, name: str, path: Path, *, timezone: str,
                file_label: str | None = None, database: str | None = None) -> StagedTable:
    """Scan ``path`` once and materialise it as a typed temporary table (see module doc), or
    as a table of the attached database ``database`` (the run cache file: staged once, straight
    into the file, see :mod:`crm_experiments.io.cache`)."""
    if not isinstance(con, DuckDBEngine):
        raise CrmError(f"reading data files needs the DuckDB engine, not {con.name!r}")
    schema = TABLES[name]
    is_csv = path.suffix.lower() == ".csv"
    src = (_csv_source(con, path) if is_csv
           else f"read_parquet({_lit(str(path))}, file_row_number=true)")
    try:
        described = con.raw_sql(f"DESCRIBE SELECT * FROM {src}").fetchall()
    except Exception as exc:  # duckdb raises many types; all mean "cannot read this file"
        raise ReadFailure(_first_line(exc)) from exc
    src_types = {row[0]: row[1] for row in described}
    if not is_csv:
        src_types.pop("file_row_number", None)
    sniffed: dict[str, str] = {}
    if is_csv:
        with contextlib.suppress(Exception):  # a failed guess only means extras stay text
            sniffed = {r[0]: r[1] for r in con.raw_sql(
                f"DESCRIBE SELECT * FROM read_csv({_lit(str(path))}, header=true)").fetchall()}

    select: list[str] = []
    helpers: list[str] = []
    parsed: dict[str, Kind] = {}
    instants: set[str] = set()

    def add(col: str, kind: Kind, src_type: str, cast: bool) -> None:
        expr, given = _convert(col, src_type, kind, timezone)
        select.append(f"CAST({expr} AS {SQL_TYPES[kind]}) AS {_ident(col)}" if cast
                      else f"{expr} AS {_ident(col)}")
        if given is not None:
            parsed[col] = kind
            helpers.append(f"CASE WHEN {given} IS NOT NULL AND ({expr}) IS NULL "
                           f"THEN CAST({_ident(col)} AS VARCHAR) END AS {_ident(BAD + col)}")
        instant = _instant(col, src_type) if kind == "timestamp" else None
        if instant is not None:
            instants.add(col)
            helpers.append(f"CAST({instant} AS TIMESTAMP) AS {_ident(INSTANT + col)}")

    for column in schema.columns:
        if column.name in src_types:
            add(column.name, column.kind, src_types[column.name], cast=True)
        else:
            select.append(f"CAST(NULL AS {SQL_TYPES[column.kind]}) AS {_ident(column.name)}")
    extras = tuple(c for c in src_types if schema.column(c) is None)
    for col in extras:
        kind = _SNIFFED_KINDS.get(sniffed.get(col, "VARCHAR").upper()) if is_csv else None
        if kind is None:
            select.append(_ident(col))
        else:
            add(col, kind, "VARCHAR", cast=True)

    if is_csv:
        if any(c.lower() == "ordinality" for c in src_types):
            row_expr, from_ = "row_number() OVER ()", src
        else:
            row_expr, from_ = "ordinality", f"{src} WITH ORDINALITY"
    else:
        row_expr, from_ = "file_row_number + 1", src
    sql_name = f"crm_{name}_{next(_counter)}"
    target = (f"TEMP TABLE {_ident(sql_name)}" if database is None
              else f"TABLE {_ident(database)}.{_ident(sql_name)}")
    sql = (f"CREATE {target} AS SELECT CAST({row_expr} AS BIGINT) AS "
           f"{_ident(ROW)}, {', '.join(select + helpers)} FROM {from_}")
    try:
        con.raw_sql(sql)
    except Exception as exc:
        raise ReadFailure(_first_line(exc)) from exc
    return StagedTable(
        name=name, file=file_label or path.name, path=path,
        table=con.table(sql_name, database=database),
        sql_name=sql_name, present=frozenset(c.name for c in schema.columns if c.name in src_types),
        extras=extras, parsed=parsed, instants=frozenset(instants),
    )


def _csv_source(con: DuckDBEngine, path: Path) -> str:
    """``read_csv(...)`` of ``path`` with every column as text and the header taken from the
    first line (DuckDB's sniffer would otherwise take a later, wider row as the header of a
    ragged file; with a fixed layout a ragged row is an error naming its line)."""
    if path.stat().st_size == 0:
        raise ReadFailure("the file is empty (not even a header line)")
    try:
        delim, quote, escape = con.raw_sql(
            f"SELECT Delimiter, Quote, Escape FROM sniff_csv({_lit(str(path))})").fetchall()[0]
    except Exception as exc:
        raise ReadFailure(_first_line(exc)) from exc
    quote = '"' if quote in ("", "(empty)") else quote
    escape = quote if escape in ("", "(empty)") else escape
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh, delimiter=delim, quotechar=quote), [])
    except UnicodeDecodeError as exc:
        raise ReadFailure("the file is not UTF-8 text (a GBK export? convert it to UTF-8 "
                          "or use crm-exp import)") from exc
    names: list[str] = []
    for i, raw in enumerate(header):
        base = raw.strip() or f"column{i}"
        name, k = base, 1
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    if not names:
        raise ReadFailure("the file has no header line")
    columns = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
    return (f"read_csv({_lit(str(path))}, auto_detect=false, header=true, delim={_lit(delim)}, "
            f"quote={_lit(quote)}, escape={_lit(escape)}, columns={columns})")


def _first_line(exc: Exception) -> str:
    """DuckDB's message without its list of possible fixes."""
    text = str(exc).strip().splitlines()
    kept = list(itertools.takewhile(lambda line: not line.startswith("Possible fixes"), text))
    return " ".join(line.strip() for line in kept[:3]) or type(exc).__name__


def find_table_files(data_dir: Path, fmt: str = "auto") -> tuple[dict[str, Path], list[Finding]]:
    """The file of each contract table in ``data_dir``, and findings about missing/ambiguous
    files. ``fmt`` ("auto", "csv" or "parquet") restricts which extension is looked for."""
    suffixes = {"auto": (".csv", ".parquet"), "csv": (".csv",), "parquet": (".parquet",)}[fmt]
    files: dict[str, Path] = {}
    findings: list[Finding] = []
    for name in TABLES:
        found = [data_dir / f"{name}{s}" for s in suffixes if (data_dir / f"{name}{s}").is_file()]
        if len(found) > 1:
            findings.append(Finding(
                file=" and ".join(p.name for p in found), rule="ambiguous_table",
                message=f"both {found[0].name} and {found[1].name} are in {data_dir}; keep one "
                        "(or set data.format in the params)"))
        elif found:
            files[name] = found[0]
    if "orders" not in files and not any(f.file.startswith("orders.") for f in findings):
        wanted = " or ".join(f"orders{s}" for s in suffixes)
        findings.append(Finding(
            file="orders" + suffixes[0], rule="missing_table",
            message=f"no {wanted} in {data_dir}: orders are required by every analysis"))
    return files, findings


def stage_directory(con: DuckDBEngine, data_dir: str | Path, *, timezone: str,
                    params: CampaignParams | None = None, database: str | None = None
                    ) -> tuple[dict[str, StagedTable], list[Finding]]:
    """Stage every contract table found in ``data_dir``; findings say what could not be read.
    ``database``: an attached database to stage into (see :func:`stage_table`)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CrmError(f"data directory {data_dir} does not exist or is not a directory")
    fmt = params.data.format if params is not None else "auto"
    files, findings = find_table_files(data_dir, fmt)
    staged: dict[str, StagedTable] = {}
    for name, path in files.items():
        if path.stat().st_size == 0:
            findings.append(Finding(
                file=path.name, rule="empty_file",
                severity="error" if name == "orders" else "warning",
                message="the file is empty (not even a header line)"))
            continue
        try:
            staged[name] = stage_table(con, name, path, timezone=timezone, database=database)
        except ReadFailure as exc:
            findings.append(Finding(file=path.name, rule="unreadable_file",
                                    message=f"DuckDB cannot read this file: {exc}"))
    return staged, findings


def drop_staged(con: DuckDBEngine, staged: dict[str, StagedTable]) -> None:
    """Drop the temporary tables of ``staged`` (used when loading fails)."""
    for s in staged.values():
        with contextlib.suppress(Exception):
            con.raw_sql(f"DROP TABLE IF EXISTS {_ident(s.sql_name)}")
