import numpy as np
import pandas as pd
import pytest

from crm_experiments.io.engine import connect
from crm_experiments.stats.aggr import MomentStats, moments_from_frame


@pytest.fixture
def frame():
    rng = np.random.default_rng(7)
    n = 500
    return pd.DataFrame({
        "arm": rng.choice(["control", "coupon_a"], size=n),
        "y": rng.gamma(2.0, 50.0, size=n) * (rng.random(n) < 0.3),
        "x": rng.gamma(2.0, 40.0, size=n),
        "orders": rng.poisson(0.6, size=n),
    })


def test_properties_match_numpy(frame):
    s = MomentStats.from_arrays(frame.y, frame.x, frame.orders)
    assert s.n == len(frame)
    assert s.mean_y == pytest.approx(frame.y.mean())
    assert s.var_y == pytest.approx(frame.y.var(ddof=1))
    assert s.var_x == pytest.approx(frame.x.var(ddof=1))
    assert s.cov_xy == pytest.approx(np.cov(frame.x, frame.y, ddof=1)[0, 1])
    assert s.var_d == pytest.approx(frame.orders.var(ddof=1))
    assert s.cov_yd == pytest.approx(np.cov(frame.y, frame.orders, ddof=1)[0, 1])


def test_strata_add_up(frame):
    whole = MomentStats.from_arrays(frame.y, frame.x)
    parts = [MomentStats.from_arrays(g.y, g.x) for _, g in frame.groupby(frame.index % 3)]
    total = parts[0] + parts[1] + parts[2]
    assert total.n == whole.n
    assert total.var_y == pytest.approx(whole.var_y)
    assert total.cov_xy == pytest.approx(whole.cov_xy)
    assert total.sum_d is None


def test_missing_sums_raise():
    with pytest.raises(ValueError, match="covariate"):
        _ = MomentStats.from_arrays([1.0, 2.0]).var_x


def test_row_axis_gives_one_set_per_row():
    y = np.arange(12.0).reshape(3, 4)
    s = MomentStats.from_arrays(y, axis=1)
    np.testing.assert_allclose(s.mean_y, y.mean(axis=1))
    np.testing.assert_allclose(s.var_y, y.var(axis=1, ddof=1))


def test_engine_path_equals_row_path(frame):
    con = connect(threads=1)
    t = con.from_pandas(frame)
    got = moments_from_frame(t, "arm", "y", x="x", den="orders")
    assert set(got) == {"control", "coupon_a"}
    for arm, g in frame.groupby("arm"):
        want = MomentStats.from_arrays(g.y, g.x, g.orders)
        for field in ("n", "sum_y", "sum_yy", "sum_x", "sum_xx", "sum_xy",
                      "sum_d", "sum_dd", "sum_yd"):
            assert getattr(got[arm], field) == pytest.approx(getattr(want, field), rel=1e-12)


def test_engine_path_without_optional_columns(frame):
    con = connect(threads=1)
    got = moments_from_frame(con.from_pandas(frame), "arm", "y")
    assert got["control"].sum_x is None and got["control"].sum_d is None
