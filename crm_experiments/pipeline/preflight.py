"""Preflight: in seconds, before any notebook or MLflow run, is everything a run needs there?

:func:`preflight` is the one check behind ``crm-exp validate --params``, ``crm-exp run`` (first)
and ``crm-exp due`` / ``schedule``. It reads the params, stages the data directory once in
DuckDB (scans and counts only, no evaluation) and returns a :class:`Preflight` whose
``errors`` would each fail the run and whose ``skips`` say which optional parts the run will
leave out and why. Each finding names the file, column and parameter and its rule:

=========================== =================================================================
data_path_not_found         ``data.path`` does not resolve to a directory (says where it looked)
format_mismatch             a table exists only in the format ``data.format`` excludes (error:
                            like :func:`crm_experiments.io.staging.find_table_files`, the run
                            reads only ``<table>.<format>``, so the file would be ignored)
(io/validate.py rules)      every data rule the runner applies, with the same severities
no_assignments              no assignments table (the holdout comparison needs it)
campaign_not_assigned       no assignment row has ``campaign_id`` = the params' campaign_id
arm_not_assigned            a declared arm has no assigned customer
segment_column_missing      a ``segments`` entry the per-customer campaign table cannot hold:
                            not ``lifecycle_state`` (computed), nor a customers column it
                            carries (:data:`CUSTOMER_SEGMENTS`)
horizon_not_covered         orders end before the last day of the evaluation window
skip_*                      (warning) an optional part the run will skip, and why
=========================== =================================================================
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import narwhals as nw
import pandas as pd
import yaml

from crm_experiments.errors import CrmError, Finding
from crm_experiments.io import engine
from crm_experiments.io.cache import CacheWriter, cache_key
from crm_experiments.io.engine import collect, scalar
from crm_experiments.io.schema import TABLES
from crm_experiments.io.staging import (
    StagedTable,
    drop_staged,
    find_table_files,
    resolve_timezone,
    stage_directory,
)
from crm_experiments.io.validate import validate_tables
from crm_experiments.metrics.orders import in_window, ts
from crm_experiments.params import CampaignParams, load_params

#: Segment columns the per-customer campaign table computes itself (not from a data table).
COMPUTED_SEGMENTS = ("lifecycle_state",)
#: The customers columns the per-customer campaign table carries
#: (:func:`crm_experiments.metrics.campaign.campaign_customers`); a segment on another
#: customers column would be left out by the run. tests/pipeline/test_preflight.py checks
#: this against the table.
CUSTOMER_SEGMENTS = ("tier", "gender")


@dataclass(frozen=True)
class Check(Finding):
    """A :class:`~crm_experiments.errors.Finding` that may also name the parameter it is
    about and the horizon it applies to (``None``: every horizon)."""

    parameter: str | None = None
    horizon: int | None = None

    def __str__(self) -> str:
        text = super().__str__()
        if self.parameter is None:
            return text
        head, _, rest = text.partition(": [")
        return f"{head}, parameter '{self.parameter}': [{rest}"


class PreflightFailed(CrmError):
    """The preflight found errors; nothing was run."""

    def __init__(self, result: Preflight) -> None:
        self.result = result
        super().__init__("\n".join(result.lines(errors_only=True)))


@dataclass
class Preflight:
    """What :func:`preflight` found for one params file at some horizons."""

    params_path: Path
    horizons: tuple[int, ...]
    data_dir: Path | None
    errors: list[Finding] = field(default_factory=list)
    skips: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def errors_at(self, horizon: int) -> list[Finding]:
        """The errors that fail the run at ``horizon``."""
        return [f for f in self.errors if getattr(f, "horizon", None) in (None, horizon)]

    def lines(self, *, errors_only: bool = False) -> list[str]:
        """One line per finding: errors, then skips, then data warnings; then a summary."""
        found = self.errors if errors_only else [*self.errors, *self.skips, *self.warnings]
        verdict = "FAILED" if self.errors else "OK"
        tail = (f"preflight {verdict}: {self.params_path.name}: {len(self.errors)} error(s), "
                f"{len(self.skips)} part(s) skipped, {len(self.warnings)} data warning(s) "
                f"({self.seconds:.1f} s)")
        return [str(f) for f in found] + [tail]

    def raise_for_errors(self) -> None:
        if self.errors:
            raise PreflightFailed(self)


def preflight(params_path: str | Path, horizon: int | Iterable[int] | None = None, *,
              data_dir: str | Path | None = None,
              cache_dir: str | Path | None = None) -> Preflight:
    """Check everything a run of ``params_path`` at ``horizon`` (an int, several, or ``None``
    for the params' horizons) needs; see the module docstring. ``data_dir`` overrides the
    params' ``data.path`` (then an error says the run reads another directory).
    ``cache_dir``: the tables are staged for the check straight into the run's shop cache
    there (:class:`~crm_experiments.io.cache.CacheWriter`), kept when everything is there, so
    ``crm-exp run`` stages the data once, not twice. Raises
    :class:`~crm_experiments.errors.ParamsError` for an invalid params file."""
    started = time.perf_counter()
    path = Path(params_path)
    params = load_params(path)
    if horizon is None:
        horizons = tuple(params.horizons)
    else:
        horizons = (int(horizon),) if isinstance(horizon, int) else tuple(map(int, horizon))
    out = Preflight(params_path=path, horizons=horizons, data_dir=params.data.path)
    try:
        _check(out, path, params, Path(data_dir) if data_dir is not None else None,
               cache_dir)
    finally:
        out.seconds = time.perf_counter() - started
    return out


def _check(out: Preflight, path: Path, params: CampaignParams, override: Path | None,
           cache_dir: str | Path | None = None) -> None:
    data_dir = Path(params.data.path)
    if not data_dir.is_dir():
        out.errors.append(_missing_data_dir(path, data_dir))
        return
    if override is not None and override.resolve() != data_dir.resolve():
        out.errors.append(Check(
            file=path.name, rule="data_dir_mismatch", parameter="data.path",
            message=f"the run reads {data_dir}, not {override.resolve()}: check that directory "
                    "(omit DATA_DIR) or fix data.path"))
    if params.data.engine != "duckdb":
        out.warnings.append(Check(
            file=path.name, rule="not_checked", parameter="data.engine", severity="warning",
            message="engine spark: the data rules and table checks run on DuckDB only and were "
                    "not run (validate the Parquet files, or a sample, with engine duckdb)"))
        return
    out.errors += _format_mismatches(data_dir, params.data.format)
    tz = resolve_timezone(None, params)
    key = cache_key(params) if cache_dir is not None else None
    con = engine.connect()
    staged: dict[str, StagedTable] = {}
    try:
        # with a cache folder the tables are staged straight into the run's cache file
        with (CacheWriter(con, cache_dir) if cache_dir is not None
              else contextlib.nullcontext()) as writer:
            staged, findings = stage_directory(
                con, data_dir, timezone=tz, params=params,
                database=writer.database if writer is not None else None)
            findings += validate_tables(staged, params=params, timezone=tz)
            out.errors += [f for f in findings if f.severity == "error"]
            out.warnings += [f for f in findings if f.severity != "error"]
            _campaign_checks(out, path, params, staged)
            if writer is not None and not out.errors:
                writer.commit(staged, findings, key)
    finally:
        drop_staged(con, staged)
        con.disconnect()


def _missing_data_dir(path: Path, data_dir: Path) -> Check:
    """Where ``data.path`` led, and a folder of that name nearer the working directory."""
    raw = _raw_data_path(path) or str(data_dir)
    base = path.resolve().parent
    where = (f"data.path {raw!r} is taken relative to the params file's folder {base}, so the "
             f"run looks in {data_dir}" if not Path(raw).is_absolute()
             else f"data.path {raw!r}")
    hint = ""
    if not Path(raw).is_absolute():
        for root in (Path.cwd(), *base.parents):
            candidate = Path(os.path.normpath(root / raw))
            if candidate.is_dir() and candidate != data_dir:
                hint = (f"; {candidate} exists: write data.path: "
                        f"{os.path.relpath(candidate, base)} (or an absolute path)")
                break
    return Check(file=path.name, rule="data_path_not_found", parameter="data.path",
                 message=f"{where}, which is not a directory{hint}")


def _raw_data_path(path: Path) -> str | None:
    """``data.path`` as written in the YAML (before it is resolved)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return str(raw["data"]["path"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None


def _format_mismatches(data_dir: Path, fmt: str) -> list[Finding]:
    """Tables present only in the format ``data.format`` excludes: the run would ignore them."""
    if fmt == "auto":
        return []
    read, _ = find_table_files(data_dir, fmt)
    other = "csv" if fmt == "parquet" else "parquet"
    out: list[Finding] = []
    for name in TABLES:
        ignored = data_dir / f"{name}.{other}"
        if name not in read and ignored.is_file():
            out.append(Check(
                file=ignored.name, rule="format_mismatch", parameter="data.format",
                message=f"data.format is {fmt}, so the run reads only {name}.{fmt} and ignores "
                        f"{ignored.name}: convert it to {fmt}, or set data.format: auto"))
    return out


def _campaign_checks(out: Preflight, path: Path, params: CampaignParams,
                     staged: dict[str, StagedTable]) -> None:
    """Assignments, arms, segments, horizon coverage and the parts the run will skip."""
    _assignment_checks(out, path, params, staged)
    _segment_checks(out, params, staged, path)
    orders = staged.get("orders")
    if orders is not None and {"created_at"} <= orders.present:
        _horizon_checks(out, params, orders)
    _skips(out, params, staged)


def _assignment_checks(out: Preflight, path: Path, params: CampaignParams,
                       staged: dict[str, StagedTable]) -> None:
    a = staged.get("assignments")
    if a is None:
        out.errors.append(Check(
            file="assignments.csv/.parquet", rule="no_assignments",
            message=f"no assignments table in {params.data.path}: the holdout comparison needs "
                    "one (customer_id, campaign_id, arm)"))
        return
    if not {"campaign_id", "arm"} <= a.present:
        return  # missing_column errors already name it
    t = a.table
    counts = collect(t.filter(nw.col("campaign_id") == params.campaign_id).group_by("arm")
                     .agg(n=nw.len()))
    per_arm = {str(r.arm): int(r.n) for r in counts.itertuples() if not pd.isna(r.arm)}
    if not per_arm:
        others = collect(t.group_by("campaign_id").agg(n=nw.len())
                         .sort("n", descending=True).head(5))
        seen = ", ".join(f"'{r.campaign_id}' ({int(r.n):,} rows)" for r in others.itertuples())
        out.errors.append(Check(
            file=a.file, column="campaign_id", rule="campaign_not_assigned",
            parameter="campaign_id",
            message=f"no row has campaign_id '{params.campaign_id}' (the table has "
                    f"{seen or 'no rows'})"))
        return
    for arm in params.arm_names:
        if per_arm.get(arm, 0) == 0:
            out.errors.append(Check(
                file=a.file, column="arm", rule="arm_not_assigned", parameter="arms",
                message=f"arm '{arm}' has no customer assigned in campaign "
                        f"'{params.campaign_id}' (assigned: "
                        f"{', '.join(f'{k} {v:,}' for k, v in sorted(per_arm.items()))})"))


def _segment_checks(out: Preflight, params: CampaignParams,
                    staged: dict[str, StagedTable], path: Path) -> None:
    customers = staged.get("customers")
    columns = set(customers.present) | set(customers.extras) if customers is not None else set()
    carried = (*COMPUTED_SEGMENTS, *CUSTOMER_SEGMENTS)
    for i, seg in enumerate(params.segments):
        if seg in COMPUTED_SEGMENTS or (seg in columns and seg in CUSTOMER_SEGMENTS):
            continue
        if customers is None:
            why = "there is no customers table (customers.csv/.parquet) to take it from"
        elif seg in columns:
            why = (f"it is a column of {customers.file}, but the per-customer campaign table "
                   f"carries only {', '.join(carried)}, so the run would leave it out")
        else:
            why = (f"{customers.file} has no such column (it has: "
                   f"{', '.join(sorted(columns)) or 'no columns'})")
        out.errors.append(Check(
            file=path.name, column=seg, rule="segment_column_missing", parameter=f"segments[{i}]",
            message=f"segment '{seg}' cannot be computed: {why}"))


def _horizon_checks(out: Preflight, params: CampaignParams, orders: StagedTable) -> None:
    value = scalar(orders.table.select(nw.col("created_at").max()))
    data_end = None if value is None or pd.isna(value) else pd.Timestamp(value)
    for h in out.horizons:
        last_day = params.window_end(h) - pd.Timedelta(days=1)
        if data_end is not None and data_end >= last_day:
            continue
        ends = f"orders end at {data_end}" if data_end is not None else "orders have no dates"
        out.errors.append(Check(
            file=orders.file, column="created_at", rule="horizon_not_covered",
            parameter="horizons", horizon=h,
            message=f"{ends}, but the {h}-day window runs to {last_day.date()}: evaluate on "
                    f"or after {params.evaluation_date(h)} with data that reach "
                    f"{last_day.date()}"))


def _rows(frame: nw.LazyFrame) -> int:
    return int(scalar(frame.select(nw.len())))


def _non_null(frame: nw.LazyFrame, column: str) -> int:
    return int(scalar(frame.select(nw.col(column).count())))


def _skip(out: Preflight, file: str, rule: str, message: str, *, column: str | None = None,
          parameter: str | None = None, horizon: int | None = None) -> None:
    out.skips.append(Check(file=file, rule=rule, message=message, column=column,
                           parameter=parameter, horizon=horizon, severity="warning"))


def _cost_skips(out: Preflight, params: CampaignParams, orders: StagedTable | None) -> None:
    """The cost lines of the campaign's type (``analyses.economics.COST_LINES``) that neither
    the data nor the params record: the report says 'no cost recorded' there."""
    if params.type in ("shop_discount", "member_day") and orders is not None:
        t = orders.table
        if "discount" not in orders.present or _non_null(t, "discount") == 0:
            _skip(out, orders.file, "skip_cost", column="discount",
                  parameter="campaign_type",
                  message=f"campaign_type {params.type}: no order records a discount, so the "
                          "discounts' cost is not recorded"
                          + (" and the arms have no ROI" if params.type == "shop_discount"
                             else ""))
    if params.type == "member_day":
        missing = [a for a in params.treatment_arms if params.arm(a).benefit_cost is None]
        if missing:
            _skip(out, Path(out.params_path).name, "skip_cost", parameter="arms.benefit_cost",
                  message=f"campaign_type member_day: arms {missing} have no benefit_cost, so "
                          "their benefit's cost is not recorded and they have no ROI")


def _skips(out: Preflight, params: CampaignParams, staged: dict[str, StagedTable]) -> None:
    """The optional parts the run leaves out with this data, and why (warnings)."""
    contacts = staged.get("contacts")
    if contacts is None:
        _skip(out, "contacts.csv/.parquet", "skip_contacts",
              "no contacts table: no message costs (ROI counts coupons only), no "
              "wake-up / reactivation rates and no payment-reminder recovery"
              if params.type == "coupon" else
              f"no contacts table: the messages' cost is not recorded (campaign_type "
              f"{params.type}: no ROI when they are its cost), no wake-up / reactivation "
              "rates and no payment-reminder recovery")
    elif "campaign_id" in contacts.present:
        t = contacts.table
        if _rows(t.filter(nw.col("campaign_id") == params.campaign_id)) == 0:
            _skip(out, contacts.file, "skip_contacts", column="campaign_id",
                  parameter="campaign_id",
                  message=f"no contact of campaign '{params.campaign_id}': its message costs "
                          "are 0 and reactivation is not measured")
    if "reviews" not in staged and "surveys" not in staged:
        _skip(out, "reviews/surveys", "skip_satisfaction",
              "no reviews or surveys table: satisfaction is the refund rate only")
    if "customers" not in staged:
        _skip(out, "customers.csv/.parquet", "skip_customers",
              "no customers table: no tier segments and no customer features (tier, gender, "
              "province, tenure) for the CLV/churn and uplift models")
    else:
        customers = staged["customers"]
        if "tier" not in customers.present or _non_null(customers.table, "tier") == 0:
            _skip(out, customers.file, "skip_tiers", column="tier",
                  message="no member tier in the customers table: the report shows no tiers "
                          "and no tier migration")
    if "interactions" not in staged:
        _skip(out, "interactions.csv/.parquet", "skip_interactions",
              "no interactions table: no participants vs non-participants comparison")
    if "coupons" not in staged and params.type == "coupon":
        orders = staged.get("orders")
        ids = (orders is not None and "coupon_id" in orders.present
               and _non_null(orders.table, "coupon_id") > 0)
        _skip(out, "coupons.csv/.parquet", "skip_coupons",
              "no coupons table: coupon cost is the discount of orders with a coupon_id" if ids
              else "no coupons table and no order with a coupon_id: the coupon cost is "
                   "unknown, so the report shows no ROI")
    _cost_skips(out, params, staged.get("orders"))
    orders = staged.get("orders")
    if orders is None or "created_at" not in orders.present:
        return
    t = orders.table
    if "shipped_at" not in orders.present:
        _skip(out, orders.file, "skip_shipping", column="shipped_at",
              message="no shipped_at column: shipping times are unknown")
    start = params.sale_start
    day_before = (start - pd.Timedelta(days=1)).date()
    created = nw.col("created_at")
    pre = t.filter(in_window(created, params.pre_period_start, start))
    if _rows(pre) == 0:
        _skip(out, orders.file, "skip_history", column="created_at",
              parameter="pre_period_days",
              message=f"no order in the {params.pre_period_days} days before the sale "
                      f"({params.pre_period_start.date()} to {day_before})"
                      ": no pre-period covariates and no before/after comparison")
    for h in out.horizons:
        for name in params.notebooks_at(h):
            if name == "clv_churn" and _rows(t.filter(created < ts(start))) == 0:
                _skip(out, orders.file, "skip_notebook", column="created_at",
                      parameter=f"extra_notebooks.{name}", horizon=h,
                      message=f"{name} at {h}d: no order before the sale start {start.date()}, "
                              "so the CLV models have nothing to calibrate on")
