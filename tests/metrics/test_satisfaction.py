import math

import pandas as pd
import pytest
from scipy import stats

from crm_experiments.metrics.satisfaction import satisfaction


@pytest.fixture
def tables(con, orders):
    reviews = pd.DataFrame({
        "order_id": ["O1", "O2", "O3", "O4"],
        "customer_id": ["B", "B", "C", "C"],
        "created_at": pd.to_datetime(["2025-09-12", "2025-09-12", "2025-03-05", "2025-10-03"]),
        "polarity": ["positive", "negative", "positive", "neutral"],
        "dsr_item": [5.0, 2.0, 4.0, 4.0],
        "dsr_service": [5.0, 3.0, 5.0, 4.0],
        "dsr_logistics": [4.0, 4.0, 4.0, 4.0],
    })
    surveys = pd.DataFrame({
        "customer_id": ["A", "B", "C", "D", "E", "F"],
        "answered_at": pd.to_datetime(["2025-09-01"] * 6),
        "score": [5.0, 3.0, 4.0, 10.0, 9.0, 2.0],
        "scale": ["csat5", "csat5", "csat5", "nps10", "nps10", "nps10"],
    })
    return {"orders": orders, "reviews": con.create_table("reviews", reviews),
            "surveys": con.create_table("surveys", surveys)}


def test_satisfaction_hand_derived(tables):
    s = satisfaction(tables, "2025-08-01", "2025-11-01").set_index("metric")
    # reviews in window: O1 (pos), O2 (neg), O4 (neutral)
    assert s.loc["positive_rate", "value"] == pytest.approx(1 / 3)
    assert s.loc["negative_rate", "value"] == pytest.approx(1 / 3)
    item = [5.0, 2.0, 4.0]
    mean, sem = sum(item) / 3, stats.sem(item)
    half = stats.t.ppf(0.975, 2) * sem
    assert s.loc["dsr_item", "value"] == pytest.approx(mean)
    assert s.loc["dsr_item", "ci_low"] == pytest.approx(mean - half)
    assert s.loc["dsr_logistics", "ci_high"] == pytest.approx(4.0)  # no spread
    assert s.loc["csat", "value"] == pytest.approx(2 / 3)
    assert s.loc["csat_mean", "value"] == pytest.approx(4.0)
    assert s.loc["nps", "value"] == pytest.approx(100 * (2 / 3 - 1 / 3))
    # refunds: paid orders created Aug-Oct: A, B, B, C, D, D, J (refunded), L (refunded)
    assert s.loc["refund_rate", "value"] == pytest.approx(2 / 8)
    assert s.loc["refund_rate", "n"] == 8


def test_satisfaction_by_group(tables, con):
    groups = con.create_table("g", pd.DataFrame({"customer_id": ["B", "C"],
                                                 "group": ["x", "y"]}))
    s = satisfaction(tables, "2025-08-01", "2025-11-01", groups=groups)
    pos = s[s.metric == "positive_rate"].set_index("group")["value"]
    assert pos["x"] == pytest.approx(0.5) and pos["y"] == 0.0
    assert math.isnan(s[(s.metric == "nps") & (s.group == "x")]["value"].iloc[0])
