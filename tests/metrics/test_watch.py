"""metrics.watch.daily_arm_moments: cumulative per-(day, arm) sums on a tiny hand-made shop."""

from __future__ import annotations

import ibis
import pandas as pd

from crm_experiments.metrics.watch import daily_arm_moments


def test_cumulative_sums_per_day_and_arm():
    t = pd.Timestamp
    orders = ibis.memtable(pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "c", "d"],
        "created_at": [t("2025-10-31 10:00"), t("2025-11-01 09:00"), t("2025-11-02 23:59"),
                       t("2025-11-01 12:00"), t("2025-11-02 08:00"), t("2025-11-02 10:00")],
        "paid_at": [t("2025-10-31 10:00"), t("2025-11-01 09:00"), t("2025-11-02 23:59"),
                    t("2025-11-01 12:00"), t("2025-11-02 08:00"), None],
        "amount": [50.0, 10.0, 20.0, 5.0, 7.0, 99.0],
        "refund_amount": [None, None, 5.0, None, 7.0, None],  # c's second fully refunded
    }))
    assignments = ibis.memtable(pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"], "arm": ["x", "x", "y", "y", "y"]}))
    out = daily_arm_moments(orders, assignments, "2025-11-01", "2025-11-02")
    got = out.set_index(["day", "arm"])
    d1, d2 = t("2025-11-01"), t("2025-11-02")
    assert list(got.loc[(d1, "x")]) == [2, 1.0, 10.0, 100.0]  # a: 10 (Oct 31 is before)
    assert list(got.loc[(d2, "x")]) == [2, 2.0, 25.0, 100.0 + 225.0]  # b: 20 - 5 refund
    assert list(got.loc[(d1, "y")]) == [3, 1.0, 5.0, 25.0]  # d unpaid, e never bought
    assert list(got.loc[(d2, "y")]) == [3, 1.0, 5.0, 25.0]
