"""One protocol for every analysis result, live or read back from disk.

A result (:class:`~crm_experiments.analyses.campaign.Evaluation`,
:class:`~crm_experiments.analyses.clv.CampaignCLV`,
:class:`~crm_experiments.analyses.uplift.UpliftAnalysis`) is a frozen dataclass that also
derives from :class:`ResultMixin` and so offers:

* ``summary()``: the headline as a JSON-able dict (labels, language, currency, verdict ...);
* ``tables()``: aggregate tables by name; customer-level rows only in a table declared as
  such (the evaluation's ``customers``), with the data's pseudonymous ids and nothing
  else personal;
* ``metrics()``: flat ``name -> number`` for MLflow (finite values only);
* ``to_frame()``: the one table an analyst looks at first;
* a short ``repr`` and ``_repr_html_`` (the summary table, not every field) for JupyterLab;
* ``write(dir)``: ``result.json`` (kind, schema version, summary, metrics) and
  ``tables/<name>.parquet``, written into a temporary folder and moved into place;
* ``read(dir)`` (class method): a :class:`StoredResult` with the same four methods, checked
  against the class's declared :attr:`ResultMixin.SCHEMA` (tables and their columns), so a
  reader (the report, the plan) never guesses at file or column names.

The report layer renders pages from ``summary()`` and ``tables()`` only, so a page rendered
from a live result and one rendered from the stored copy show the same numbers.
"""

from __future__ import annotations

import html
import json
import math
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from crm_experiments.errors import CrmError

RESULT_FILE = "result.json"
TABLES_DIR = "tables"


class ResultSchemaError(CrmError):
    """A stored result does not match the schema its kind declares."""


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as None and numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def finite_metrics(values: dict[str, Any]) -> dict[str, float]:
    """``values`` as floats, without None, NaN and infinities (MLflow takes numbers only)."""
    out = {}
    for k, v in values.items():
        try:
            x = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(x):
            out[k] = x
    return out


