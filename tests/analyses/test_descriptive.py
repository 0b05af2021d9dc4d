"""The descriptive tables end to end on the hand-built shops of tests/metrics: the counts of the
metrics with the intervals of stats, in the layout the evaluation stores."""

import math

import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from crm_experiments.analyses.descriptive import (
    SATISFACTION_COLUMNS,
    cohort_repurchase,
    reactivation_rates,
    reminder_recovery,
    satisfaction,
)
from crm_experiments.io.engine import connect
from crm_experiments.metrics.cohorts import default_comparison_window
from tests.metrics import test_cohorts as cohorts_shop
from tests.metrics import test_reactivation as reactivation_shop
from tests.metrics import test_reminders as reminders_shop
from tests.metrics.conftest import orders_frame
from tests.metrics.test_satisfaction import REVIEWS, SURVEYS


@pytest.fixture
def con():
    return connect(threads=1)


@pytest.fixture
def sat_tables(con):
    return {"orders": con.from_pandas(orders_frame()),
            "reviews": con.from_pandas(REVIEWS),
            "surveys": con.from_pandas(SURVEYS)}


def test_satisfaction_hand_derived(sat_tables):
    s = satisfaction(sat_tables, "2025-08-01", "2025-11-01")
    assert list(s.columns) == SATISFACTION_COLUMNS
    s = s.set_index("metric")
    # reviews in window: O1 (pos), O2 (neg), O4 (neutral)
    assert s.loc["positive_rate", "value"] == pytest.approx(1 / 3)
    assert s.loc["negative_rate", "value"] == pytest.approx(1 / 3)
    item = [5.0, 2.0, 4.0]
    mean, sem = sum(item) / 3, stats.sem(item)
    half = stats.t.ppf(0.975, 2) * sem
    assert s.loc["dsr_item", "value"] == pytest.approx(mean)
    assert s.loc["dsr_item", "ci_low"] == pytest.approx(mean - half)
    assert s.loc["dsr_logistics", "ci_high"] == pytest.approx(4.0)  # no spread
    assert s.loc["csat", "value"] == pytest.approx(2 / 3)
    assert s.loc["csat_mean", "value"] == pytest.approx(4.0)
    assert s.loc["nps", "value"] == pytest.approx(100 * (2 / 3 - 1 / 3))
    # refunds: paid orders created Aug-Oct: A, B, B, C, D, D, J (refunded), L (refunded)
    assert s.loc["refund_rate", "value"] == pytest.approx(2 / 8)
    assert s.loc["refund_rate", "n"] == 8
    assert (s.loc["refund_rate", "ci_low"], s.loc["refund_rate", "ci_high"]) == pytest.approx(
        proportion_confint(2, 8, method="wilson"))


def test_satisfaction_by_group(sat_tables, con):
    groups = con.from_pandas(pd.DataFrame({"customer_id": ["B", "C"],
                                                 "group": ["x", "y"]}))
    s = satisfaction(sat_tables, "2025-08-01", "2025-11-01", groups=groups)
    pos = s[s.metric == "positive_rate"].set_index("group")["value"]
    assert pos["x"] == pytest.approx(0.5) and pos["y"] == 0.0
    assert math.isnan(s[(s.metric == "nps") & (s.group == "x")]["value"].iloc[0])


