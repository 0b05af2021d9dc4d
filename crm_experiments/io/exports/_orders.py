"""Checks shared by the export adapters, on orders already mapped to canonical columns.

A mapped frame has the canonical order columns (see :mod:`crm_experiments.io.schema`) plus
``buyer`` (the raw nick / email, dropped after pseudonymisation); its index is the data row
number in the source file. ``source`` maps canonical column names to the file's header names,
so that messages name the column the user sees.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from crm_experiments.io.exports._parse import Problems, with_examples

ORDER_COLUMNS = ("order_id", "customer_id", "created_at", "paid_at", "amount", "discount",
                 "coupon_id", "refund_amount", "shipped_at", "province")


@dataclass
class MappedFile:
    """One export file mapped to canonical orders (still holding the raw buyer id)."""

    file: str
    encoding: str
    orders: pd.DataFrame          # canonical columns except customer_id, plus ``buyer``
    dropped_columns: tuple[str, ...]
    #: The file's one currency when the export names it (an import must use one currency).
    currency: str | None = None


def check_orders(problems: Problems, file: str, orders: pd.DataFrame, source: dict[str, str],
                 now: dt.datetime, instants: dict[str, pd.Series] | None = None,
                 timezone: str | None = None) -> None:
    """Rules every import applies after mapping (rows named by the source's data rows).

    ``instants`` (naive UTC, NaT where the export gave local time) order paid_at and
    created_at where both are known: local times across a daylight-saving change do not.
    With ``instants`` and ``timezone``, local times (no offset) that the daylight-saving
    changes of ``timezone`` skip or repeat are warnings (rules of the data contract)."""
    from crm_experiments.io.validate import EARLIEST, MAX_MONEY, dst_intervals

    for col in ("amount", "discount", "refund_amount"):
        if col in source:
            problems.mask(file, "negative_value", orders[col] < 0,
                          with_examples(f"{source[col]} is negative"), column=source[col],
                          examples=orders[col])
            problems.mask(file, "amount_too_large", orders[col].abs() > MAX_MONEY,
                          with_examples(f"{source[col]} is larger than {MAX_MONEY:.0e} "
                                        "(a unit or parsing error?)"), column=source[col],
                          examples=orders[col])
    if "refund_amount" in source:
        problems.mask(file, "refund_exceeds_amount",
                      (orders.amount >= 0) & (orders.refund_amount > orders.amount + 1e-9),
                      with_examples(f"{source['refund_amount']} is larger than the amount paid "
                                    f"({source['amount']})"),
                      column=source["refund_amount"], examples=orders.refund_amount)
    now_ts = pd.Timestamp(now)
    for col in ("created_at", "paid_at", "shipped_at"):
        if col in source:
            problems.mask(file, "date_after_export", orders[col] > now_ts, with_examples(
                f"{source[col]} is after the export (now is {now:%Y-%m-%d %H:%M} in the "
                f"shop's timezone)"), column=source[col], examples=orders[col].astype(str))
    if "paid_at" in source:
        before = orders.paid_at < orders.created_at
        if instants is not None and {"paid_at", "created_at"} <= instants.keys():
            paid, created = instants["paid_at"], instants["created_at"]
            both = paid.notna() & created.notna()
            before = (before & ~both) | (both & (paid < created))
        if timezone is not None:
            _flag_local_times(problems, file, orders, source, instants, timezone,
                              dst_intervals(timezone, EARLIEST.year, now.year + 1))
        problems.mask(file, "paid_before_created", before,
                      f"{source['paid_at']} is before {source['created_at']}",
                      column=source["paid_at"])
    ids = orders.order_id
    dup = ids.notna() & ids.duplicated(keep="first")
    problems.mask(file, "duplicate_key", dup, with_examples(
        f"{source['order_id']} appears more than once in this file; these are the repeats"),
        column=source["order_id"], examples=ids)


def _flag_local_times(problems: Problems, file: str, orders: pd.DataFrame,
                      source: dict[str, str], instants: dict[str, pd.Series], timezone: str,
                      spans: tuple) -> None:
    """``local_time_gap`` / ``local_time_ambiguous`` warnings for times given without offset."""
    gaps, folds = spans
    for col in ("created_at", "paid_at", "shipped_at"):
        if col not in source or col not in instants:
            continue
        local = orders[col].notna() & instants[col].isna()
        for rule, intervals, text in (
                ("local_time_gap", gaps, "does not exist in {tz} (the hour a daylight-saving "
                 "change skips): was it written in another timezone?"),
                ("local_time_ambiguous", folds, "is in the hour a daylight-saving change repeats "
                 "in {tz}: it could be either of two instants")):
            inside = pd.Series(False, index=orders.index)
            for lo, hi in intervals:
                inside |= (orders[col] >= pd.Timestamp(lo)) & (orders[col] < pd.Timestamp(hi))
            problems.mask(file, rule, local & inside, with_examples(
                f"{source[col]} " + text.format(tz=timezone)), column=source[col],
                severity="warning", examples=orders[col].astype(str))
