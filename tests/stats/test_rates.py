"""Shares from counts against statsmodels and scipy, computed here one row at a time."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats import proportion as smp
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from crm_experiments.stats.rates import nps_interval, share_difference, wilson_interval

# (n, k) of the hand-built metric tests: cohorts (sale 30/60/90, ordinary 30/60/90),
# reactivation (contacted and holdout, with and without filters), reminders, refunds and
# review polarity (satisfaction)
PAIRS = [(6, 2), (6, 4), (4, 2), (3, 1), (3, 2), (1, 1), (2, 1), (1, 0), (4, 1), (2, 2),
         (5, 3), (8, 2), (3, 0)]


def test_wilson_matches_statsmodels():
    frame = pd.DataFrame(PAIRS, columns=["n", "k"], index=[f"g{i}" for i in range(len(PAIRS))])
    got = wilson_interval(frame, alpha=0.05)
    assert list(got.index) == list(frame.index)
    assert list(got.columns) == ["n", "k", "rate", "ci_low", "ci_high"]
    for (n, k), row in zip(PAIRS, got.itertuples(), strict=True):
        assert row.rate == pytest.approx(k / n)
        assert (row.ci_low, row.ci_high) == pytest.approx(
            proportion_confint(k, n, method="wilson"))


def test_wilson_names_alpha_and_empty_groups():
    frame = pd.DataFrame({"bought": [1, 0], "customers": [3, 0]})
    got = wilson_interval(frame, "bought", "customers", alpha=0.1, estimate="wake_up")
    assert got.loc[0, "wake_up"] == pytest.approx(1 / 3)
    assert (got.loc[0, "ci_low"], got.loc[0, "ci_high"]) == pytest.approx(
        proportion_confint(1, 3, alpha=0.1, method="wilson"))
    assert got.loc[1, ["wake_up", "ci_low", "ci_high"]].isna().all()
    assert "wake_up" not in frame  # the input is left as it was


def test_share_difference_newcombe_and_agresti_caffo():
    # cohorts at 60 days (sale 4/6, ordinary 1/3); reminders (reminded 3/5, not 2/3);
    # the 90-day cohorts before any follow-up is complete (empty sale group)
    rows = [(4, 6, 1, 3), (3, 5, 2, 3), (0, 0, 2, 3)]
    frame = pd.DataFrame(rows, columns=["k1", "n1", "k2", "n2"])
    got = share_difference(frame, "k1", "n1", "k2", "n2")
    for (k1, n1, k2, n2), row in zip(rows[:2], got.iloc[:2].itertuples(), strict=True):
        assert row.estimate == pytest.approx(k1 / n1 - k2 / n2)
        lo, hi = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
        assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi))
        test = smp.test_proportions_2indep(k1, n1, k2, n2, method="agresti-caffo",
                                          compare="diff")
        assert row.p_value == pytest.approx(test.pvalue)
        assert 0 < row.p_value <= 1
    assert got.loc[2, ["estimate", "ci_low", "ci_high", "p_value"]].isna().all()


def test_share_difference_stays_finite_and_quiet_at_zero_shares():
    frame = pd.DataFrame({"k1": [0, 5], "n1": [5, 5], "k2": [0, 0], "n2": [7, 4]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = share_difference(frame, "k1", "n1", "k2", "n2", alpha=0.1)
    assert np.isfinite(got[["estimate", "ci_low", "ci_high", "p_value"]].to_numpy()).all()
    lo, hi = confint_proportions_2indep(5, 5, 0, 4, method="newcomb", compare="diff",
                                        alpha=0.1)
    assert (got.loc[1, "ci_low"], got.loc[1, "ci_high"]) == pytest.approx((lo, hi))


def test_nps_interval_by_hand():
    # nps10 answers 10, 9, 2 (two promoters, one detractor); a group without answers
    frame = pd.DataFrame({"promoters": [2, 0], "detractors": [1, 0], "n": [3, 0]})
    got = nps_interval(frame, estimate="value")
    p, d = 2 / 3, 1 / 3
    se = math.sqrt((p + d - (p - d) ** 2) / 3)
    z = stats.norm.ppf(0.975)
    assert got.loc[0, "value"] == pytest.approx(100 * (2 / 3 - 1 / 3))
    assert (got.loc[0, "ci_low"], got.loc[0, "ci_high"]) == pytest.approx(
        (100 * (p - d - z * se), 100 * (p - d + z * se)))
    assert math.isnan(got.loc[1, "value"])
