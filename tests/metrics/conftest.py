"""Small hand-built shops for the metric tests."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_experiments.io.engine import connect

AS_OF = pd.Timestamp("2025-11-01")  # P = 3 months: d-P = 08-01, d-2P = 05-01, d-4P = 2024-11-01

# customer, created_at, paid?, amount, refund, discount, expected reason
ROWS = [
    ("A", "2025-08-01 00:00", True, 100, 0, 0),     # exactly P ago -> within the last P: new_one
    ("B", "2025-09-10 10:00", True, 50, 0, 0),      # same-day repeat -> new_repeat
    ("B", "2025-09-10 18:00", True, 70, 0, 10),
    ("C", "2025-03-01 12:00", True, 80, 0, 0),      # old, 1 in period -> old_one
    ("C", "2025-10-01 12:00", True, 90, 0, 0),
    ("D", "2024-12-01 12:00", True, 60, 0, 0),      # old, 2 in period -> old_repeat
    ("D", "2025-08-15 12:00", True, 60, 0, 0),
    ("D", "2025-10-20 12:00", True, 60, 0, 0),
    ("E", "2025-05-01 00:00", True, 40, 0, 0),      # exactly 2P ago -> silent
    ("F", "2025-07-31 23:59", True, 40, 0, 0),      # just over P ago -> silent
    ("G", "2025-01-15 12:00", True, 30, 0, 0),      # sleeping
    ("H", "2024-11-01 00:00", True, 30, 0, 0),      # exactly 4P ago -> sleeping
    ("I", "2024-06-01 12:00", True, 30, 0, 0),      # lost
    ("J", "2025-02-01 12:00", True, 30, 0, 0),      # sleeping: the October order is refunded
    ("J", "2025-10-05 12:00", True, 30, 30, 0),
    ("K", "2025-10-05 12:00", False, 30, 0, 0),     # unpaid only -> no state
    ("L", "2025-10-06 12:00", True, 100, 30, 0),    # partial refund still a purchase -> new_one
    ("M", "2025-11-01 00:00", True, 100, 0, 0),     # on d itself -> not before d -> no state
]

EXPECTED_STATES = {
    "A": "new_one", "B": "new_repeat", "C": "old_one", "D": "old_repeat", "E": "silent",
    "F": "silent", "G": "sleeping", "H": "sleeping", "I": "lost", "J": "sleeping", "L": "new_one",
}


def orders_frame(rows=ROWS) -> pd.DataFrame:
    created = pd.to_datetime([r[1] for r in rows])
    paid = [c + pd.Timedelta(minutes=5) if r[2] else pd.NaT for r, c in zip(rows, created,
                                                                           strict=True)]
    return pd.DataFrame({
        "order_id": [f"O{i}" for i in range(len(rows))],
        "customer_id": [r[0] for r in rows],
        "created_at": created,
        "paid_at": pd.to_datetime(paid),
        "amount": [float(r[3]) for r in rows],
        "discount": [float(r[5]) for r in rows],
        "coupon_id": pd.Series([None] * len(rows), dtype="string"),
        "refund_amount": [float(r[4]) for r in rows],
        "shipped_at": pd.to_datetime(paid) + pd.Timedelta(hours=20),
        "province": ["Zhejiang"] * len(rows),
    })


@pytest.fixture
def con():
    """A fresh DuckDB engine (:class:`crm_experiments.io.engine.Engine`); put a pandas frame
    next to its tables with ``con.from_pandas(frame)``."""
    return connect(threads=1)


@pytest.fixture
def orders(con):
    return con.from_pandas(orders_frame())