class ResultMixin:
    """The shared protocol (see the module docstring). Subclasses set :attr:`KIND` and
    :attr:`SCHEMA` and implement ``summary``, ``tables`` and ``metrics``."""

    #: Name of the kind of result, stored in ``result.json``.
    KIND: ClassVar[str] = "result"
    #: Version of the stored layout of this kind; bumped when a declared column changes.
    SCHEMA_VERSION: ClassVar[int] = 1
    #: Declared tables added after version 1: name -> the version that added it. A copy
    #: stored by an earlier version lacks them, and is read without them (not a schema error).
    SCHEMA_SINCE: ClassVar[dict[str, int]] = {}
    #: Declared tables: name -> columns every stored copy has (other tables and columns may
    #: be there too; a name ending in ``*`` stands for every table with that prefix).
    SCHEMA: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: The table :meth:`to_frame` returns.
    MAIN_TABLE: ClassVar[str] = ""

    def summary(self) -> dict:  # pragma: no cover - every subclass implements it
        raise NotImplementedError

    def tables(self) -> dict[str, pd.DataFrame]:  # pragma: no cover
        raise NotImplementedError

    def metrics(self) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        """The main table (``MAIN_TABLE``)."""
        tables = self.tables()
        return tables.get(self.MAIN_TABLE, next(iter(tables.values()), pd.DataFrame()))

    # --- display -------------------------------------------------------------------------
    def _headline(self) -> dict[str, Any]:
        """A few scalar fields of the summary for ``repr`` (subclasses may choose)."""
        s = self.summary()
        return {k: v for k, v in s.items() if isinstance(v, str | int | float | bool)}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in list(self._headline().items())[:8])
        names = ", ".join(self.tables())
        return f"<{type(self).__name__} {fields}; tables: {names}>"

    def _repr_html_(self) -> str:
        head = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                       f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
                       for k, v in list(self._headline().items())[:8])
        frame = self.to_frame()
        body = frame.head(20).to_html(index=False, border=0, escape=True,
                                      float_format=lambda x: f"{x:,.4g}")
        return (f"<div><b>{html.escape(type(self).__name__)}</b><table>{head}</table>"
                f"{body}<p style='color:#666'>tables(): {html.escape(', '.join(self.tables()))}"
                "</p></div>")

    # --- storage -------------------------------------------------------------------------
    def write(self, out_dir: str | Path) -> Path:
        """Write ``result.json`` and ``tables/*.parquet`` into ``out_dir`` (see the module
        docstring); files of an earlier result there are replaced, other files are kept."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        doc = {"kind": self.KIND, "schema_version": self.SCHEMA_VERSION,
               "summary": jsonable(self.summary()), "metrics": self.metrics()}
        staging = Path(tempfile.mkdtemp(prefix=".result-", dir=out))
        try:
            (staging / TABLES_DIR).mkdir()
            for name, frame in self.tables().items():
                _to_parquet(frame, staging / TABLES_DIR / f"{name}.parquet")
            (staging / RESULT_FILE).write_text(json.dumps(doc, indent=2, ensure_ascii=False),
                                               encoding="utf-8")
            shutil.rmtree(out / TABLES_DIR, ignore_errors=True)
            (staging / TABLES_DIR).rename(out / TABLES_DIR)
            (staging / RESULT_FILE).replace(out / RESULT_FILE)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return out

    @classmethod
    def read(cls, out_dir: str | Path, *, lazy: bool = True) -> StoredResult:
        """The result stored in ``out_dir`` by :meth:`write`, checked against ``SCHEMA``.
        ``lazy``: each table is read when first used (the folder must stay until then);
        False reads every table now (a caller that removes the folder afterwards)."""
        return StoredResult.load(out_dir, kind=cls.KIND, schema=cls.SCHEMA,
                                 main_table=cls.MAIN_TABLE, since=cls.SCHEMA_SINCE, lazy=lazy)


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    # a shallow copy: the columns are shared, not copied (the per-customer table is large)
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    for col in frame.columns:
        if frame[col].dtype != object:
            continue
        if pd.api.types.infer_dtype(frame[col], skipna=True) == "string":
            # text and None/NaN only: what the conversion below gives, without a Python call
            # per value (None and NaN become missing)
            frame[col] = frame[col].astype("str")
            continue
        # mixed Python objects (dates, labels): store as text
        frame[col] = frame[col].map(lambda v: v if v is None or isinstance(v, str)
                                    else (None if isinstance(v, float) and math.isnan(v)
                                          else str(v)))
    frame.to_parquet(path, index=False)


class StoredTables(Mapping):
    """The ``tables/*.parquet`` of a stored result by name, each read on first access and then
    kept: a page that shows aggregates never reads the per-customer table (a large
    file at a million customers), and names and columns are known without reading any
    (:meth:`columns`, from the Parquet footer). The folder must stay until a table is used
    (:meth:`read_all` reads them all now)."""

    def __init__(self, folder: Path) -> None:
        self._paths = {p.stem: p for p in sorted(folder.glob("*.parquet"))}
        self._read: dict[str, pd.DataFrame] = {}

    def read_all(self) -> StoredTables:
        """Read every table now (then the folder may go); returns itself."""
        for name in self._paths:
            self[name]
        return self

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._read:
            self._read[name] = pd.read_parquet(self._paths[name])  # KeyError when absent
        return self._read[name]

    def __contains__(self, name: object) -> bool:  # without reading the table
        return name in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def columns(self, name: str) -> list[str]:
        """The column names of table ``name`` (its Parquet schema; the data is not read)."""
        import pyarrow.parquet as pq

        if name in self._read:
            return [str(c) for c in self._read[name].columns]
        return [n for n in pq.read_schema(self._paths[name]).names
                if not n.startswith("__index_level_")]

    def path(self, name: str) -> Path:
        """The file of table ``name``."""
        return self._paths[name]


@dataclass(frozen=True, repr=False)
class StoredResult(ResultMixin):
    """A result read back by :meth:`ResultMixin.read`: the same protocol, from disk."""

    kind: str
    path: Path
    stored_summary: dict
    stored_metrics: dict[str, float]
    #: name -> table; :meth:`load` gives a :class:`StoredTables` (each read when first used)
    stored_tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    main_table: str = ""

    def summary(self) -> dict:
        return self.stored_summary

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """The stored tables by name; read from disk when first looked up (see
        :class:`StoredTables`)."""
        return self.stored_tables

    def metrics(self) -> dict[str, float]:
        return self.stored_metrics

    def to_frame(self) -> pd.DataFrame:
        return self.stored_tables.get(self.main_table, pd.DataFrame())

    def table(self, name: str) -> pd.DataFrame:
        """The stored table ``name``; a clear error naming the folder when it is absent."""
        try:
            return self.stored_tables[name]
        except KeyError:
            raise ResultSchemaError(
                f"{self.path}: the {self.kind} result has no table '{name}' "
                f"(it has {', '.join(sorted(self.stored_tables)) or 'none'})") from None

    @classmethod
    def load(cls, out_dir: str | Path, *, kind: str | None = None,
             schema: dict[str, tuple[str, ...]] | None = None,
             main_table: str = "", since: dict[str, int] | None = None,
             lazy: bool = True) -> StoredResult:
        folder = Path(out_dir)
        doc_path = folder / RESULT_FILE
        try:
            doc = json.loads(doc_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResultSchemaError(f"{doc_path}: no stored result here") from None
        except (OSError, ValueError) as exc:
            raise ResultSchemaError(f"{doc_path}: unreadable ({exc})") from None
        if kind is not None and doc.get("kind") != kind:
            raise ResultSchemaError(f"{doc_path}: holds a '{doc.get('kind')}' result, "
                                    f"expected '{kind}'")
        tables = StoredTables(folder / TABLES_DIR)
        for name, columns in (schema or {}).items():
            if name.endswith("*"):
                continue
            if name not in tables:
                if (since or {}).get(name, 1) > int(doc.get("schema_version") or 1):
                    continue  # stored before the table existed
                raise ResultSchemaError(f"{folder / TABLES_DIR}: the {kind} result declares "
                                        f"table '{name}', which is missing")
            stored = set(tables.columns(name))
            missing = [c for c in columns if c not in stored]
            if missing:
                raise ResultSchemaError(f"{folder / TABLES_DIR / (name + '.parquet')}: "
                                        f"missing column(s) {', '.join(missing)}")
        return cls(kind=str(doc.get("kind")), path=folder,
                   stored_summary=doc.get("summary", {}),
                   stored_metrics=doc.get("metrics", {}),
                   stored_tables=tables if lazy else tables.read_all(), main_table=main_table)
