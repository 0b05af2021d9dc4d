"""Narwhals expression building blocks for every layer that filters or counts in the engine:
time literals, time windows, counts of rows where a condition holds.

They sit in ``io`` so that the data checks (:mod:`.validate`) use the same ones as the
metrics (:mod:`crm_experiments.metrics.orders` re-exports them).
"""

from __future__ import annotations

import datetime as dt

import narwhals as nw
import pandas as pd

TimeLike = str | dt.date | dt.datetime | pd.Timestamp


def ts(value: TimeLike) -> nw.Expr:
    """A naive timestamp literal (shop-local time), microseconds."""
    return nw.lit(pd.Timestamp(value).to_pydatetime(), dtype=nw.Datetime("us"))


def in_window(column: str | nw.Expr, start: TimeLike, end: TimeLike) -> nw.Expr:
    """``start <= column < end`` (end exclusive)."""
    c = nw.col(column) if isinstance(column, str) else column
    return (c >= ts(start)) & (c < ts(end))


def count_true(condition: nw.Expr) -> nw.Expr:
    """Number of rows where ``condition`` holds (null counts as not), as int64 (an
    aggregation)."""
    return condition.cast(nw.Int64).sum().cast(nw.Int64)
