"""Check a data directory against the data contract; every problem becomes a :class:`Finding`.

Each finding names the file, the column, the first few 1-based data row numbers (the header is
not counted; for Parquet the row position + 1), how many rows break the rule, and a short rule
id. All checks run in the engine: the row-by-row rules of a table are counted in one aggregate
query; only for a rule that is broken a second query fetches its first rows. Duplicate and
cross-table rules are one query each (the duplicate ones only when a cheap count says so).

Rule ids (severity):

===================== ======================================================================
missing_table          no orders file (error)
ambiguous_table        both ``<table>.csv`` and ``<table>.parquet`` (error)
unreadable_file        DuckDB cannot read the file, e.g. a row with extra fields (error)
missing_column         a required column of the table is absent (error)
missing_paid_at        orders without a ``paid_at`` column: every order counts as unpaid (warning)
empty_file             no data rows, or a 0-byte file (error for orders, warning otherwise)
unparseable            a value is not a valid timestamp / number (error; warning in extra columns)
required_null          a required column is empty (error)
negative_value         amount, refund_amount, discount, cost, face_value, threshold < 0 (error)
refund_exceeds_amount  refund_amount > amount (error)
paid_before_created    paid_at < created_at (error)
shipped_before_paid    shipped_at < paid_at (warning)
duplicate_key          order_id / coupon_id / customers' customer_id repeated (error)
multiple_arms          a customer in two arms of one campaign: the later rows (error)
unknown_arm            an arm not declared in the params, for the params' campaign (error)
future_date            a timestamp after now (warning)
ancient_date           a timestamp before 2000-01-01, birthdays excepted (warning)
score_out_of_scale     survey score outside its scale: csat5 1-5, nps10 0-10 (error)
dsr_out_of_range       a DSR score outside 1-5 (error)
unknown_value          polarity / kind / scale not among the allowed values (error)
unknown_customer       an order's customer_id is not in customers (warning)
amount_too_large       a money value (the negative_value columns) above :data:`MAX_MONEY` in
                       absolute value (error; see below)
stray_date             orders at the start or the end of the data separated from the rest by
                       more than :data:`STRAY_GAP_DAYS` days and holding at most 1% of the
                       orders (error at the end when one of them is after now, else warning)
local_time_gap         a shop-local time that does not exist (the hour skipped by a
                       daylight-saving change) (warning)
local_time_ambiguous   a shop-local time the daylight-saving change repeats (warning)
id_leading_zeros       an id matches an id of another table only without leading zeros (error)
===================== ======================================================================

Non-finite numbers (NaN, ±inf, e.g. in Parquet doubles) do not parse (``unparseable``).

Why these bounds and rules:

* ``MAX_MONEY`` = 1e11 currency units in one row: above any single order, refund, discount,
  coupon or message cost in any currency (1e11 Indonesian rupiah is about 6 million US dollars),
  and ten times below what money sums can hold (each value is summed as a DECIMAL(18, 6), whose
  largest value is just under 1e12; see :func:`crm_experiments.metrics.orders.exact_sum`), so a
  value that passes cannot overflow them. A larger value is a unit or parsing error.
* ``stray_date``: the data's end (the last order) decides how much of an evaluation window is
  covered, so one order dated 2100 would make a 30-day window look complete. Orders after the
  last gap of more than 90 days between consecutive order days, holding at most 1% of the
  orders, are named; they are an error when one is in the future (they cannot be real), and a
  warning otherwise (a shop reopening after a long break has them legitimately). The same at the
  start is a warning (it only moves the start of the history).
* Local times in a timezone with daylight saving: a local time in the skipped hour does not
  exist (it was probably written in another zone: check the params' timezone), one in the
  repeated hour could be either of two instants; both are warnings naming the rows. Values given
  with a UTC offset (or zone-aware Parquet) are instants and are not flagged; ``paid_at`` is
  compared with ``created_at`` as instants where both have one, and two local times both in the
  repeated hour are not called "paid before created".
* ``id_leading_zeros``: ``00123`` in one table and ``123`` in another is the same customer after
  one file stored ids as integers. The ids are not rewritten (``007`` and ``7`` may be two
  customers, and which table is right cannot be known), the rows are named: export the ids as
  text. Checked for customer ids (orders against customers; assignments, coupons, contacts
  against orders) and order ids (reviews and coupons' redeemed_order_id against orders).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import narwhals as nw
import pandas as pd

from crm_experiments.errors import Finding
from crm_experiments.io import engine
from crm_experiments.io.engine import collect, scalar
from crm_experiments.io.expr import count_true, in_window, ts
from crm_experiments.io.schema import (
    INTERACTION_KINDS,
    REVIEW_POLARITIES,
    SURVEY_SCALES,
    TABLES,
)
from crm_experiments.io.staging import (
    BAD,
    INSTANT,
    ROW,
    StagedTable,
    resolve_timezone,
    stage_directory,
)

if TYPE_CHECKING:
    from crm_experiments.params import CampaignParams

MAX_ROWS = 5
#: Largest absolute money value of one row (currency units); see the module doc.
MAX_MONEY = 1e11
#: A gap between consecutive order days longer than this separates stray orders (days).
STRAY_GAP_DAYS = 90
#: Stray orders hold at most this share of the orders.
STRAY_SHARE = 0.01
EARLIEST = dt.datetime(2000, 1, 1)
NON_NEGATIVE = {
    "orders": ("amount", "discount", "refund_amount"),
    "contacts": ("cost",),
    "coupons": ("face_value", "threshold"),
}
ALLOWED = {
    ("reviews", "polarity"): REVIEW_POLARITIES,
    ("interactions", "kind"): INTERACTION_KINDS,
    ("surveys", "scale"): SURVEY_SCALES,
}
DSR_COLUMNS = ("dsr_item", "dsr_service", "dsr_logistics")
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class _Check:
    """A rule over the rows of one staged table: ``bad`` selects the offending rows, either
    as a condition on the table (``cond``) or as a derived table with ``ROW`` (``rows``)."""

    rule: str
    column: str | None
    message: Callable[[list[str]], str]   # examples (values of ``show``) -> message
    cond: nw.Expr | None = None
    rows: nw.LazyFrame | None = None
    severity: Severity = "error"
    show: str | None = None


def _examples(values: list[str]) -> str:
    shown = list(dict.fromkeys(v for v in values if v is not None))[:3]
    return f" (e.g. {', '.join(repr(v) for v in shown)})" if shown else ""


def _fixed(text: str) -> Callable[[list[str]], str]:
    return lambda values: text


def _with_examples(text: str) -> Callable[[list[str]], str]:
    return lambda values: text + _examples(values)


def validate_data_dir(data_dir: str | Path, *, params: CampaignParams | None = None,
                      timezone: str | None = None) -> list[Finding]:
    """Every finding about ``data_dir`` (errors and warnings), read in a private engine.

    ``timezone`` defaults to the params' timezone, else Asia/Shanghai. Raises
    :class:`~crm_experiments.errors.CrmError` if the directory does not exist.
    """
    tz = resolve_timezone(timezone, params)
    con = engine.connect()
    try:
        staged, findings = stage_directory(con, data_dir, timezone=tz, params=params)
        return findings + validate_tables(staged, params=params, timezone=tz)
    finally:
        con.disconnect()


def validate_tables(staged: dict[str, StagedTable], *, params: CampaignParams | None = None,
                    timezone: str = "Asia/Shanghai",
                    now: dt.datetime | None = None) -> list[Finding]:
    """Findings for tables staged by :func:`crm_experiments.io.staging.stage_directory`.

    ``now`` (naive, shop-local) is the limit of the future-date rule; default: the current time
    in ``timezone``.
    """
    if now is None:
        now = pd.Timestamp.now(tz=timezone).tz_localize(None).to_pydatetime()
    findings: list[Finding] = []
    for s in staged.values():
        findings += _validate_one(s, staged, params=params, now=now, timezone=timezone)
    return findings


def _validate_one(s: StagedTable, staged: dict[str, StagedTable], *,
                  params: CampaignParams | None, now: dt.datetime,
                  timezone: str) -> list[Finding]:
    t = s.table
    schema = TABLES[s.name]
    findings: list[Finding] = []
    columns = set(t.collect_schema().names())
    for col in schema.required:
        if col not in s.present:
            have = [c for c in columns if not c.startswith(("__crm_",))
                    and (c in s.extras or c in s.present)]
            near = [c for c in s.extras if c.strip().lower() == col]
            hint = f"; did you mean {near[0]!r}?" if near else ""
            findings.append(Finding(
                file=s.file, column=col, rule="missing_column",
                message=f"required column '{col}' is missing (the file has: "
                        f"{', '.join(sorted(have)) or 'no columns'}){hint}"))
    if s.name == "orders" and "paid_at" not in s.present:
        findings.append(Finding(
            file=s.file, column="paid_at", rule="missing_paid_at", severity="warning",
            message="no paid_at column: every order counts as unpaid, so there are no purchases"))

    checks = _row_checks(s, params=params, now=now, timezone=timezone)
    dup_checks = _duplicate_checks(s)
    aggs: dict[str, nw.Expr] = {"n": nw.len()}
    for i, chk in enumerate(checks):
        assert chk.cond is not None
        aggs[f"c{i}"] = count_true(chk.cond)
    for i, (col, _) in enumerate(dup_checks):
        # non-null values minus distinct non-null values (n_unique counts null as a value)
        aggs[f"d{i}"] = col.count() - col.n_unique() + col.is_null().any().cast(nw.Int64)
    # the leading-zero screens of the id columns in the same scan (the orders' two ids: two
    # scans of the largest table fewer)
    zero_cols = [c for c in _id_columns(s.name) if c in s.present]
    for i, col in enumerate(zero_cols):
        aggs[f"z{i}"] = nw.col(col).str.starts_with("0").any()
    counts = collect(t.select(**aggs)).iloc[0]
    for i, col in enumerate(zero_cols):
        value = counts[f"z{i}"]
        _LEADING_ZERO[(s.sql_name, col)] = bool(value) if not pd.isna(value) else False

    if int(counts["n"]) == 0:
        findings.append(Finding(
            file=s.file, rule="empty_file", severity="error" if s.name == "orders" else "warning",
            message="the file has no data rows" + (" (orders are required)"
                                                  if s.name == "orders" else "")))
        return findings
    for i, chk in enumerate(checks):
        n = int(counts[f"c{i}"])
        if n:
            findings.append(_finding(s, chk, t.filter(chk.cond), n))
    for i, (_, chk) in enumerate(dup_checks):
        if int(counts[f"d{i}"]):
            findings += _run_set_check(s, chk)
    for chk in _cross_checks(s, staged):
        findings += _run_set_check(s, chk)
    if s.name == "orders" and "created_at" in s.present:
        findings += _stray_dates(s, now)
    return findings


def _stray_dates(s: StagedTable, now: dt.datetime) -> list[Finding]:
    """The ``stray_date`` rule (see the module doc): one query for the orders per day, the
    gaps found in pandas (a few thousand days at most), a second query only for stray rows."""
    t = s.table
    created = nw.col("created_at")
    days = collect(t.filter(~created.is_null()).select(day=created.dt.date())
                   .group_by("day").agg(n=nw.len()).sort("day"))
    if len(days) < 2:
        return []
    day = pd.to_datetime(days["day"])
    n = days["n"].to_numpy()
    total = int(n.sum())
    gap = day.diff().dt.days.to_numpy()
    wide = [i for i in range(1, len(day)) if gap[i] > STRAY_GAP_DAYS]
    if not wide:
        return []
    findings: list[Finding] = []
    head, tail = wide[0], wide[-1]   # days [0, head) and [tail, end) are candidate strays
    for start, stop, at_end in ((0, head, False), (tail, len(day), True)):
        count = int(n[start:stop].sum())
        if count > STRAY_SHARE * total:
            continue
        lo = day.iloc[start].to_pydatetime()
        hi = day.iloc[stop - 1].to_pydatetime() + dt.timedelta(days=1)
        cond = in_window(created, lo, hi)
        rest = day.iloc[tail - 1] if at_end else day.iloc[head]
        future = at_end and hi - dt.timedelta(days=1) > now
        where = "after" if at_end else "before"
        text = (f"{count} order(s) of {total} are dated more than {STRAY_GAP_DAYS} days "
                f"{where} the rest of the orders ({'last' if at_end else 'first'} other order "
                f"day {rest:%Y-%m-%d}); they move the data's {'end' if at_end else 'start'}"
                + (" and lie in the future" if future else "")
                + ": remove or correct them")
        chk = _Check("stray_date", "created_at", cond=cond, show="created_at",
                     severity="error" if future else "warning",
                     message=_with_examples(text))
        findings.append(_finding(s, chk, t.filter(cond), count))
    return findings


def _finding(s: StagedTable, chk: _Check, bad: nw.LazyFrame, n: int) -> Finding:
    """Fetch the first offending rows (one top-N query) and describe them."""
    cols = [ROW] + ([chk.show] if chk.show and chk.show != ROW else [])
    first = collect(bad.select(*cols).sort(ROW).head(MAX_ROWS))
    values = [str(v) for v in first[chk.show]] if chk.show else []
    return Finding(file=s.file, rule=chk.rule, column=chk.column, severity=chk.severity,
                   rows=tuple(int(r) for r in first[ROW]), n_rows=n,
                   message=chk.message(values))


def _run_set_check(s: StagedTable, chk: _Check) -> list[Finding]:
    assert chk.rows is not None
    n = int(scalar(chk.rows.select(nw.len())))
    return [_finding(s, chk, chk.rows, n)] if n else []


def _row_checks(s: StagedTable, *, params: CampaignParams | None,
                now: dt.datetime, timezone: str) -> list[_Check]:
    """The rules that look at one row at a time (counted together in one aggregate)."""
    name, present = s.name, s.present
    schema = TABLES[name]
    checks: list[_Check] = []
    gaps, folds = dst_intervals(timezone, EARLIEST.year, now.year + 1)
    for col, kind in s.parsed.items():
        what = {"timestamp": "a date/time", "number": "a finite number",
                "id": "an id (a NaN or infinite number)", "text": "text",
                "integer": "a whole number"}.get(kind, kind)
        extra = col in s.extras
        checks.append(_Check(
            "unparseable", col, cond=~nw.col(BAD + col).is_null(), show=BAD + col,
            severity="warning" if extra else "error",
            message=_with_examples(f"value is not {what}" + (
                "; extra column, the value is read as null" if extra else ""))))
    for col in schema.required:
        if col in present:
            cond = nw.col(col).is_null()
            if col in s.parsed:
                cond = cond & nw.col(BAD + col).is_null()
            checks.append(_Check("required_null", col, cond=cond,
                                 message=_fixed(f"required column '{col}' is empty")))
    for col in NON_NEGATIVE.get(name, ()):
        if col in present:
            checks.append(_Check("negative_value", col, cond=nw.col(col) < 0, show=col,
                                 message=_with_examples(f"{col} is negative")))
            checks.append(_Check(
                "amount_too_large", col, cond=nw.col(col).abs() > MAX_MONEY, show=col,
                message=_with_examples(f"{col} is larger than {MAX_MONEY:.0e} in absolute value "
                                       "(a unit or parsing error?)")))
    if name == "orders":
        if {"refund_amount", "amount"} <= present:
            checks.append(_Check(
                "refund_exceeds_amount", "refund_amount", show="refund_amount",
                cond=nw.col("refund_amount") > nw.col("amount"),
                message=_with_examples("refund_amount is larger than the amount paid")))
        if {"paid_at", "created_at"} <= present:
            checks.append(_Check("paid_before_created", "paid_at",
                                 cond=_before(s, "paid_at", "created_at", folds),
                                 message=_fixed("paid_at is before created_at")))
        if {"shipped_at", "paid_at"} <= present:
            checks.append(_Check("shipped_before_paid", "shipped_at", severity="warning",
                                 cond=_before(s, "shipped_at", "paid_at", folds),
                                 message=_fixed("shipped_at is before paid_at")))
    now_lit = ts(now)
    earliest = ts(EARLIEST)
    for col in schema.columns:
        if col.kind == "timestamp" and col.name in present:
            checks.append(_Check(
                "future_date", col.name, cond=nw.col(col.name) > now_lit, severity="warning",
                show=col.name, message=_with_examples(
                    f"{col.name} is in the future (now is {now:%Y-%m-%d %H:%M})")))
            local = ~nw.col(col.name).is_null()
            if col.name in s.instants:
                local = local & nw.col(INSTANT + col.name).is_null()
            for rule, spans, text in (
                    ("local_time_gap", gaps, "does not exist in {tz} (the hour a daylight-saving "
                     "change skips): was it written in another timezone?"),
                    ("local_time_ambiguous", folds, "is in the hour a daylight-saving change "
                     "repeats in {tz}: it could be either of two instants (give times with a UTC "
                     "offset to keep them apart)")):
                if spans and col.name != "birthday":
                    checks.append(_Check(
                        rule, col.name, cond=local & _in_spans(nw.col(col.name), spans),
                        severity="warning", show=col.name, message=_with_examples(
                            f"{col.name} " + text.format(tz=timezone))))
            if col.name != "birthday":
                checks.append(_Check(
                    "ancient_date", col.name, cond=nw.col(col.name) < earliest, severity="warning",
                    show=col.name, message=_with_examples(f"{col.name} is before 2000-01-01")))
    if name == "surveys" and "score" in present:
        score, scale = nw.col("score"), nw.col("scale")
        wide = (score < 0) | (score > 10)
        if "scale" in present:
            bad = (nw.when(scale == "csat5").then((score < 1) | (score > 5))
                   .when(scale == "nps10").then(wide).otherwise(wide))
        else:
            bad = wide
        checks.append(_Check(
            "score_out_of_scale", "score", cond=bad, show="score",
            message=_with_examples("score is outside its scale (csat5: 1-5, nps10: 0-10)")))
    if name == "reviews":
        for col in DSR_COLUMNS:
            if col in present:
                checks.append(_Check(
                    "dsr_out_of_range", col, cond=(nw.col(col) < 1) | (nw.col(col) > 5), show=col,
                    message=_with_examples(f"{col} is outside 1-5")))
    for (table, col), allowed in ALLOWED.items():
        if table == name and col in present:
            checks.append(_Check(
                "unknown_value", col, show=col,
                cond=~nw.col(col).is_null() & ~nw.col(col).is_in(list(allowed)),
                message=_with_examples(f"{col} must be one of {', '.join(allowed)}")))
    if params is not None and name in ("assignments", "coupons") \
            and {"campaign_id", "arm"} <= present:
        arms = list(params.arm_names)
        checks.append(_Check(
            "unknown_arm", "arm", show="arm",
            cond=(nw.col("campaign_id") == params.campaign_id) & ~nw.col("arm").is_null()
            & ~nw.col("arm").is_in(arms),
            message=_with_examples(f"arm is not declared in the params of campaign "
                                   f"'{params.campaign_id}' (arms: {', '.join(arms)})")))
    return checks


def _in_spans(col: nw.Expr, spans: tuple[tuple[dt.datetime, dt.datetime], ...]) -> nw.Expr:
    """``col`` in one of the half-open ``[start, end)`` local-time intervals."""
    cond = nw.lit(False)
    for lo, hi in spans:
        cond = cond | in_window(col, lo, hi)
    return cond


def _before(s: StagedTable, a: str, b: str,
            folds: tuple[tuple[dt.datetime, dt.datetime], ...]) -> nw.Expr:
    """``a`` before ``b``: as instants where both columns have one, else as local times, and
    then not when both are in the same repeated (ambiguous) hour of a daylight-saving change."""
    ca, cb = nw.col(a), nw.col(b)
    local = ca < cb
    for lo, hi in folds:
        local = local & ~(in_window(ca, lo, hi) & in_window(cb, lo, hi))
    if {a, b} <= s.instants:
        ia, ib = nw.col(INSTANT + a), nw.col(INSTANT + b)
        return nw.when(~ia.is_null() & ~ib.is_null()).then(ia < ib).otherwise(local)
    return local


@functools.lru_cache(maxsize=32)
def dst_intervals(timezone: str, first_year: int, last_year: int
                  ) -> tuple[tuple[tuple[dt.datetime, dt.datetime], ...],
                             tuple[tuple[dt.datetime, dt.datetime], ...]]:
    """The shop-local times that do not exist (``gaps``) and that occur twice (``folds``) in
    ``timezone`` between ``first_year`` and ``last_year``, as naive ``[start, end)`` intervals.

    Transitions are found by comparing the UTC offset day by day, then in 15-minute steps.

    >>> gaps, folds = dst_intervals("America/New_York", 2025, 2025)
    >>> gaps[0][0].isoformat(), gaps[0][1].isoformat()
    ('2025-03-09T02:00:00', '2025-03-09T03:00:00')
    >>> folds[0][0].isoformat(), folds[0][1].isoformat()
    ('2025-11-02T01:00:00', '2025-11-02T02:00:00')
    >>> dst_intervals("Asia/Shanghai", 2000, 2030)
    ((), ())
    """
    zone = zoneinfo.ZoneInfo(timezone)
    utc = dt.UTC
    gaps: list[tuple[dt.datetime, dt.datetime]] = []
    folds: list[tuple[dt.datetime, dt.datetime]] = []
    day, step = dt.timedelta(days=1), dt.timedelta(minutes=15)
    t = dt.datetime(first_year, 1, 1, tzinfo=utc)
    end = dt.datetime(last_year + 1, 1, 1, tzinfo=utc)
    offset = t.astimezone(zone).utcoffset()
    while t < end:
        nxt = t + day
        after = nxt.astimezone(zone).utcoffset()
        if after != offset:
            u = t
            while (u + step).astimezone(zone).utcoffset() == offset:
                u += step
            u += step  # the first instant with the new offset
            assert offset is not None and after is not None
            naive = u.replace(tzinfo=None)
            if after > offset:
                gaps.append((naive + offset, naive + after))
            else:
                folds.append((naive + after, naive + offset))
            offset = after
        t = nxt
    return tuple(gaps), tuple(folds)


def _duplicate_checks(s: StagedTable) -> list[tuple[nw.Expr, _Check]]:
    """Rules about repeated rows, each with a cheap count (> 0 when it may be broken) and the
    check that finds the later duplicates (a window query, run only when needed). A later row
    is one whose row number is above the smallest of its group (row numbers are unique)."""
    t, present = s.table, s.present
    out: list[tuple[nw.Expr, _Check]] = []
    row = nw.col(ROW)
    key = {"orders": "order_id", "coupons": "coupon_id", "customers": "customer_id"}.get(s.name)
    if key and key in present:
        k = t.filter(~nw.col(key).is_null()).with_columns(_first=row.min().over(key))
        out.append((nw.col(key), _Check(
            "duplicate_key", key, rows=k.filter(row > nw.col("_first")), show=key,
            message=_with_examples(f"{key} appears more than once; these are the repeats"))))
    if s.name == "assignments" and {"campaign_id", "customer_id", "arm"} <= present:
        group = ["campaign_id", "customer_id"]
        a = t.filter(~nw.col("campaign_id").is_null() & ~nw.col("customer_id").is_null())
        a = a.with_columns(_first=row.min().over(*group), _lo=nw.col("arm").min().over(*group),
                           _hi=nw.col("arm").max().over(*group))
        pair = nw.concat_str([nw.col("campaign_id"), nw.lit("\x1f"), nw.col("customer_id")])
        out.append((pair, _Check(
            "multiple_arms", "arm",
            rows=a.filter((row > nw.col("_first")) & (nw.col("_lo") != nw.col("_hi"))),
            show="customer_id",
            message=_with_examples("customer is assigned to more than one arm of the same "
                                   "campaign; these are the later rows"))))
    return out


def _has_leading_zero(s: StagedTable, col: str) -> bool:
    """Whether some value of ``col`` starts with ``0`` (cached per staged table)."""
    key = (s.sql_name, col)
    if key not in _LEADING_ZERO:
        value = scalar(s.table.select(nw.col(col).str.starts_with("0").any()))
        _LEADING_ZERO[key] = bool(value) if value is not None and not pd.isna(value) else False
    return _LEADING_ZERO[key]


_LEADING_ZERO: dict[tuple[str, str], bool] = {}

#: The id columns the ``id_leading_zeros`` rule compares: table -> (column, other table, its
#: column).
_ID_PAIRS: dict[str, list[tuple[str, str, str]]] = {
    "orders": [("customer_id", "customers", "customer_id")],
    "assignments": [("customer_id", "orders", "customer_id")],
    "coupons": [("customer_id", "orders", "customer_id"),
                ("redeemed_order_id", "orders", "order_id")],
    "contacts": [("customer_id", "orders", "customer_id")],
    "reviews": [("order_id", "orders", "order_id")],
}


def _id_columns(name: str) -> list[str]:
    """The columns of table ``name`` that :func:`_has_leading_zero` may be asked about."""
    cols = [col for col, _, _ in _ID_PAIRS.get(name, ())]
    cols += [other_col for pairs in _ID_PAIRS.values() for _, other, other_col in pairs
             if other == name]
    return list(dict.fromkeys(cols))


def _cross_checks(s: StagedTable, staged: dict[str, StagedTable]) -> list[_Check]:
    """Rules across tables (one anti-join each)."""
    out: list[_Check] = []
    customers = staged.get("customers")
    if s.name == "orders" and customers is not None and "customer_id" in customers.present \
            and "customer_id" in s.present:
        known = customers.table.select(_cid=nw.col("customer_id"))
        rows = s.table.filter(~nw.col("customer_id").is_null()).join(
            known, left_on="customer_id", right_on="_cid", how="anti")
        out.append(_Check(
            "unknown_customer", "customer_id", rows=rows, severity="warning", show="customer_id",
            message=_with_examples(f"customer_id is not in {customers.file}")))
    for col, other_name, other_col in _ID_PAIRS.get(s.name, ()):
        other = staged.get(other_name)
        if other is None or col not in s.present or other_col not in other.present:
            continue
        if not _has_leading_zero(s, col) and not _has_leading_zero(other, other_col):
            continue  # the common case: one cheap scan per column instead of the joins
        known = other.table.select(_id=nw.col(other_col)).filter(
            ~nw.col("_id").is_null()).unique()
        stripped = known.select(_z=nw.col("_id").str.replace_all("^0+", "")).unique()
        missing = s.table.filter(~nw.col(col).is_null()).join(
            known, left_on=col, right_on="_id", how="anti")
        rows = missing.with_columns(_z=nw.col(col).str.replace_all("^0+", "")).join(
            stripped, on="_z", how="semi")
        out.append(_Check(
            "id_leading_zeros", col, rows=rows, show=col, message=_with_examples(
                f"{col} matches {other_col} of {other.file} only without leading zeros (one "
                "file stored the ids as numbers?); export the ids as text in both files")))
    return out
