"""Shared reading and value parsing for shop exports (Taobao, Shopify).

Files are read as text cells (never guessed types), so that every problem can be reported
with its file, column, data row and rule. Data row ``r`` is the ``r``-th row under the header
(in a CSV file it is on line ``r + 1`` when no field spans lines; in a workbook it is sheet
row ``r + 1``).

Accepted values:

* **text encodings** (CSV): UTF-8 with or without BOM, else GB18030 (a superset of GBK and
  GB2312); anything else is refused with rule ``encoding``.
* **ids** possibly wrapped as ``="123"`` or prefixed with ``'`` (both spreadsheet tricks to
  keep long numbers intact) are unwrapped; ids shown in scientific notation (``1.23E+17``, a
  number mangled by a spreadsheet) are refused (``mangled_id``); ids longer than 64 characters
  or containing spaces or control characters are refused (``invalid_id``).
* **amounts** ``12``, ``12.5``, ``-3``; a currency sign (``¥ ￥ $``, ``RMB``, ``CNY``) or a
  trailing ``元`` and thousands separators (``1,234.00``) are removed, **with a warning**
  (rule ``amount_reformatted``, the rows are listed) because this is how seller centres write
  them; anything else (``1,23.4``, ``12元5角``) is an error (``unparseable``).
* **date-times** year first: ``2025-11-01``, ``2025/11/1``, ``2025.11.01``,
  ``2025年11月1日``, each with an optional time ``HH:MM[:SS[.fff]]`` after a space or ``T``,
  and an optional UTC offset (``Z``, ``+08:00``, ``+0800``); with an offset the instant is
  converted to the shop's timezone, without one it is taken as shop-local time. Day-first or
  month-first dates (``11/01/2025``) are ambiguous and refused (``unparseable``); different
  accepted formats may be mixed in one file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crm_experiments.errors import Finding

MAX_ROWS = 5
MAX_ID_CHARS = 64
csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))


@dataclass
class RawTable:
    """One export file read as text: header names and data rows (None = empty cell)."""

    file: str
    headers: list[str]
    frame: pd.DataFrame           # object columns named by header, index = data row number
    encoding: str


@dataclass
class Problems:
    """Findings collected while reading and mapping export files."""

    findings: list[Finding] = field(default_factory=list)

    def add(self, file: str, rule: str, message: str, *, column: str | None = None,
            rows: pd.Index | np.ndarray | list[int] | tuple[int, ...] = (),
            severity: str = "error") -> None:
        rows = [int(r) for r in rows]
        self.findings.append(Finding(file=file, rule=rule, message=message, column=column,
                                     rows=tuple(rows[:MAX_ROWS]), n_rows=len(rows),
                                     severity=severity))  # type: ignore[arg-type]

    def mask(self, file: str, rule: str, mask: pd.Series, message: str | Callable[[list], str],
             *, column: str | None = None, severity: str = "error",
             examples: pd.Series | None = None) -> None:
        """Add a finding for the rows where ``mask`` is true (nothing if none is).

        ``message`` may take the first few offending values of ``examples`` (only pass
        columns that hold no personal data)."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        rows = mask.index[mask.to_numpy()]
        if callable(message):
            values = [] if examples is None else list(examples[mask].head(MAX_ROWS))
            message = message(values)
        self.add(file, rule, message, column=column, rows=rows, severity=severity)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def with_examples(text: str) -> Callable[[list], str]:
    def render(values: list) -> str:
        shown = list(dict.fromkeys(_short(v) for v in values if v is not None))[:3]
        return text + (f" (e.g. {', '.join(shown)})" if shown else "")
    return render


def _short(value: object, limit: int = 40) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


