"""Read a shop's data directory: typed, validated tables in the engine (:class:`ShopData`).

The staging rules (types, timestamps, row numbers for validation) are in
:mod:`crm_experiments.io.staging`; the data rules in :mod:`crm_experiments.io.validate`; the
run-scoped cache that lets every notebook of a run reuse one staging in
:mod:`crm_experiments.io.cache`; Spark loading in :mod:`crm_experiments.io.spark`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from crm_experiments.errors import DataValidationError
from crm_experiments.io import engine
from crm_experiments.io.cache import open_shop_cache
from crm_experiments.io.engine import Engine, SparkEngine
from crm_experiments.io.spark import load_shop_spark
from crm_experiments.io.staging import ShopData, drop_staged, resolve_timezone, stage_directory
from crm_experiments.io.validate import validate_tables

if TYPE_CHECKING:
    from crm_experiments.params import CampaignParams

__all__ = ["ShopData", "load_shop"]


def load_shop(data_dir: str | Path, *, timezone: str | None = None,
              params: CampaignParams | None = None, con: Engine | None = None,
              validate: bool = True) -> ShopData:
    """Read, type and (by default) validate a data directory; see the module docstring.

    ``timezone`` defaults to the params' timezone, else Asia/Shanghai. Raises
    :class:`~crm_experiments.errors.DataValidationError` listing every error finding (files
    that cannot be read or a missing orders table always; rule violations when ``validate``);
    warnings are kept in :attr:`ShopData.warnings`.

    Inside a run of :mod:`crm_experiments.pipeline.runner` (no ``con`` given, DuckDB engine) the
    directory staged and validated once by the runner is reused: see
    :mod:`crm_experiments.io.cache`.
    """
    tz = resolve_timezone(timezone, params)
    is_spark = params is not None and params.data.engine == "spark"
    if con is None and not is_spark:
        cached = open_shop_cache(data_dir, tz, params.data.format if params else "auto")
        if cached is not None:
            return cached
    if con is None:
        con = (engine.connect(engine=params.data.engine, spark_master=params.data.spark_master,
                              spark_conf=params.data.spark_conf)
               if is_spark else engine.connect())
    if isinstance(con, SparkEngine):
        return load_shop_spark(con, data_dir, timezone=tz, params=params, validate=validate)
    staged, findings = stage_directory(con, data_dir, timezone=tz, params=params)
    if validate:
        findings += validate_tables(staged, params=params, timezone=tz)
    if any(f.severity == "error" for f in findings):
        drop_staged(con, staged)
        raise DataValidationError(findings)
    return ShopData(
        con=con, tables={name: s.canonical() for name, s in staged.items()},
        data_dir=Path(data_dir), timezone=tz,
        warnings=[f for f in findings if f.severity == "warning"],
    )
