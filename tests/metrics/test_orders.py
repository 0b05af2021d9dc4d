"""Order-level helpers: money sums that do not depend on the engine's thread schedule."""

import narwhals as nw
import numpy as np
import pandas as pd
import pytest

from crm_experiments.io import engine
from crm_experiments.io.engine import collect, scalar
from crm_experiments.metrics.orders import exact_sum


def test_exact_sum_is_the_decimal_sum():
    con = engine.connect(threads=1)
    t = con.from_pandas(pd.DataFrame({"g": ["a"] * 10 + ["b"], "x": [0.1] * 10 + [2.5]}))
    out = collect(t.group_by("g").agg(exact_sum("x").alias("s"))).set_index("g")["s"]
    assert sum([0.1] * 10) != 1.0  # the float sum is off in its last bit
    assert out["a"] == 1.0 and out["b"] == 2.5
    assert out.dtype == "float64"


def test_exact_sum_does_not_depend_on_the_order_of_the_rows():
    rng = np.random.default_rng(7)
    x = rng.lognormal(3, 1.5, 200_000) * rng.uniform(0.3, 1.0, 200_000)
    con = engine.connect(threads=4)
    sums = []
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(x))
        t = con.from_pandas(pd.DataFrame({"x": x[order]}))
        sums.append(scalar(t.select(exact_sum(nw.col("x")))))
    assert sums[0] == sums[1] == sums[2]
    assert sums[0] == pytest.approx(float(np.sum(x)), rel=1e-12, abs=len(x) * 5e-7)


def test_epoch_days_and_seconds_from_the_calendar_fields():
    """Day numbers of dates and timestamps (leap years, century rules, before 1970) and the
    seconds built on them equal pandas' own arithmetic."""
    from crm_experiments.metrics.orders import epoch_days, epoch_seconds

    at = pd.to_datetime(["1969-12-31 23:59:59.5", "1970-01-01", "1900-03-01 12:00",
                         "2000-02-29 06:30:15.25", "2024-12-31 23:00", "2100-03-01"],
                        format="ISO8601")
    con = engine.connect(threads=1)
    t = con.from_pandas(pd.DataFrame({"at": at, "day": at.normalize().date}))
    out = collect(t.select(d=epoch_days("at"), dd=epoch_days("day"), s=epoch_seconds("at")))
    expected = (at.normalize() - pd.Timestamp(0)).days
    assert list(out["d"]) == list(expected) == list(out["dd"])
    assert list(out["s"]) == list((at - pd.Timestamp(0)) / pd.Timedelta(microseconds=1) / 1e6)