# --- reading files --------------------------------------------------------------------------
class FileRefused(Exception):
    """The file cannot be read as a table at all (carries the finding)."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def _refuse(file: str, rule: str, message: str, rows: tuple[int, ...] = ()) -> FileRefused:
    return FileRefused(Finding(file=file, rule=rule, message=message, rows=rows,
                               n_rows=len(rows)))


def decode(data: bytes, file: str) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (BOM optional), else GB18030; else refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(file, "encoding", "the file is UTF-16; save it as UTF-8 or GBK "
                      "(in Excel: 'CSV UTF-8')")
    try:
        return data.decode("utf-8-sig"), "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") \
            else "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise _refuse(file, "encoding", "the file is neither UTF-8 nor GBK/GB18030 "
                      f"(invalid UTF-8 at byte {utf8_error.start}, invalid GB18030 at byte "
                      f"{exc.start}); save it as UTF-8") from exc


def read_export(path: Path) -> RawTable:
    """Read a CSV or XLSX export as text cells; raises :class:`FileRefused`."""
    file = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _refuse(file, "unreadable_file", f"cannot read the file: {exc.strerror}") from exc
    if not data.strip():
        raise _refuse(file, "empty_file", "the file is empty")
    if data.startswith(b"PK\x03\x04") or path.suffix.lower() in (".xlsx", ".xlsm"):
        headers, rows = _read_xlsx(data, file)
        encoding = "xlsx"
    elif data.startswith(b"\xd0\xcf\x11\xe0") or path.suffix.lower() == ".xls":
        raise _refuse(file, "unreadable_file", "old Excel .xls workbooks are not read; save "
                      "the sheet as .xlsx or as CSV")
    else:
        if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise _refuse(file, "unreadable_file", "the file holds NUL bytes: it is not a "
                          "text (CSV) file")
        text, encoding = decode(data, file)
        headers, rows = _read_csv(text, file)
    headers = [_header(h) for h in headers]
    raw_width = len(headers)  # trailing unnamed columns may hold empty cells only
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise _refuse(file, "empty_file", "the file has no header row")
    width = len(headers)
    table_rows: list[list[str | None]] = []
    short: list[int] = []
    long_: list[int] = []
    for number, row in enumerate(rows, start=1):
        if len(row) < width and encoding != "xlsx":  # a sheet may omit trailing empty cells
            short.append(number)
        elif len(row) > width and (len(row) > raw_width and encoding != "xlsx"
                                   or any(c is not None and c.strip() for c in row[width:])):
            long_.append(number)
        cells = [c if c is not None and c.strip() != "" else None for c in row[:width]]
        table_rows.append(cells + [None] * (width - len(cells)))
    if short and short[-1] == len(rows) and len(short) == 1:
        raise _refuse(file, "truncated_row", f"the last row has fewer fields than the header "
                      f"({len(rows[-1])} of {width}): the file looks cut off", (len(rows),))
    if short or long_:
        bad = sorted(short + long_)
        raise _refuse(file, "wrong_field_count", f"rows do not have the header's {width} "
                      "fields (an unquoted comma or a line break inside a value?)",
                      tuple(bad[:MAX_ROWS]))
    if not table_rows:
        raise _refuse(file, "empty_file", "the file has a header but no data rows")
    frame = pd.DataFrame(table_rows, columns=_unique(headers), dtype=object,
                         index=pd.RangeIndex(1, len(table_rows) + 1))
    return RawTable(file=file, headers=headers, frame=frame, encoding=encoding)


def _header(text: object) -> str:
    return "" if text is None else str(text).replace("\ufeff", "").strip()


def _unique(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        n = seen.get(h, 0)
        seen[h] = n + 1
        out.append(h if n == 0 else f"{h}.{n}")
    return out


def _read_csv(text: str, file: str) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            rows.append(row)
    except csv.Error as exc:
        number = max(len(rows), 1)  # the row being read (data rows exclude the header)
        raise _refuse(file, "malformed_csv", f"CSV syntax error near line {reader.line_num}: "
                      f"{exc} (an unclosed quote? the file may be cut off)", (number,)) from exc
    if not rows:
        raise _refuse(file, "empty_file", "the file is empty")
    return rows[0], rows[1:]


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def _read_xlsx(data: bytes, file: str) -> tuple[list[str], list[list[str | None]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _refuse(file, "unreadable_file", f"not a readable .xlsx workbook ({exc})") from exc
    try:
        sheet = book.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            cells = [_cell_text(v) for v in values]
            if all(c is None or not c.strip() for c in cells):
                continue
            rows.append(cells)
    finally:
        book.close()
    if not rows:
        raise _refuse(file, "empty_file", "the workbook's first sheet is empty")
    header = [c or "" for c in rows[0]]
    return header, rows[1:]


# --- value parsing ------------------------------------------------------------------------
_WRAPPED = re.compile(r'^="(.*)"$', re.S)


def clean_text(series: pd.Series) -> pd.Series:
    """Strip whitespace, unwrap ``="..."`` and a leading ``'``; empty -> None."""
    def one(v: object) -> str | None:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        text = str(v).strip()
        m = _WRAPPED.match(text)
        if m:
            text = m.group(1).strip()
        if text.startswith("'"):
            text = text[1:].strip()
        if text.startswith("\t"):
            text = text.strip()
        return text or None
    return pd.Series([one(v) for v in series.to_numpy()], index=series.index, dtype=object)


_SCIENTIFIC = re.compile(r"^[0-9](\.[0-9]+)?[eE][+-]?[0-9]+$")
_BAD_ID_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


def check_ids(problems: Problems, file: str, column: str, ids: pd.Series) -> pd.Series:
    """Rows with unusable ids (reported); returns the mask of bad rows."""
    present = ids.notna()
    text = ids.where(present, "")
    mangled = present & text.str.match(_SCIENTIFIC)
    problems.mask(file, "mangled_id", mangled, with_examples(
        "id is in scientific notation: a spreadsheet turned it into a number and lost digits; "
        "export again and open the file as text"), column=column, examples=ids)
    too_long = present & (text.str.len() > MAX_ID_CHARS)
    problems.mask(file, "invalid_id", too_long,
                  f"id is longer than {MAX_ID_CHARS} characters", column=column)
    odd = present & ~too_long & text.str.contains(_BAD_ID_CHARS)
    problems.mask(file, "invalid_id", odd, with_examples(
        "id contains spaces or control characters"), column=column, examples=ids)
    return mangled | too_long | odd


