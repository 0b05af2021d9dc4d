import pandas as pd
import pytest

from crm_experiments.io.engine import collect
from crm_experiments.metrics.rfm import rfm, tier_migration, tiers
from tests.metrics.conftest import AS_OF, orders_frame


def test_rfm_hand_derived(orders):
    got = collect(rfm(orders, AS_OF, lookback_days=365, bins=5)).set_index("customer_id")
    # purchases in [2024-11-01, 2025-11-01): H's 2024-11-01 00:00 order is exactly on the edge
    assert set(got.index) == {"A", "B", "C", "D", "E", "F", "G", "H", "J", "L"}
    assert got.loc["D", "frequency"] == 3 and got.loc["B", "frequency"] == 2
    assert got.loc["L", "monetary"] == pytest.approx(70.0)
    assert got.loc["D", "recency_days"] == pytest.approx(11.5)  # 10-20 12:00 -> 11-01
    # frequency ties: the 7 one-purchase customers share the lowest score
    assert set(got.loc[got.frequency == 1, "f_score"]) == {1}
    assert got.loc["D", "f_score"] == 5  # the most frequent buyer
    assert got["r_score"].between(1, 5).all()
    assert got.loc["D", "r_score"] == 5 and got.loc["H", "r_score"] == 1


def test_rfm_scores_match_pandas_percent_rank(orders):
    df = orders_frame()
    p = df[df.paid_at.notna() & (df.refund_amount < df.amount)]
    p = p[(p.created_at < AS_OF) & (p.created_at >= AS_OF - pd.Timedelta(days=365))]
    freq = p.groupby("customer_id").size()
    # SQL percent_rank = (rank - 1) / (n - 1) with rank = 'min'
    pr = (freq.rank(method="min") - 1) / (len(freq) - 1)
    expected = (pr * 5).apply(int).add(1).clip(upper=5)
    got = collect(rfm(orders, AS_OF)).set_index("customer_id")["f_score"]
    assert got.sort_index().tolist() == expected.sort_index().tolist()


def test_tiers_and_migration(orders):
    t = collect(tiers(orders, AS_OF, {"regular": 0, "silver": 100, "gold": 180}))
    t = t.set_index("customer_id")
    assert t.loc["A", "tier"] == "silver"  # exactly 100 reaches the threshold
    assert t.loc["D", "tier"] == "gold" and t.loc["I", "tier"] == "regular"
    m = tier_migration(orders, "2025-08-01", AS_OF, {"regular": 0, "silver": 100, "gold": 180})
    assert m.loc["regular", "silver"] == 1  # C: 80 at 08-01, 170 now
    assert m.loc["regular", "gold"] == 1  # D: 60 at 08-01, 180 now
    assert m.loc["none"].sum() == 3  # A, B, L bought first after 08-01
