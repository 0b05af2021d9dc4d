"""Import shop exports into a canonical data directory, all or nothing.

:func:`import_exports` reads every file (:mod:`.taobao` or :mod:`.shopify`), collects every
problem of every file first, and writes only when there is no error:

1. each file is read and mapped to canonical orders; errors and warnings name the file, the
   column as the file spells it, the data rows and the rule;
2. files are merged in the order given: an order found in several files (overlapping monthly
   exports) is kept once, from the **last** file that has it; the dropped repeats are counted
   (and how many of them differ, e.g. a status that moved from unpaid to paid);
3. buyers (nicks / emails) become pseudonymous customer ids (:mod:`.pseudonymise`) and are
   then discarded, with every other personal column; Shopify discount codes are pseudonymised
   too (``VIP-<name>``); files naming different currencies are refused (``mixed_currency``);
4. ``orders.parquet`` and ``customers.parquet`` (customer_id, first_order_at = the earliest
   order of the customer in the imported files, province of the latest order that has one)
   are written into a fresh temporary directory beside ``out_dir``, checked with the data
   contract's validator, and the directory is then renamed into place. On any error the
   temporary directory is removed and an existing ``out_dir`` is left as it was.

An existing non-empty ``out_dir`` is refused unless ``force``: then its orders and customers
tables are replaced and its other files (assignments, contacts, ...) are kept.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from crm_experiments.errors import CrmError, DataValidationError, Finding
from crm_experiments.io.exports import shopify, taobao
from crm_experiments.io.exports._orders import ORDER_COLUMNS, MappedFile
from crm_experiments.io.exports._parse import FileRefused, Problems, read_export
from crm_experiments.io.exports.pseudonymise import KeySource, Pseudonymiser, load_key
from crm_experiments.io.staging import resolve_timezone

FORMATS = {"taobao": taobao, "shopify": shopify}
WRITTEN = ("orders", "customers")

ORDERS_SCHEMA = pa.schema([
    ("order_id", pa.string()), ("customer_id", pa.string()),
    ("created_at", pa.timestamp("us")), ("paid_at", pa.timestamp("us")),
    ("amount", pa.float64()), ("discount", pa.float64()), ("coupon_id", pa.string()),
    ("refund_amount", pa.float64()), ("shipped_at", pa.timestamp("us")),
    ("province", pa.string()),
])
CUSTOMERS_SCHEMA = pa.schema([
    ("customer_id", pa.string()), ("first_order_at", pa.timestamp("us")),
    ("province", pa.string()),
])


@dataclass
class SourceFile:
    file: str
    encoding: str
    orders: int
    dropped_columns: tuple[str, ...]


@dataclass
class ImportResult:
    """What an import wrote (counts only: no identifiers of people)."""

    out_dir: Path
    format: str
    sources: list[SourceFile]
    orders: int
    customers: int
    duplicates_dropped: int
    duplicates_changed: int
    key_source: KeySource
    warnings: list[Finding] = field(default_factory=list)


def import_exports(paths: Sequence[str | Path], out_dir: str | Path, *, fmt: str,
                   timezone: str | None = None, force: bool = False,
                   pseudonymiser: Pseudonymiser | None = None,
                   now: dt.datetime | None = None) -> ImportResult:
    """Import ``paths`` (one format) into ``out_dir``; see the module doc.

    Raises :class:`~crm_experiments.errors.DataValidationError` with every finding (errors and
    warnings) when a file breaks a rule, :class:`~crm_experiments.errors.CrmError` for unusable
    arguments; in both cases nothing is written.
    """
    if fmt not in FORMATS:
        raise CrmError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    adapter = FORMATS[fmt]
    tz = resolve_timezone(timezone)
    if now is None:
        now = pd.Timestamp.now(tz=tz).tz_localize(None).to_pydatetime()
    out_dir = Path(out_dir)
    paths = [Path(p) for p in paths]
    if not paths:
        raise CrmError("no export file given")
    for p in paths:
        if not p.is_file():
            raise CrmError(f"{p}: file not found")
    if out_dir.exists() and not out_dir.is_dir():
        raise CrmError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise CrmError(f"{out_dir} exists and is not empty; pass --force to replace its "
                       "orders and customers tables (its other files are kept)")

    problems = Problems()
    mapped: list[MappedFile] = []
    for p in paths:
        try:
            raw = read_export(p)
        except FileRefused as exc:
            problems.findings.append(exc.finding)
            continue
        result = adapter.map_file(raw, problems, timezone=tz, now=now)
        if result is not None:
            mapped.append(result)
    _check_one_currency(mapped, problems)
    if problems.errors:
        raise DataValidationError(problems.findings)

    orders, dropped, changed = _merge(mapped, problems)
    if pseudonymiser is None:
        key, key_source = load_key()
        pseudonymiser = Pseudonymiser(key)
    else:
        key_source = KeySource("the pseudonymiser given by the caller")
    ids = pseudonymiser.map(adapter.SOURCE, orders.buyer)
    orders["customer_id"] = orders.buyer.map(ids)
    if getattr(adapter, "PSEUDONYMISE_CODES", False):
        codes = orders.coupon_id
        orders["coupon_id"] = [None if pd.isna(c) else pseudonymiser.code_id(adapter.SOURCE, c)
                               for c in codes]
    orders = orders.drop(columns=["buyer"])[list(ORDER_COLUMNS)]
    customers = _customers(orders)

    warnings = [f for f in problems.findings if f.severity == "warning"]
    _write_atomically(out_dir, {"orders": (orders, ORDERS_SCHEMA),
                                "customers": (customers, CUSTOMERS_SCHEMA)}, tz, force)
    return ImportResult(
        out_dir=out_dir, format=fmt,
        sources=[SourceFile(m.file, m.encoding, len(m.orders), m.dropped_columns)
                 for m in mapped],
        orders=len(orders), customers=len(customers), duplicates_dropped=dropped,
        duplicates_changed=changed, key_source=key_source, warnings=warnings)


def _check_one_currency(mapped: list[MappedFile], problems: Problems) -> None:
    """Files naming different currencies are refused (their amounts cannot be added up); the
    finding names each file whose currency differs from the first file's."""
    named = [(m.file, m.currency) for m in mapped if m.currency]
    if len({c for _, c in named}) < 2:
        return
    first_file, first = named[0]
    listing = ", ".join(f"{f}: {c}" for f, c in named)
    for file, currency in named[1:]:
        if currency != first:
            problems.add(file, "mixed_currency", f"this file's orders are in {currency}, "
                         f"those of {first_file} in {first} ({listing}); import one currency "
                         "at a time", column="Currency")