def test_cohort_table_with_newcombe_difference(con):
    shop = con.from_pandas(orders_frame(cohorts_shop.ROWS))
    sale, as_of = cohorts_shop.SALE, cohorts_shop.AS_OF
    t = cohort_repurchase(shop, sale, default_comparison_window(*sale), as_of=as_of)
    assert list(t.columns) == ["cohort", "horizon_days", "acquired", "eligible", "repurchased",
                               "rate", "ci_low", "ci_high", "p_value"]
    assert set(t["cohort"]) == {"sale", "ordinary", "sale - ordinary"}
    rates = t[t.cohort != "sale - ordinary"].set_index(["cohort", "horizon_days"])
    for key, (n, k) in cohorts_shop.EXPECTED.items():
        row = rates.loc[key]
        assert row.rate == pytest.approx(k / n)
        lo, hi = proportion_confint(k, n, method="wilson")
        assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi))
    d = t[t.cohort == "sale - ordinary"].set_index("horizon_days").loc[60]
    assert d.rate == pytest.approx(4 / 6 - 1 / 3)
    lo, hi = confint_proportions_2indep(4, 6, 1, 3, method="newcomb", compare="diff")
    assert (d.ci_low, d.ci_high) == pytest.approx((lo, hi))
    assert 0 < d.p_value <= 1


def test_cohort_table_before_the_follow_up_is_complete(con):
    shop = con.from_pandas(orders_frame(cohorts_shop.ROWS))
    sale = cohorts_shop.SALE
    t = cohort_repurchase(shop, sale, default_comparison_window(*sale), as_of="2025-12-05")
    t = t.set_index(["cohort", "horizon_days"])
    assert t.loc[("sale", 90), "eligible"] == 0
    assert pd.isna(t.loc[("sale", 90), "rate"])
    assert pd.isna(t.loc[("sale - ordinary", 90), "rate"])


def test_reactivation_rates_with_wilson_intervals(con):
    s = reactivation_shop
    orders, contacts, assignments = s.make_tables(con)
    r = reactivation_rates(orders, contacts, s.SALE_START, s.SALE_END,
                           assignments=assignments, campaign_id="c1")
    assert list(r.columns) == ["rate_name", "customers", "bought", "rate", "ci_low", "ci_high",
                               "holdout_contacted"]
    # contacted sleeping 1/3, contacted lost 1/1, holdout sleeping 1/2, holdout lost 0/1
    for key, (n, k) in {("contacted", "sleeping"): (3, 1), ("contacted", "lost"): (1, 1),
                        ("holdout", "sleeping"): (2, 1), ("holdout", "lost"): (1, 0)}.items():
        row = r.loc[key]
        assert (row.customers, row.bought) == (n, k)
        assert row.rate == pytest.approx(k / n)
        assert (row.ci_low, row.ci_high) == pytest.approx(
            proportion_confint(k, n, method="wilson"))


@pytest.fixture
def reminder_tables(con):
    return reminders_shop.make_tables(con)


def test_recovery_rates_hand_derived(reminder_tables):
    r = reminder_recovery(*reminder_tables, reminders_shop.START, reminders_shop.END)
    # reminded R1 R2 R10 R11 R12 -> 3/5; not reminded R3 R5 R7 -> 2/3
    for g, (n, k) in {"reminded": (5, 3), "not_reminded": (3, 2)}.items():
        row = r.groups.loc[g]
        assert (row.orders, row.recovered) == (n, k)
        assert row.recovery_rate == pytest.approx(k / n)
        assert (row.ci_low, row.ci_high) == pytest.approx(
            proportion_confint(k, n, method="wilson"))
    assert r.difference["estimate"] == pytest.approx(3 / 5 - 2 / 3)
    lo, hi = confint_proportions_2indep(3, 5, 2, 3, method="newcomb", compare="diff")
    assert (r.difference["ci_low"], r.difference["ci_high"]) == pytest.approx((lo, hi))
    assert r.label == "observational" and r.causal is False and "Observational" in r.warning
    frame = r.to_frame()
    assert list(frame["group"]) == ["reminded", "not_reminded", "reminded - not_reminded"]
    assert set(frame["label"]) == {"observational"}


def test_reminders_randomised_label(reminder_tables):
    r = reminder_recovery(*reminder_tables, reminders_shop.START, reminders_shop.END,
                          channels=("wangwang", "sms"), randomised=True)
    assert (r.groups.loc["reminded", "orders"], r.groups.loc["reminded", "recovered"]) == (6, 3)
    assert r.label == "randomised" and r.causal is True and r.warning is None
