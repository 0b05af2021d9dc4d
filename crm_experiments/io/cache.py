"""Stage and validate a data directory once per run, and let every notebook of the run reuse it.

An evaluation runs several notebooks, each in its own Jupyter kernel, and each calls
:func:`crm_experiments.io.reader.load_shop`. Without a cache every kernel would scan, type and
validate the whole order log again (about 15 s and 2 GB of memory per kernel for 10M orders).
The runner instead calls :func:`build_shop_cache` once: the tables are staged and validated in
memory, then written in canonical form to a DuckDB database file (the runner's memory is
released before any notebook starts; kernels read the file through DuckDB's buffer manager
instead of each holding a copy), and a manifest records where the data came from. While
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
    # Staged and validated in memory (fast), then copied to the file in canonical form; the
    # memory goes back when the connection closes, before any notebook starts.
    con = engine.connect()
    try:
        staged, findings = stage_directory(con, Path(params.data.path), timezone=tz,
                                           params=params)
        findings += validate_tables(staged, params=params, timezone=tz)
        if any(f.severity == "error" for f in findings):
            raise DataValidationError(findings)
        return write_shop_cache(con, staged, findings, key, cache_dir)
    finally:
        con.disconnect()


def cache_key(params: CampaignParams) -> dict:
    """What a cache of ``params``' data must match; take it *before* staging, so a file that
    changes while it is read makes the cache stale rather than wrong."""
    from crm_experiments.io.staging import resolve_timezone

    return _key(Path(params.data.path), resolve_timezone(None, params), params.data.format)


def write_shop_cache(con, staged: dict, findings: list[Finding], key: dict,
                     cache_dir: str | Path) -> Path:
    """Copy tables staged and validated on ``con`` (no error among ``findings``) into
    ``cache_dir`` in canonical form with their manifest: how the preflight of ``crm-exp run``
    hands its staged data to the run instead of the run staging it again."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    db = cache_dir / DATABASE
    db.unlink(missing_ok=True)
    try:
        con.raw_sql(f"ATTACH '{db}' AS crm_shop_cache")
        for s in staged.values():
            columns = ", ".join(f'"{c}"' for c in s.canonical().columns)
            con.raw_sql(f'CREATE TABLE crm_shop_cache."{s.sql_name}" AS '
                        f'SELECT {columns} FROM "{s.sql_name}"')
        con.raw_sql("DETACH crm_shop_cache")
    except BaseException:
        db.unlink(missing_ok=True)
        raise
    manifest = {**key, "tables": {name: {"sql_name": s.sql_name, "extras": list(s.extras)}
                                  for name, s in staged.items()},
                "warnings": [dataclasses.asdict(f) for f in findings]}
    tmp = cache_dir / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    tmp.replace(cache_dir / MANIFEST)
    return cache_dir


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
    con.raw_sql(f"ATTACH '{Path(folder) / DATABASE}' AS crm_shop_cache (READ_ONLY)")
    tables = {}
    for name, entry in manifest["tables"].items():
        t = con.table(entry["sql_name"], database="crm_shop_cache")
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
    written for these params (by the preflight, :func:`write_shop_cache`), used as it is and
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
