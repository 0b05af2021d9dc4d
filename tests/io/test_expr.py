"""Expression building blocks shared by the data checks and the metrics: one definition."""

import datetime as dt

import pandas as pd

from crm_experiments.io import engine, expr, validate
from crm_experiments.io.engine import collect
from crm_experiments.metrics import orders


def test_window_is_half_open_and_counts_skip_nulls():
    con = engine.connect(threads=1)
    at = pd.to_datetime(["2026-11-10 23:59:59", "2026-11-11", "2026-11-11 12:00",
                         "2026-11-12", None], format="ISO8601")
    t = con.from_pandas(pd.DataFrame({"at": at}))
    inside = expr.in_window("at", dt.date(2026, 11, 11), "2026-11-12")
    out = collect(t.select(n=expr.count_true(inside)))
    assert int(out["n"].iloc[0]) == 2
    assert out["n"].dtype == "int64"


def test_the_checks_and_the_metrics_use_the_same_functions():
    for name in ("ts", "in_window", "count_true"):
        assert getattr(orders, name) is getattr(expr, name)
        assert getattr(validate, name) is getattr(expr, name)
    assert not hasattr(validate, "_ts") and not hasattr(validate, "_count_true")
