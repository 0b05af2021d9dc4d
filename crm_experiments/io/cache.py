"""Stage and validate a data directory once per run, and let every notebook of the run reuse it.

An evaluation runs several notebooks, each in its own Jupyter kernel, and each calls
:func:`crm_experiments.io.reader.load_shop`. Without a cache every kernel would scan, type and
validate the whole order log again (about 15 s and 2 GB of memory per kernel for 10M orders).
The runner instead calls :func:`build_shop_cache` once (or the preflight of ``crm-exp run``
does, with :class:`CacheWriter`): the tables are staged straight into a DuckDB database file and
validated there (the runner's memory is released before any notebook starts; kernels read the
file through DuckDB's buffer manager instead of each holding a copy), and a manifest records
where the data came from. While
:data:`SHOP_CACHE_ENV` names that folder, ``load_shop`` attaches the file read-only instead of
reading the files again, *if* the manifest matches the request: same data directory, timezone
and format, and every data file still has the size and modification time it had when staged
(a file changed in between means the cache is ignored and the files are read again).

The cache is scoped to a run (the runner deletes it afterwards), so nothing stale survives.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from crm_experiments.errors import DataValidationError, Finding
from crm_experiments.io import engine
from crm_experiments.io.process import scratch_dir
from crm_experiments.io.schema import TABLES
from crm_experiments.io.staging import _lit

if TYPE_CHECKING:
    from crm_experiments.io.staging import ShopData
    from crm_experiments.params import CampaignParams

#: Environment variable naming the cache folder of the current run (inherited by the kernels).
SHOP_CACHE_ENV = "CRM_EXPERIMENTS_SHOP_CACHE"
MANIFEST = "manifest.json"
DATABASE = "shop.duckdb"
_FORMAT_VERSION = 1


def source_fingerprint(data_dir: Path, fmt: str) -> dict[str, list[int]]:
    """``{file name: [size in bytes, mtime in ns]}`` of the data files ``load_shop`` reads."""
    from crm_experiments.io.staging import find_table_files

    files, _ = find_table_files(Path(data_dir), fmt)
    return {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in files.values()}


def _key(data_dir: Path, timezone: str, fmt: str) -> dict:
    return {"version": _FORMAT_VERSION, "data_dir": str(Path(data_dir).resolve()),
            "timezone": timezone, "format": fmt,
            "files": source_fingerprint(data_dir, fmt)}


def build_shop_cache(params: CampaignParams, cache_dir: str | Path) -> Path:
    """Stage and validate ``params.data.path`` into ``cache_dir`` (see the module docstring).

    Raises :class:`~crm_experiments.errors.DataValidationError` like ``load_shop`` (nothing
    usable is left in ``cache_dir`` then). DuckDB engine only.
    """
    from crm_experiments.io.staging import resolve_timezone, stage_directory
    from crm_experiments.io.validate import validate_tables

    tz = resolve_timezone(None, params)
    key = cache_key(params)
    con = engine.connect()
    try:
        with CacheWriter(con, cache_dir) as writer:
            staged, findings = stage_directory(con, Path(params.data.path), timezone=tz,
                                               params=params, database=writer.database)
            findings += validate_tables(staged, params=params, timezone=tz)
            if any(f.severity == "error" for f in findings):
                raise DataValidationError(findings)
            return writer.commit(staged, findings, key)
    finally:
        con.disconnect()


def cache_key(params: CampaignParams) -> dict:
    """What a cache of ``params``' data must match; take it *before* staging, so a file that
    changes while it is read makes the cache stale rather than wrong."""
    from crm_experiments.io.staging import resolve_timezone

    return _key(Path(params.data.path), resolve_timezone(None, params), params.data.format)


class CacheWriter:
    """A run cache being written on ``con``: its database file is attached as
    :attr:`database`, for :func:`~crm_experiments.io.staging.stage_directory` to stage the
    tables straight into (validation then reads them there): the data is typed and written
    once, not staged in memory and copied (which at 100M orders spilled the whole in-memory
    copy to disk and took as long again; ``bench/RESULTS.md``, "Toward 10M customers").

    :meth:`commit` closes the file and writes the manifest last, by an atomic rename: a folder
    without a manifest is never opened (:func:`open_shop_cache`), so a half-written cache is
    never used. Leaving the ``with`` block without a commit detaches and deletes the file.
    DuckDB's spill files of the staging go into the cache folder (``temp_directory``; an
    in-memory database would put them in ``.tmp`` of the working directory), so they are
    removed with the run's cache.
    """

    database = "crm_shop_cache"

    def __init__(self, con, cache_dir: str | Path) -> None:
        self.con = con
        self.folder = Path(cache_dir)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / MANIFEST).unlink(missing_ok=True)  # the commit point comes last
        self.file = self.folder / DATABASE
        self._remove_file()
        # DuckDB's temp_directory setting: where it spills beyond memory_limit
        with contextlib.suppress(Exception):  # set once per connection; a refusal is harmless
            con.raw_sql(f"SET temp_directory = {_lit(str(self.folder / 'spill'))}")
        # Text columns are written without DuckDB's dictionary + FSST string compression
        # (``disabled_compression_methods``): choosing and encoding it was most of the CPU
        # of writing the order log (unique order ids), and the notebooks' scans then decode
        # plain strings; the file is larger.
        # Insertion order stays preserved (engine.connect). ``preserve_insertion_order=false``
        # lowers the memory of large loads (DuckDB's "Tuning Workloads" guide,
        # duckdb.org/docs/stable/guides/performance/how_to_tune_workloads), but the cached
        # tables' row order would then depend on how the staging threads interleaved, and the
        # analyses' figures must not; row numbers come from the file either way. Threads and
        # memory_limit are engine.connect's (CRM_EXPERIMENTS_DUCKDB_MEMORY_LIMIT).
        with contextlib.suppress(Exception):  # an older DuckDB without the method: compressed
            con.raw_sql("SET disabled_compression_methods = 'dict_fsst'")
        con.raw_sql(f"ATTACH {_lit(str(self.file))} AS {self.database}")
        self._attached = True

    def __enter__(self) -> CacheWriter:
        return self

    def __exit__(self, *exc) -> None:
        if self._attached:  # not committed: nothing of it may be used
            self._detach()
            self._remove_file()
            shutil.rmtree(self.folder / "spill", ignore_errors=True)

    def commit(self, staged: dict, findings: list[Finding], key: dict) -> Path:
        """Close the file with the tables of ``staged`` (staged into :attr:`database`,
        validated, no error among ``findings``) and write the manifest; returns the folder."""
        self.con.raw_sql(f"CHECKPOINT {self.database}")
        self.con.raw_sql(f"DETACH {self.database}")  # a failure here: no manifest, no file
        self._attached = False
        manifest = {**key, "tables": {name: {"sql_name": s.sql_name, "extras": list(s.extras)}
                                      for name, s in staged.items()},
                    "warnings": [dataclasses.asdict(f) for f in findings]}
        tmp = self.folder / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        tmp.replace(self.folder / MANIFEST)
        shutil.rmtree(self.folder / "spill", ignore_errors=True)
        return self.folder

    def _detach(self) -> None:
        self._attached = False
        with contextlib.suppress(Exception):
            self.con.raw_sql(f"DETACH {self.database}")

    def _remove_file(self) -> None:
        for path in (self.file, self.file.with_name(self.file.name + ".wal")):
            path.unlink(missing_ok=True)


def open_shop_cache(data_dir: str | Path, timezone: str, fmt: str) -> ShopData | None:
    """The cached shop of the current run if :data:`SHOP_CACHE_ENV` is set and its manifest
    matches (see the module docstring), else ``None``."""
    from crm_experiments.io.staging import ShopData

    folder = os.environ.get(SHOP_CACHE_ENV)
    if not folder:
        return None
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if {k: manifest.get(k) for k in ("version", "data_dir", "timezone", "format", "files")} \
            != _key(Path(data_dir), timezone, fmt):
        return None
    con = engine.connect()
    db = _lit(str(Path(folder) / DATABASE))
    con.raw_sql(f"ATTACH {db} AS {CacheWriter.database} (READ_ONLY)")
    tables = {}
    for name, entry in manifest["tables"].items():
        t = con.table(entry["sql_name"], database=CacheWriter.database)
        tables[name] = t.select(*[c.name for c in TABLES[name].columns], *entry["extras"])
    warnings = [Finding(**{**w, "rows": tuple(w["rows"])}) for w in manifest["warnings"]]
    return ShopData(con=con, tables=tables, data_dir=Path(data_dir), timezone=timezone,
                    warnings=warnings, cache=Path(folder))


@contextlib.contextmanager
def shop_cache(params: CampaignParams, prepared: str | Path | None = None,
               ) -> Iterator[Path | None]:
    """Build the run's cache in a temporary folder and point :data:`SHOP_CACHE_ENV` at it for
    the duration (kernels started meanwhile inherit it); remove both afterwards. With the
    Spark engine nothing is cached (yields ``None``). ``prepared``: a cache folder already
    written for these params (by the preflight, :class:`CacheWriter`), used as it is and
    left to its owner; a stale one (the data changed since) is simply not matched by
    :func:`open_shop_cache`, which then reads the files."""
    if params.data.engine != "duckdb":
        yield None
        return
    owned = prepared is None or not (Path(prepared) / MANIFEST).is_file()
    # named with our pid: removed by io.process.remove_dead_scratch if we are killed
    folder = scratch_dir("shop") if owned else Path(prepared)
    previous = os.environ.get(SHOP_CACHE_ENV)
    try:
        if owned:
            build_shop_cache(params, folder)
        os.environ[SHOP_CACHE_ENV] = str(folder)
        yield folder
    finally:
        if previous is None:
            os.environ.pop(SHOP_CACHE_ENV, None)
        else:
            os.environ[SHOP_CACHE_ENV] = previous
        if owned:
            shutil.rmtree(folder, ignore_errors=True)
