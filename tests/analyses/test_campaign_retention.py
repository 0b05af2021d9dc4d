"""campaign.retention_curve: counted in the engine, by whole days after the sale's end."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
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


def test_a_sale_ending_in_the_evening_counts_days_from_its_end_time():
    """Sale end at 20:00 (not midnight): day k holds first purchases in (end + (k-1) days,
    end + k days], equal to pandas' own ``floor((first - end) / 1 day) + 1`` on random times."""
    rng = np.random.default_rng(3)
    end = pd.Timestamp("2025-11-04 20:00")
    start, window_end = pd.Timestamp("2025-11-01"), pd.Timestamp("2025-11-12 20:00")
    n = 400
    ids = [f"u{i % 120}" for i in range(n)]
    seconds = rng.integers(0, int((window_end - start).total_seconds()), n)
    created = start + pd.to_timedelta(seconds, unit="s")
    # purchases exactly at the sale end and one day after it: the edges of day 1
    ids += ["u0", "u0", "u1", "u1"]
    created = created.append(pd.DatetimeIndex([end - pd.Timedelta(hours=1), end,
                                               end - pd.Timedelta(hours=2),
                                               end + pd.Timedelta(days=1)]))
    orders = pd.DataFrame({"customer_id": ids, "created_at": created})
    orders["paid_at"] = orders["created_at"]
    orders["amount"] = 10.0
    orders["refund_amount"] = 0.0
    customers = pd.DataFrame({"customer_id": [f"u{i}" for i in range(120)],
                              "arm": ["a" if i % 2 else "control" for i in range(120)]})
    params = SimpleNamespace(sale_start=start, sale_end=end)
    con = engine.connect(threads=1)
    try:
        curve = retention_curve(con.from_pandas(orders), customers, params, window_end,
                                engine=con)
    finally:
        con.disconnect()
    sale = orders[(orders.created_at >= start) & (orders.created_at < end)]
    later = orders[(orders.created_at >= end) & (orders.created_at < window_end)]
    first = later.groupby("customer_id")["created_at"].min()
    buyers = customers[customers.customer_id.isin(sale.customer_id)].set_index("customer_id")
    day = np.floor((first - end) / pd.Timedelta(days=1)).astype(int) + 1
    for arm, rows in curve.groupby("arm"):
        mine = buyers.index[buyers["arm"] == arm]
        back = day.reindex(mine).dropna()
        expected = [int((back <= k).sum()) for k in rows["day"]]
        assert list(rows["returned"]) == expected and set(rows["buyers"]) == {len(mine)}
    assert list(curve["day"].unique()) == list(range(1, 9))
