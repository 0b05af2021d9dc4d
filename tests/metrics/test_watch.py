"""metrics.watch: cumulative per-(day, arm) sums and cross sums on tiny hand-made shops."""

from __future__ import annotations

import pandas as pd

from crm_experiments.metrics.watch import daily_arm_moments, daily_cross_sums


def test_cumulative_sums_per_day_and_arm(con):
    t = pd.Timestamp
    orders = con.from_pandas(pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "c", "d"],
        "created_at": [t("2025-10-31 10:00"), t("2025-11-01 09:00"), t("2025-11-02 23:59"),
                       t("2025-11-01 12:00"), t("2025-11-02 08:00"), t("2025-11-02 10:00")],
        "paid_at": [t("2025-10-31 10:00"), t("2025-11-01 09:00"), t("2025-11-02 23:59"),
                    t("2025-11-01 12:00"), t("2025-11-02 08:00"), None],
        "amount": [50.0, 10.0, 20.0, 5.0, 7.0, 99.0],
        "refund_amount": [None, None, 5.0, None, 7.0, None],  # c's second fully refunded
    }))
    assignments = con.from_pandas(pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"], "arm": ["x", "x", "y", "y", "y"]}))
    out = daily_arm_moments(orders, assignments, "2025-11-01", "2025-11-02", engine=con)
    got = out.set_index(["day", "arm"])
    d1, d2 = t("2025-11-01"), t("2025-11-02")
    assert list(got.loc[(d1, "x")]) == [2, 1.0, 10.0, 100.0]  # a: 10 (Oct 31 is before)
    assert list(got.loc[(d2, "x")]) == [2, 2.0, 25.0, 100.0 + 225.0]  # b: 20 - 5 refund
    assert list(got.loc[(d1, "y")]) == [3, 1.0, 5.0, 25.0]  # d unpaid, e never bought
    assert list(got.loc[(d2, "y")]) == [3, 1.0, 5.0, 25.0]


def test_cross_sums_of_cumulative_revenue_per_pair_of_days(con):
    """rev_cross(j, k) = Σ_i y_ij y_ik of the cumulative net revenues (hand-computed)."""
    t = pd.Timestamp
    orders = con.from_pandas(pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c", "c"],
        "created_at": [t("2025-10-31 10:00"), t("2025-11-01 09:00"), t("2025-11-03 09:00"),
                       t("2025-11-02 23:59"), t("2025-11-01 12:00"), t("2025-11-02 08:00")],
        "paid_at": [t("2025-10-31 10:00"), t("2025-11-01 09:00"), t("2025-11-03 09:00"),
                    t("2025-11-02 23:59"), t("2025-11-01 12:00"), t("2025-11-02 08:00")],
        "amount": [50.0, 10.0, 4.0, 20.0, 5.0, 7.0],
        "refund_amount": [None, None, None, 5.0, None, 7.0],  # c's second fully refunded
    }))
    assignments = con.from_pandas(pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"], "arm": ["x", "x", "y", "y"]}))
    out = daily_cross_sums(orders, assignments, "2025-11-01", "2025-11-03")
    got = out.set_index(["arm", "day_j", "day_k"])["rev_cross"]
    d1, d2, d3 = t("2025-11-01"), t("2025-11-02"), t("2025-11-03")
    # x: a = (10, 10, 14), b = (0, 15, 15) through days 1..3
    assert got[("x", d1, d1)] == 100.0 and got[("x", d1, d3)] == 140.0
    assert got[("x", d2, d3)] == 10 * 14 + 15 * 15 and got[("x", d3, d3)] == 14**2 + 15**2
    # y: c = (5, 5, 5), d never bought
    assert got[("y", d1, d2)] == 25.0 and got[("y", d3, d3)] == 25.0
    assert len(out) == 2 * 6  # two arms x the 6 pairs j <= k of 3 days
    # the diagonal is the moments' sum of squares
    m = daily_arm_moments(orders, assignments, "2025-11-01", "2025-11-03", engine=con)
    diag = out[out["day_j"] == out["day_k"]].set_index(["day_k", "arm"])["rev_cross"]
    assert list(diag.sort_index()) == list(m.set_index(["day", "arm"])["rev_sum_sq"].sort_index())
