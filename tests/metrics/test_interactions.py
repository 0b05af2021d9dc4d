"""Participants vs non-participants: the per-customer table on hand-built data (the estimates
on a confounded simulation are in tests/stats/test_observational.py)."""

import math

import pandas as pd
import pytest

from crm_experiments.io.engine import collect
from crm_experiments.metrics.interactions import (
    participants_outside,
    participation_by_kind,
    participation_table,
)
from tests.metrics.conftest import orders_frame

START, END = pd.Timestamp("2025-11-01"), pd.Timestamp("2025-11-12")

# customer, created_at, paid?, amount, refund, discount
ROWS = [
    ("A", "2025-06-01 00:00", True, 50, 0, 0),
    ("A", "2025-10-22 00:00", True, 100, 0, 0),   # recency exactly 10 days
    ("A", "2025-11-05 12:00", True, 80, 20, 0),   # outcome: converted, revenue 60
    ("B", "2024-10-31 12:00", True, 70, 0, 0),    # before the 365-day lookback: no history
    ("C", "2024-11-01 00:00", True, 40, 0, 0),    # lookback start (inclusive): recency 365
    ("C", "2025-11-11 23:59", True, 30, 0, 0),    # last minute of the window: converted
    ("D", "2025-11-12 00:00", True, 90, 0, 0),    # new customer, buys after the window
    ("F", "2025-10-01 12:00", False, 90, 0, 0),   # unpaid only: not in the population
]
INTERACTIONS = [  # customer, at, kind
    ("A", "2025-11-02 09:00", "sign_in"),
    ("C", "2025-10-31 23:59", "sign_in"),   # before the window: not a participant
    ("C", "2025-11-03 09:00", "lottery"),   # another kind
    ("D", "2025-11-11 09:00", "sign_in"),   # new customer taking part
    ("E", "2025-11-03 09:00", "visit"),     # no purchase, no sign-in: not in the population
]


def _interactions(rows):
    return pd.DataFrame({"customer_id": [r[0] for r in rows],
                         "at": pd.to_datetime([r[1] for r in rows]),
                         "kind": [r[2] for r in rows], "value": 1.0})


def test_participation_table_hand_derived(con):
    orders = con.from_pandas(orders_frame(ROWS))
    inter = con.from_pandas(_interactions(INTERACTIONS))
    # without a customers table the population is the buyers before START: A, B, C
    # (D, a first-time buyer who signed in, is outside it)
    t = collect(participation_table(orders, inter, "sign_in", START, END))
    assert sorted(t["customer_id"]) == ["A", "B", "C"]
    # with the member list D and E (no purchase at all) join as customers without history
    members = con.from_pandas(pd.DataFrame({"customer_id": list("ABCDE")}))
    t = collect(participation_table(orders, inter, "sign_in", START, END, customers=members))
    t = t.set_index("customer_id").sort_index()
    assert list(t.index) == ["A", "B", "C", "D", "E"]
    assert t["participant"].to_dict() == {"A": 1, "B": 0, "C": 0, "D": 1, "E": 0}
    assert t.loc["E"].drop("participant").tolist() == [365.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert t.loc["A", ["recency_days", "frequency", "no_history"]].tolist() == [10.0, 2.0, 0.0]
    assert t.loc["A", "log_monetary"] == pytest.approx(math.log1p(150))
    assert t.loc["B"].drop("participant").tolist() == [365.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert t.loc["C", ["recency_days", "frequency", "no_history"]].tolist() == [365.0, 1.0, 0.0]
    assert t.loc["C", "log_monetary"] == pytest.approx(math.log1p(40))
    assert t["converted"].to_dict() == {"A": 1.0, "B": 0.0, "C": 1.0, "D": 0.0, "E": 0.0}
    assert t["revenue"].to_dict() == {"A": 60.0, "B": 0.0, "C": 30.0, "D": 0.0, "E": 0.0}
    # a later outcome window: D's purchase on 11-12 counts, A's and C's do not
    later = collect(participation_table(orders, inter, "sign_in", START, END,
                                        outcome_window=(END, "2025-12-01"),
                                        customers=members))
    assert later.set_index("customer_id")["revenue"].to_dict() == {
        "A": 0.0, "B": 0.0, "C": 0.0, "D": 90.0, "E": 0.0}
    with pytest.raises(ValueError, match="unknown interaction kind"):
        participation_table(orders, inter, "dance", START, END)


def test_participants_outside_the_population(con):
    orders = con.from_pandas(orders_frame(ROWS))
    inter = con.from_pandas(_interactions(INTERACTIONS))
    # D signed in but had not bought before START; with the member list D is inside
    assert participants_outside(orders, inter, "sign_in", START, END) == 1
    members = con.from_pandas(pd.DataFrame({"customer_id": list("ABCDE")}))
    assert participants_outside(orders, inter, "sign_in", START, END, customers=members) == 0
    assert participants_outside(orders, inter, "lottery", START, END) == 0  # C bought before


def test_every_kind_in_one_table(con):
    orders = con.from_pandas(orders_frame(ROWS))
    inter = con.from_pandas(_interactions(INTERACTIONS))
    t = collect(participation_by_kind(orders, inter, ("sign_in", "lottery"), START, END))
    t = t.set_index("customer_id").sort_index()
    # the population A, B, C and D, a participant outside it
    assert t["in_population"].to_dict() == {"A": 1, "B": 1, "C": 1, "D": 0}
    assert t["sign_in"].to_dict() == {"A": 1, "B": 0, "C": 0, "D": 1}
    assert t["lottery"].to_dict() == {"A": 0, "B": 0, "C": 1, "D": 0}
    # the population's rows are each kind's participation table
    for kind in ("sign_in", "lottery"):
        one = collect(participation_table(orders, inter, kind, START, END))
        one = one.set_index("customer_id").sort_index()
        inside = t[t["in_population"] == 1]
        assert one["participant"].tolist() == inside[kind].tolist()
        pd.testing.assert_frame_equal(one.drop(columns="participant"),
                                      inside[one.columns.drop("participant")])
    with pytest.raises(ValueError, match="unknown interaction kind 'dance'"):
        participation_by_kind(orders, inter, ("sign_in", "dance"), START, END)
