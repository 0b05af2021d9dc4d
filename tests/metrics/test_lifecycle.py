import narwhals as nw
import pandas as pd

from crm_experiments.io.engine import collect
from crm_experiments.metrics import lifecycle as lc
from tests.metrics.conftest import AS_OF, EXPECTED_STATES, orders_frame


def test_states_match_hand_derived_fixture(orders):
    got = collect(lc.lifecycle_states(orders, AS_OF, 3))
    assert dict(zip(got.customer_id, got.state, strict=True)) == EXPECTED_STATES


def test_customers_without_purchase_before_date_have_no_state(orders, con):
    customers = con.from_pandas(pd.DataFrame(
        {"customer_id": sorted({*EXPECTED_STATES, "K", "M", "Z"})}))
    counts = lc.lifecycle_counts(orders, AS_OF, 3, customers=customers)
    # K (unpaid only) and Z (never ordered); not M, whose first purchase is on d itself (the
    # data cannot tell whether M was a member before d)
    assert counts.loc[lc.NO_STATE, "customers"] == 2
    assert counts.loc[list(lc.STATES), "customers"].sum() == len(EXPECTED_STATES)
    assert counts.loc["silent", "share"] == 2 / 11
    assert abs(counts["share"].sum() - 1) < 1e-12  # NaN share of no_purchase_yet is skipped


def test_migration_matrix_and_summary(orders):
    m = lc.migration_matrix(orders, "2025-08-01", AS_OF, 3)
    # at 2025-08-01 (P: 05-01, 2P: 02-01, 4P: 2024-08-01):
    # C: last 03-01 -> silent -> old_one now (positive); D: 2024-12-01 -> sleeping -> old_repeat;
    # E: 05-01 -> new_one (first within P) -> silent now (negative); F: 07-31 -> new_one -> silent;
    # G: 01-15 -> sleeping -> sleeping; H: 2024-11-01 -> sleeping -> sleeping;
    # I: 2024-06-01 -> lost -> lost; J: 02-01 -> silent -> sleeping (negative);
    # A, B, L: no purchase before 08-01 -> acquired.
    assert m.loc["silent", "old_one"] == 1
    assert m.loc["sleeping", "old_repeat"] == 1
    assert m.loc["new_one", "silent"] == 2
    assert m.loc["sleeping", "sleeping"] == 2
    assert m.loc["lost", "lost"] == 1
    assert m.loc["silent", "sleeping"] == 1
    assert m.loc[lc.NO_STATE].sum() == 3
    s = lc.migration_summary(m)
    assert s == {"positive": 2, "negative": 3, "stable": 3, "acquired": 3}


def test_pandas_reimplementation_agrees(orders):
    """An independent plain-pandas computation of the states gives the same answer."""
    df = orders_frame()
    p = df[df.paid_at.notna() & ((df.refund_amount <= 0) | (df.refund_amount < df.amount))]
    p = p[p.created_at < AS_OF]
    p1 = AS_OF - pd.DateOffset(months=3)
    p2 = AS_OF - pd.DateOffset(months=6)
    p4 = AS_OF - pd.DateOffset(months=12)
    expected = {}
    for cid, g in p.groupby("customer_id"):
        first, last = g.created_at.min(), g.created_at.max()
        n = int((g.created_at >= p1).sum())
        if last >= p1:
            expected[cid] = ("new_" if first >= p1 else "old_") + ("repeat" if n >= 2 else "one")
        elif last >= p2:
            expected[cid] = "silent"
        elif last >= p4:
            expected[cid] = "sleeping"
        else:
            expected[cid] = "lost"
    got = collect(lc.lifecycle_states(orders, AS_OF, 3))
    assert dict(zip(got.customer_id, got.state, strict=True)) == expected


def test_migration_of_a_subset_from_shared_states_equals_migration_of_its_orders(orders, con):
    subset = ["A", "C", "E", "F", "J"]
    s0 = con.cache(lc.lifecycle_states(orders, "2025-08-01", 3))
    s1 = con.cache(lc.lifecycle_states(orders, AS_OF, 3))
    ids = con.from_pandas(pd.DataFrame({"customer_id": subset, "group": "x"}))
    own = orders.filter(nw.col("customer_id").is_in(subset))
    pd.testing.assert_frame_equal(lc.migration_from_states(s0, s1, ids),
                                  lc.migration_matrix(own, "2025-08-01", AS_OF, 3))
    pd.testing.assert_frame_equal(lc.migration_from_states(s0, s1),
                                  lc.migration_matrix(orders, "2025-08-01", AS_OF, 3))


def test_no_purchase_yet_counts_only_members_before_the_date(orders, con):
    """Members whose first order date is after d, or whose first purchase is after d, are not
    'no purchase yet' at d; an empty first order date with no purchase is."""
    customers = con.from_pandas(pd.DataFrame({
        "customer_id": ["Z", "Y", "X", "M"],
        "first_order_at": pd.to_datetime([None, "2025-12-01", "2025-10-01", "2025-11-01"]),
    }))
    counts = lc.lifecycle_counts(orders, AS_OF, 3, customers=customers)
    assert counts.loc[lc.NO_STATE, "customers"] == 2  # Z (no date), X (dated before d)

