"""The t interval of a mean from n, sum and sum of squares, against scipy and statsmodels."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from crm_experiments.stats.means import t_interval


def sums(values) -> dict:
    x = np.asarray(values, dtype=float)
    return {"n": len(x), "sum": x.sum(), "sumsq": (x * x).sum()}


def test_t_interval_hand_derived():
    # DSR item scores 5, 2, 4; logistics 4, 4, 4 (no spread); csat5 scores 5, 3, 4
    item, logistics, csat = [5.0, 2.0, 4.0], [4.0, 4.0, 4.0], [5.0, 3.0, 4.0]
    got = t_interval(pd.DataFrame([sums(item), sums(logistics), sums(csat)]),
                     estimate="value")
    mean, sem = sum(item) / 3, stats.sem(item)
    half = stats.t.ppf(0.975, 2) * sem
    assert got.loc[0, "value"] == pytest.approx(mean)
    assert got.loc[0, "ci_low"] == pytest.approx(mean - half)
    assert (got.loc[0, "ci_low"], got.loc[0, "ci_high"]) == pytest.approx(
        DescrStatsW(item).tconfint_mean())
    assert got.loc[1, "ci_high"] == pytest.approx(4.0)  # no spread
    assert got.loc[1, "ci_low"] == pytest.approx(4.0)
    assert got.loc[2, "value"] == pytest.approx(4.0)


def test_t_interval_matches_statsmodels_on_random_groups():
    rng = np.random.default_rng(3)
    groups = [rng.integers(1, 6, size).astype(float) for size in (2, 17, 250)]
    got = t_interval(pd.DataFrame([sums(g) for g in groups]), alpha=0.1)
    for g, row in zip(groups, got.itertuples(), strict=True):
        assert row.mean == pytest.approx(g.mean())
        assert (row.ci_low, row.ci_high) == pytest.approx(
            DescrStatsW(g).tconfint_mean(alpha=0.1))


def test_t_interval_of_one_or_no_value():
    got = t_interval(pd.DataFrame([sums([4.0]), sums([])]))
    assert got.loc[0, "mean"] == 4.0
    assert math.isnan(got.loc[0, "ci_low"]) and math.isnan(got.loc[0, "ci_high"])
    assert got.loc[1, ["mean", "ci_low", "ci_high"]].isna().all()
