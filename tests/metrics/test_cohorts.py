"""Sale-acquired vs ordinary-week cohorts on a hand-built shop (expected values derived below)."""

import pandas as pd
import pytest

from crm_experiments.io.engine import collect
from crm_experiments.metrics.cohorts import (
    cohort_table,
    default_comparison_window,
    repurchase_counts,
)
from tests.metrics.conftest import orders_frame

SALE = ("2025-11-01", "2025-11-12")        # 11 days, end exclusive
AS_OF = "2026-02-03"                      # = 2025-11-05 + 90 days

# customer, created_at, paid?, amount, refund, discount
ROWS = [
    ("S1", "2025-11-01 00:00", True, 100, 0, 0),   # sale start itself -> sale cohort
    ("S1", "2025-11-20 10:00", True, 100, 0, 0),   # repurchase on day 19
    ("S2", "2025-11-11 12:00", True, 100, 0, 0),   # last sale day
    ("S2", "2025-12-11 12:00", True, 100, 0, 0),   # exactly first + 30 days -> not within 30
    ("S3", "2025-11-05 00:00", True, 100, 0, 0),   # 90-day follow-up ends exactly at AS_OF
    ("S3", "2025-11-05 18:00", True, 100, 0, 0),   # same-day second order counts
    ("S4", "2025-11-12 00:00", True, 100, 0, 0),   # sale end is exclusive -> no cohort
    ("S5", "2025-06-01 12:00", True, 100, 0, 0),   # old customer -> no cohort
    ("S5", "2025-11-03 12:00", True, 100, 0, 0),
    ("S6", "2025-10-08 12:00", False, 100, 0, 0),  # unpaid, in the comparison window: ignored
    ("S6", "2025-11-02 10:00", True, 100, 0, 0),   # first purchase -> sale cohort
    ("S7", "2025-10-20 12:00", True, 100, 100, 0),  # fully refunded: not a purchase
    ("S7", "2025-11-03 12:00", True, 100, 0, 0),   # first purchase -> sale cohort
    ("S7", "2025-11-10 12:00", True, 100, 100, 0),  # refunded repeat: not a repurchase
    ("S8", "2025-11-06 00:00", True, 100, 0, 0),   # 90-day follow-up one day short
    ("S8", "2025-12-20 12:00", True, 100, 0, 0),   # day 44: within 60, not 30
    ("O1", "2025-10-07 00:00", True, 100, 0, 0),   # comparison start -> ordinary cohort
    ("O1", "2025-10-30 12:00", True, 100, 0, 0),
    ("O2", "2025-10-17 23:59", True, 100, 0, 0),   # last minute of the comparison window
    ("O3", "2025-10-18 00:00", True, 100, 0, 0),   # comparison end exclusive -> no cohort
    ("O4", "2025-10-10 12:00", True, 100, 0, 0),
    ("O4", "2026-01-01 12:00", True, 100, 0, 0),   # day 83: within 90 only
]


@pytest.fixture
def shop(con):
    return con.from_pandas(orders_frame(ROWS))


def test_default_comparison_window_has_the_sale_length_and_a_14_day_gap():
    start, end = default_comparison_window(*SALE)
    assert (start, end) == (pd.Timestamp("2025-10-07"), pd.Timestamp("2025-10-18"))
    with pytest.raises(ValueError):
        default_comparison_window("2025-11-12", "2025-11-01")


def test_cohort_membership(shop):
    c = cohort_table(shop, {"sale": SALE, "ordinary": default_comparison_window(*SALE)})
    got = collect(c).set_index("customer_id")["cohort"].to_dict()
    assert got == {"S1": "sale", "S2": "sale", "S3": "sale", "S6": "sale", "S7": "sale",
                   "S8": "sale", "O1": "ordinary", "O2": "ordinary", "O4": "ordinary"}


def counts(shop, as_of=AS_OF):
    r = repurchase_counts(shop, SALE, default_comparison_window(*SALE), as_of=as_of)
    return r.set_index(["cohort", "horizon_days"])


# sale cohort S1 S2 S3 S6 S7 S8 (6); every 30- and 60-day follow-up is complete.
# 30 d: S1 (day 19), S3 (same day) -> 2/6; S2 exactly day 30 is out, S8 day 44 is out.
# 60 d: + S2, S8 -> 4/6.
# 90 d: complete when first + 90 <= 2026-02-03: S1 (01-30), S3 (02-03, exactly),
#       S6 (01-31), S7 (02-01); S2 (02-09) and S8 (02-04, one day short) wait -> 2/4.
# ordinary O1 O2 O4, all complete: O1 day 23; O4 day 83 -> 1/3, 1/3, 2/3
EXPECTED = {("sale", 30): (6, 2), ("sale", 60): (6, 4), ("sale", 90): (4, 2),
            ("ordinary", 30): (3, 1), ("ordinary", 60): (3, 1), ("ordinary", 90): (3, 2)}


def test_repurchase_counts_hand_derived(shop):
    r = repurchase_counts(shop, SALE, default_comparison_window(*SALE), as_of=AS_OF)
    assert list(zip(r.cohort, r.horizon_days, strict=True)) == [
        ("sale", 30), ("ordinary", 30), ("sale", 60), ("ordinary", 60), ("sale", 90),
        ("ordinary", 90)]
    rates = r.set_index(["cohort", "horizon_days"])
    for key, (n, k) in EXPECTED.items():
        row = rates.loc[key]
        assert (row.eligible, row.repurchased) == (n, k), key
    assert rates.loc[("sale", 90), "acquired"] == 6
    assert rates.loc[("ordinary", 30), "acquired"] == 3


def test_incomplete_follow_up_leaves_the_denominator(shop):
    # at 2025-12-05 only S1 (12-01), S6 (12-02), S7 (12-03) and S3 (12-05, exactly) are
    # complete for 30 days; S1 and S3 repurchased.
    r = counts(shop, "2025-12-05")
    row = r.loc[("sale", 30)]
    assert (row.acquired, row.eligible, row.repurchased) == (6, 4, 2)
    assert (r.loc[("sale", 90), "eligible"], r.loc[("sale", 90), "repurchased"]) == (0, 0)


def test_overlapping_windows_are_refused(shop):
    with pytest.raises(ValueError, match="overlap"):
        repurchase_counts(shop, SALE, ("2025-11-10", "2025-11-20"), as_of=AS_OF)