_AMOUNT = re.compile(
    r"^(?P<sign1>-)?\s*(?P<cur>[¥￥$]|RMB|CNY|USD)?\s*(?P<sign2>-)?\s*"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)\s*(?P<yuan>元)?$", re.I)


def parse_amounts(series: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(values as float, unparseable mask, reformatted mask) of a text column."""
    values = np.full(len(series), np.nan)
    bad = np.zeros(len(series), dtype=bool)
    reformatted = np.zeros(len(series), dtype=bool)
    cache: dict[str, tuple[float, bool, bool]] = {}
    for i, v in enumerate(series.to_numpy()):
        if not isinstance(v, str):
            continue
        hit = cache.get(v)
        if hit is None:
            m = _AMOUNT.match(v.strip())
            if m is None or (m.group("sign1") and m.group("sign2")):
                hit = (np.nan, True, False)
            else:
                number = float(m.group("num").replace(",", ""))
                if m.group("sign1") or m.group("sign2"):
                    number = -number
                hit = (number, False, bool(m.group("cur") or m.group("yuan")
                                           or "," in m.group("num")))
            cache[v] = hit
        values[i], bad[i], reformatted[i] = hit
    idx = series.index
    return pd.Series(values, index=idx), pd.Series(bad, index=idx), \
        pd.Series(reformatted, index=idx)


_DATETIME = re.compile(
    r"^(?P<y>\d{4})(?P<s1>[-/.年])(?P<m>\d{1,2})(?P<s2>[-/.月])(?P<d>\d{1,2})日?"
    r"(?:(?:[ T]|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$")

DATE_FORMATS_HELP = ("YYYY-MM-DD HH:MM[:SS], YYYY/MM/DD ..., YYYY年MM月DD日 ..., "
                     "optionally with a UTC offset")


def parse_datetimes(series: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """(naive shop-local datetime64 values, unparseable mask) of a text column."""
    zone = zoneinfo.ZoneInfo(timezone)
    out: list[dt.datetime | None] = []
    bad = np.zeros(len(series), dtype=bool)
    cache: dict[str, dt.datetime | None] = {}
    for i, v in enumerate(series.to_numpy()):
        if not isinstance(v, str):
            out.append(None)
            continue
        if v not in cache:
            cache[v] = _parse_one(v.strip(), zone)
        value = cache[v]
        bad[i] = value is None
        out.append(value)
    idx = series.index
    values = pd.to_datetime(pd.Series(out, index=idx, dtype=object)).astype("datetime64[us]")
    return values, pd.Series(bad, index=idx)


def parse_datetime_instants(series: pd.Series, timezone: str
                            ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(naive shop-local values, instants as naive UTC where the text has a UTC offset else
    NaT, unparseable mask) of a text column: the instants order two times a daylight-saving
    change makes look the wrong way round in local time."""
    values, bad = parse_datetimes(series, timezone)
    zone = zoneinfo.ZoneInfo(timezone)
    cache: dict[str, dt.datetime | None] = {}
    out: list[dt.datetime | None] = []
    for v in series.to_numpy():
        if not isinstance(v, str):
            out.append(None)
            continue
        if v not in cache:
            cache[v] = _parse_pair(v.strip(), zone)[1]
        out.append(cache[v])
    instants = pd.to_datetime(pd.Series(out, index=series.index, dtype=object))
    return values, instants.astype("datetime64[us]"), bad


def _parse_one(text: str, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    return _parse_pair(text, zone)[0]


def _parse_pair(text: str, zone: zoneinfo.ZoneInfo
                ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(naive shop-local time, naive UTC instant when the text has an offset)."""
    m = _DATETIME.match(text)
    if m is None or (m.group("s1") == "年") != (m.group("s2") == "月"):
        return None, None
    try:
        value = dt.datetime(int(m.group("y")), int(m.group("m")), int(m.group("d")),
                            int(m.group("H") or 0), int(m.group("M") or 0),
                            int(m.group("S") or 0), int((m.group("f") or "0").ljust(6, "0")))
    except ValueError:
        return None, None
    tz = m.group("tz")
    if tz:
        if tz == "Z":
            offset = dt.timedelta(0)
        else:
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            offset = sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        instant = value.replace(tzinfo=dt.timezone(offset))
        return (instant.astimezone(zone).replace(tzinfo=None),
                instant.astimezone(dt.UTC).replace(tzinfo=None))
    return value, None
