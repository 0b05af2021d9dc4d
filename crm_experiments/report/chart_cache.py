"""Charts drawn once per run: the notebook's sections and the runner's pages share them.

A run draws each chart twice: the evaluation notebook displays the report's sections (from
the live result) and the runner renders the page (from the stored result), and a chart is a
function of its tables and options only (same tables, same PNG bytes: :mod:`.charts`). While
:data:`CHART_CACHE_ENV` names a folder (the runner sets it to one in the run's scratch folder,
for the run only, and passes it to the kernel), each chart function decorated with
:func:`cached_chart` keeps its result there under the SHA-256 of its name and exact inputs
(every column's name, dtype and values byte for byte, the index, every option), so the second
drawing is a file read; any difference in the inputs (a dtype after the Parquet round trip, a
value) is a different key and the chart is drawn again. Without the variable nothing is kept.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from crm_experiments.io.atomic import atomic_path

#: Environment variable naming the folder of the current run's charts.
CHART_CACHE_ENV = "CRM_EXP_CHART_CACHE"


class _Unkeyable(Exception):
    """An input this cache does not know how to key: the chart is drawn, not cached."""


def _feed(h, value) -> None:
    """Add ``value`` to the hash ``h`` with its type, so that equal keys mean equal inputs."""
    if isinstance(value, pd.DataFrame):
        h.update(b"frame")
        _feed(h, list(map(str, value.columns)))
        _feed(h, value.index.tolist())
        _feed(h, [str(i) for i in value.index.names])
        for col in value.columns:
            _feed(h, value[col])
    elif isinstance(value, pd.Series):
        h.update(b"series" + str(value.dtype).encode())
        if value.dtype.kind in "biufmM" and not isinstance(value.dtype, pd.api.extensions.
                                                           ExtensionDtype):
            h.update(np.ascontiguousarray(value.to_numpy()).tobytes())
        else:
            _feed(h, value.tolist())
    elif isinstance(value, dict):
        h.update(b"dict")
        _feed(h, list(value.items()))
    elif isinstance(value, list | tuple):
        h.update(f"seq{len(value)}".encode())
        for item in value:
            _feed(h, item)
    elif value is None or isinstance(value, str | int | float | bool | np.generic
                                      | dt.date | pd.Timestamp | pd.Timedelta):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise _Unkeyable(type(value).__name__)


def chart_key(name: str, args: tuple, kwargs: dict) -> str | None:
    """SHA-256 of a chart's name and inputs; None when an input cannot be keyed."""
    h = hashlib.sha256(name.encode())
    try:
        _feed(h, list(args))
        _feed(h, sorted(kwargs.items()))
    except _Unkeyable:
        return None
    return h.hexdigest()


def cached_chart(draw: Callable[..., str]) -> Callable[..., str]:
    """``draw`` (a chart function returning a data URI), kept in the run's chart folder."""
    @functools.wraps(draw)
    def chart(*args, **kwargs) -> str:
        folder = os.environ.get(CHART_CACHE_ENV)
        key = chart_key(f"{draw.__module__}.{draw.__qualname__}", args, kwargs) if folder \
            else None
        if key is None:
            return draw(*args, **kwargs)
        path = Path(folder) / f"{key}.uri"
        try:
            return path.read_text(encoding="ascii")
        except OSError:
            pass
        uri = draw(*args, **kwargs)
        try:  # whole or not at all: another process may read it at once
            with atomic_path(path) as tmp:
                tmp.write_text(uri, encoding="ascii")
        except OSError:
            pass  # a cache: the chart is there anyway
        return uri
    return chart
