"""campaign.retention_curve: counted in the engine, by whole days after the sale's end."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from crm_experiments.analyses.campaign import retention_curve
from crm_experiments.io import engine


def test_day_k_counts_first_purchases_within_k_days_after_the_sale():
    ts = pd.Timestamp
    rows = [  # customer, created_at (sale: Nov 1-3, its end Nov 4 00:00)
        ("a1", "2025-11-02 10:00"), ("a1", "2025-11-04 00:00"),      # back on day 1
        ("a2", "2025-11-01 08:00"), ("a2", "2025-11-05 23:59:59.999999"),  # day 2
        ("a2", "2025-11-06 09:00"),                                   # later: not counted
        ("a3", "2025-11-03 23:00"),                                   # not back
        ("c1", "2025-11-03 12:00"), ("c1", "2025-11-06 12:00"),      # day 3
        ("c2", "2025-10-20 12:00"), ("c2", "2025-11-04 12:00"),      # no sale purchase
        ("a1", "2025-11-08 00:00"),                                   # after the window end
    ]
    orders = pd.DataFrame({"customer_id": [r[0] for r in rows],
                           "created_at": pd.to_datetime([r[1] for r in rows], format="ISO8601")})
    orders["paid_at"] = orders["created_at"]
    orders["amount"] = 10.0
    orders["refund_amount"] = 0.0
    customers = pd.DataFrame({"customer_id": ["a1", "a2", "a3", "c1", "c2"],
                              "arm": ["a", "a", "a", "control", "control"]})
    params = SimpleNamespace(sale_start=ts("2025-11-01"), sale_end=ts("2025-11-04"))
    con = engine.connect(threads=1)
    try:
        curve = retention_curve(con.from_pandas(orders), customers, params,
                                ts("2025-11-08"), engine=con)
    finally:
        con.disconnect()
    assert list(curve.columns) == ["arm", "day", "buyers", "returned", "share"]
    a = curve[curve["arm"] == "a"]
    assert list(a["day"]) == [1, 2, 3, 4] and set(a["buyers"]) == {3}
    assert list(a["returned"]) == [1, 2, 2, 2]
    c = curve[curve["arm"] == "control"]
    assert set(c["buyers"]) == {1} and list(c["returned"]) == [0, 0, 1, 1]
    assert list(c["share"]) == [0.0, 0.0, 1.0, 1.0]
