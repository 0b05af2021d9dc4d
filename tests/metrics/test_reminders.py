"""Payment-reminder recovery on hand-built orders and contacts (expected values below)."""

import pandas as pd
import pytest

from crm_experiments.io.engine import collect
from crm_experiments.metrics.reminders import reminder_counts, reminder_orders

START, END = "2025-11-01", "2025-11-12"

# order, customer, created_at, paid_at (None = never)
ORDERS = [
    ("R1", "a", "2025-11-01 10:00", "2025-11-01 11:00"),   # reminded 10:30 -> recovered
    ("R2", "b", "2025-11-02 10:00", None),                 # reminded exactly 24 h later -> no
    ("R3", "c", "2025-11-03 10:00", "2025-11-04 12:00"),   # contact 24 h + 1 min: too late;
                                                           #   not reminded, recovered
    ("R4", "d", "2025-11-04 10:00", "2025-11-04 10:20"),   # paid before the contact and
                                                           #   within 30 min -> neither group
    ("R5", "e", "2025-11-05 10:00", None),                 # SMS only -> not reminded, no
    ("R6", "f", "2025-11-06 10:00", "2025-11-06 10:30"),   # paid exactly at 30 min -> neither
    ("R7", "g", "2025-11-06 10:00", "2025-11-06 10:31"),   # not reminded, recovered
    ("R8", "h", "2025-10-31 23:00", "2025-11-01 09:00"),   # created before the window
    ("R9", "i", "2025-11-07 10:00", "2025-11-07 10:05"),   # paid at the reminder minute:
                                                           #   not unpaid then -> neither
    ("R10", "j", "2025-11-08 10:00", "2025-11-08 10:20"),  # reminded 10:10 -> recovered
    ("R11", "k", "2025-11-09 10:00", None),                # one reminder, two unpaid orders:
    ("R12", "k", "2025-11-09 10:05", "2025-11-09 11:00"),  #   both reminded; R12 recovered
]
CONTACTS = [  # customer, channel, sent_at
    ("a", "wangwang", "2025-11-01 10:30"), ("b", "wangwang", "2025-11-03 10:00"),
    ("c", "wangwang", "2025-11-04 10:01"), ("d", "wangwang", "2025-11-04 10:30"),
    ("e", "sms", "2025-11-05 10:30"), ("h", "wangwang", "2025-10-31 23:30"),
    ("i", "wangwang", "2025-11-07 10:05"), ("j", "wangwang", "2025-11-08 10:10"),
    ("j", "wangwang", "2025-11-08 10:40"), ("k", "wangwang", "2025-11-09 10:30"),
]


def make_tables(con):
    """The shop's tables in the engine ``con``."""
    orders = pd.DataFrame({
        "order_id": [o[0] for o in ORDERS], "customer_id": [o[1] for o in ORDERS],
        "created_at": pd.to_datetime([o[2] for o in ORDERS]),
        "paid_at": pd.to_datetime([o[3] for o in ORDERS]), "amount": 100.0,
        "discount": 0.0, "refund_amount": 0.0})
    contacts = pd.DataFrame({
        "customer_id": [c[0] for c in CONTACTS], "campaign_id": "c1",
        "channel": [c[1] for c in CONTACTS], "sent_at": pd.to_datetime([c[2] for c in CONTACTS])})
    return (con.from_pandas(orders), con.from_pandas(contacts))


@pytest.fixture
def tables(con):
    return make_tables(con)


def test_order_classification(tables):
    t = collect(reminder_orders(*tables, START, END)).set_index("order_id")
    assert t["group"].to_dict() == {
        "R1": "reminded", "R2": "reminded", "R10": "reminded", "R11": "reminded",
        "R12": "reminded", "R3": "not_reminded", "R5": "not_reminded", "R7": "not_reminded"}
    assert t.loc["R10", "reminded_at"] == pd.Timestamp("2025-11-08 10:10")  # the first one
    assert t["recovered"].to_dict() == {"R1": 1, "R2": 0, "R10": 1, "R11": 0, "R12": 1,
                                        "R3": 1, "R5": 0, "R7": 1}


def test_recovery_counts_hand_derived(tables):
    r = reminder_counts(*tables, START, END)
    # reminded R1 R2 R10 R11 R12 -> 3/5; not reminded R3 R5 R7 -> 2/3
    assert r.to_dict("index") == {"reminded": {"orders": 5, "recovered": 3},
                                  "not_reminded": {"orders": 3, "recovered": 2}}


def test_channels(tables):
    # with SMS too, R5 (unpaid at the 10:30 SMS, never paid) moves to the reminded group
    r = reminder_counts(*tables, START, END, channels=("wangwang", "sms"))
    assert (r.loc["reminded", "orders"], r.loc["reminded", "recovered"]) == (6, 3)
    assert (r.loc["not_reminded", "orders"], r.loc["not_reminded", "recovered"]) == (2, 2)


def test_shorter_delay(tables):
    # with a 1-hour delay R2's reminder (24 h) no longer counts: R2 unpaid -> not reminded
    r = reminder_counts(*tables, START, END, max_delay=pd.Timedelta(hours=1))
    assert r.loc["reminded", "orders"] == 4
    assert (r.loc["not_reminded", "orders"], r.loc["not_reminded", "recovered"]) == (4, 2)
