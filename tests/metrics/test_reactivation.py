"""Wake-up and reactivation rates on a hand-built shop (expected values derived below)."""

import pandas as pd
import pytest

from crm_experiments.metrics.reactivation import reactivation_counts
from tests.metrics.conftest import orders_frame

SALE_START, SALE_END = "2025-11-01", "2025-11-12"
# P = 3 months at 2025-11-01: sleeping = last purchase in [2024-11-01, 2025-05-01),
# lost = last purchase before 2024-11-01.

# customer, created_at, paid?, amount, refund, discount
ROWS = [
    ("G", "2025-01-15 12:00", True, 30, 0, 0),    # sleeping, contacted
    ("G", "2025-11-05 12:00", True, 30, 0, 0),    # -> bought in the sale
    ("H", "2024-11-01 00:00", True, 30, 0, 0),    # exactly 4P ago -> sleeping, contacted, no buy
    ("J", "2025-02-01 12:00", True, 30, 0, 0),    # sleeping, contacted
    ("J", "2025-11-11 23:00", True, 30, 30, 0),   # fully refunded -> not a purchase
    ("J", "2025-11-12 00:00", True, 30, 0, 0),    # sale end exclusive -> not bought
    ("I", "2024-06-01 12:00", True, 30, 0, 0),    # lost, contacted
    ("I", "2025-11-03 12:00", True, 30, 0, 0),    # -> reactivated
    ("N", "2024-10-31 23:59", True, 30, 0, 0),    # lost (just over 4P), contacted by another
    ("N", "2025-11-02 12:00", True, 30, 0, 0),    #   campaign only -> not counted
    ("P", "2025-03-01 12:00", True, 30, 0, 0),    # sleeping, holdout
    ("P", "2025-11-04 12:00", True, 30, 0, 0),    # -> bought
    ("Q", "2025-02-01 12:00", True, 30, 0, 0),    # sleeping, holdout, contacted by mistake
    ("R", "2024-01-01 12:00", True, 30, 0, 0),    # lost, holdout, no buy
    ("S", "2025-06-01 12:00", True, 30, 0, 0),    # silent: in neither rate
    ("S", "2025-11-02 12:00", True, 30, 0, 0),
    ("T", "2025-04-30 23:00", True, 30, 0, 0),    # sleeping, contact only after the window
    ("T", "2025-11-05 12:00", True, 30, 0, 0),
    ("U", "2025-10-01 12:00", False, 30, 0, 0),   # never purchased: no state
]

CONTACTS = [  # customer, campaign, channel, sent_at
    ("G", "c1", "sms", "2025-10-25 10:00"), ("G", "c1", "sms", "2025-11-01 10:00"),
    ("H", "c1", "sms", "2025-10-25 10:00"), ("J", "c1", "wangwang", "2025-11-01 10:00"),
    ("I", "c1", "sms", "2025-10-29 10:00"), ("N", "c0", "sms", "2025-10-25 10:00"),
    ("Q", "c1", "sms", "2025-10-28 10:00"), ("S", "c1", "sms", "2025-10-25 10:00"),
    ("T", "c1", "sms", "2025-11-12 10:00"), ("U", "c1", "sms", "2025-10-25 10:00"),
]
ARMS = {"G": "coupon", "H": "coupon", "J": "coupon", "I": "coupon", "S": "coupon",
        "T": "coupon", "P": "control", "Q": "control", "R": "control"}


def make_tables(con):
    """The shop's tables in the engine ``con``."""
    orders = con.from_pandas(orders_frame(ROWS))
    contacts = con.from_pandas(pd.DataFrame({
        "customer_id": [c[0] for c in CONTACTS], "campaign_id": [c[1] for c in CONTACTS],
        "channel": [c[2] for c in CONTACTS], "sent_at": pd.to_datetime([c[3] for c in CONTACTS]),
        "cost": 0.05}))
    assignments = con.from_pandas(pd.DataFrame({
        "customer_id": list(ARMS), "campaign_id": "c1", "arm": list(ARMS.values()),
        "assigned_at": pd.Timestamp("2025-10-20")}))
    return orders, contacts, assignments


@pytest.fixture
def tables(con):
    return make_tables(con)


def _check(row, n, k):
    assert (row.customers, row.bought) == (n, k)


def test_rates_with_holdout(tables):
    orders, contacts, assignments = tables
    r = reactivation_counts(orders, contacts, SALE_START, SALE_END, assignments=assignments,
                            campaign_id="c1")
    assert list(r.columns) == ["rate_name", "customers", "bought", "holdout_contacted"]
    # contacted sleeping: G (bought), H (no), J (refunded / after the end) -> 1/3;
    # T's only contact is after the window and Q is holdout, so neither is "contacted".
    _check(r.loc[("contacted", "sleeping")], 3, 1)
    assert r.loc[("contacted", "sleeping"), "rate_name"] == "wake_up"
    # contacted lost: I -> 1/1 (N was reached by campaign c0 only)
    _check(r.loc[("contacted", "lost")], 1, 1)
    assert r.loc[("contacted", "lost"), "rate_name"] == "reactivation"
    # holdout sleeping: P (bought), Q (no; its contact row shows up as a leak) -> 1/2
    _check(r.loc[("holdout", "sleeping")], 2, 1)
    assert r.loc[("holdout", "sleeping"), "holdout_contacted"] == 1
    # holdout lost: R only -> 0/1
    _check(r.loc[("holdout", "lost")], 1, 0)
    assert r.loc[("holdout", "lost"), "holdout_contacted"] == 0


def test_rates_without_assignments_or_campaign_filter(tables):
    orders, contacts, _ = tables
    r = reactivation_counts(orders, contacts, SALE_START, SALE_END)
    assert list(r.index.get_level_values("group").unique()) == ["contacted"]
    # without a holdout Q is an ordinary contacted sleeper: G, H, J, Q -> 1/4
    _check(r.loc[("contacted", "sleeping")], 4, 1)
    # without the campaign filter N's c0 contact counts: I, N both bought -> 2/2
    _check(r.loc[("contacted", "lost")], 2, 2)


def test_longer_window_and_channel_filter(tables):
    orders, contacts, assignments = tables
    # window to 11-13: J's 11-12 purchase and T's 11-12 contact now fall inside;
    # sms only: J (wangwang) is no longer contacted -> contacted sleeping G, H, T -> 2/3
    r = reactivation_counts(orders, contacts, SALE_START, SALE_END,
                            window=(SALE_START, "2025-11-13"), assignments=assignments,
                            campaign_id="c1", channels=("sms",))
    _check(r.loc[("contacted", "sleeping")], 3, 2)
