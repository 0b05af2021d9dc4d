import pandas as pd
import pytest

from crm_experiments.metrics.satisfaction import METRICS, satisfaction_sums

REVIEWS = pd.DataFrame({
    "order_id": ["O1", "O2", "O3", "O4"],
    "customer_id": ["B", "B", "C", "C"],
    "created_at": pd.to_datetime(["2025-09-12", "2025-09-12", "2025-03-05", "2025-10-03"]),
    "polarity": ["positive", "negative", "positive", "neutral"],
    "dsr_item": [5.0, 2.0, 4.0, 4.0],
    "dsr_service": [5.0, 3.0, 5.0, 4.0],
    "dsr_logistics": [4.0, 4.0, 4.0, 4.0],
})
SURVEYS = pd.DataFrame({
    "customer_id": ["A", "B", "C", "D", "E", "F"],
    "answered_at": pd.to_datetime(["2025-09-01"] * 6),
    "score": [5.0, 3.0, 4.0, 10.0, 9.0, 2.0],
    "scale": ["csat5", "csat5", "csat5", "nps10", "nps10", "nps10"],
})


@pytest.fixture
def tables(con, orders):
    return {"orders": orders, "reviews": con.from_pandas(REVIEWS),
            "surveys": con.from_pandas(SURVEYS)}


def test_satisfaction_sums_hand_derived(tables):
    s = satisfaction_sums(tables, "2025-08-01", "2025-11-01").set_index("metric")
    assert list(s.index) == list(METRICS) and set(s.group) == {"all"}
    # reviews in window: O1 (pos), O2 (neg), O4 (neutral)
    assert (s.loc["positive_rate", "k"], s.loc["positive_rate", "n"]) == (1, 3)
    assert (s.loc["negative_rate", "k"], s.loc["negative_rate", "n"]) == (1, 3)
    item = [5.0, 2.0, 4.0]
    assert tuple(s.loc["dsr_item", ["n", "sum", "sumsq"]]) == (3, sum(item),
                                                                sum(x * x for x in item))
    assert tuple(s.loc["dsr_logistics", ["n", "sum", "sumsq"]]) == (3, 12.0, 48.0)
    # csat5 answers A 5, B 3, C 4: two of three score 4 or 5; mean 4
    assert (s.loc["csat", "k"], s.loc["csat", "n"]) == (2, 3)
    assert tuple(s.loc["csat_mean", ["n", "sum", "sumsq"]]) == (3, 12.0, 50.0)
    # nps10 answers D 10, E 9, F 2: two promoters, one detractor
    assert tuple(s.loc["nps", ["n", "promoters", "detractors"]]) == (3, 2, 1)
    # refunds: paid orders created Aug-Oct: A, B, B, C, D, D, J (refunded), L (refunded)
    assert (s.loc["refund_rate", "k"], s.loc["refund_rate", "n"]) == (2, 8)
    # each row carries only the statistics of its kind
    assert s.loc["refund_rate", ["sum", "sumsq", "promoters", "detractors"]].isna().all()
    assert s.loc["dsr_item", ["k", "promoters", "detractors"]].isna().all()


def test_satisfaction_sums_by_group(tables, con):
    groups = con.from_pandas(pd.DataFrame({"customer_id": ["B", "C"],
                                                 "group": ["x", "y"]}))
    s = satisfaction_sums(tables, "2025-08-01", "2025-11-01", groups=groups)
    pos = s[s.metric == "positive_rate"].set_index("group")
    assert list(pos.index) == ["x", "y"]  # groups sorted within a metric
    assert (pos.loc["x", "k"], pos.loc["x", "n"]) == (1, 2)  # O1 pos, O2 neg
    assert (pos.loc["y", "k"], pos.loc["y", "n"]) == (0, 1)  # O4 neutral (O3 is before)
    # B and C answered csat5 only: their NPS rows have no answers
    assert s[(s.metric == "nps") & (s.group == "x")]["n"].iloc[0] == 0