def _merge(mapped: list[MappedFile], problems: Problems) -> tuple[pd.DataFrame, int, int]:
    """All files' orders, each order once (from the last file that has it)."""
    frames = []
    for i, m in enumerate(mapped):
        f = m.orders.copy()
        f["_file"] = i
        f["_row"] = f.index
        frames.append(f)
    every = pd.concat(frames, ignore_index=True)
    repeated = every.duplicated("order_id", keep="last")
    kept = every[~repeated]
    if not repeated.any():
        return kept.drop(columns=["_file", "_row"]).reset_index(drop=True), 0, 0
    gone = every[repeated]
    compare = [c for c in every.columns if c not in ("_file", "_row")]
    later = kept.set_index("order_id")
    differs = pd.Series(False, index=gone.index)
    for c in compare:
        if c == "order_id":
            continue
        new = gone.order_id.map(later[c])
        old = gone[c]
        same = (old == new) | (old.isna() & new.isna())
        differs |= ~same.fillna(False).astype(bool)
    last_file = gone.order_id.map(later["_file"])
    for i, m in enumerate(mapped):
        mine = gone._file == i
        if mine.any():
            targets = sorted({mapped[j].file for j in last_file[mine]})
            problems.add(m.file, "duplicate_across_files",
                         f"{int(mine.sum())} orders are also in a later file "
                         f"({', '.join(targets)}) and were dropped here "
                         f"({int((differs & mine).sum())} of them differ: the later file's "
                         "version is kept)", column=None, rows=gone._row[mine].tolist(),
                         severity="warning")
    return (kept.drop(columns=["_file", "_row"]).reset_index(drop=True),
            int(repeated.sum()), int(differs.sum()))


def _customers(orders: pd.DataFrame) -> pd.DataFrame:
    ordered = orders.sort_values(["created_at", "order_id"])
    first = ordered.groupby("customer_id", sort=True).created_at.min()
    province = ordered.dropna(subset=["province"]).groupby("customer_id").province.last()
    return pd.DataFrame({"customer_id": first.index, "first_order_at": first.to_numpy(),
                         "province": province.reindex(first.index).to_numpy()})


def _table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    arrays = []
    for f in schema:
        col = frame[f.name]
        if pa.types.is_string(f.type):
            values = [None if pd.isna(v) else str(v) for v in col]
            arrays.append(pa.array(values, type=f.type))
        elif pa.types.is_timestamp(f.type):
            arrays.append(pa.array(pd.to_datetime(col).astype("datetime64[us]"), type=f.type,
                                   from_pandas=True))
        else:
            arrays.append(pa.array(col.astype("float64"), type=f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _write_atomically(out_dir: Path, tables: dict[str, tuple[pd.DataFrame, pa.Schema]],
                      timezone: str, force: bool) -> None:
    from crm_experiments.io.validate import validate_data_dir

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.import-", dir=out_dir.parent))
    old: Path | None = None
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; end up like a plain mkdir
        if force and out_dir.is_dir():
            for item in out_dir.iterdir():
                stem = item.name.split(".")[0]
                if stem in WRITTEN and item.suffix.lower() in (".csv", ".parquet"):
                    continue
                if item.is_dir():
                    shutil.copytree(item, tmp / item.name)
                else:
                    shutil.copy2(item, tmp / item.name)
        for name, (frame, schema) in tables.items():
            pq.write_table(_table(frame, schema), tmp / f"{name}.parquet")
        errors = [f for f in validate_data_dir(tmp, timezone=timezone)
                  if f.severity == "error"]
        if errors:  # the adapters' checks should make this impossible
            raise DataValidationError(errors)
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}-{tmp.name[-8:]}"
            out_dir.rename(old)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out_dir.exists():
            old.rename(out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
