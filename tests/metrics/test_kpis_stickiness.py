import math

import pytest

from crm_experiments.io.engine import collect
from crm_experiments.metrics.kpis import kpi_comparison, sale_kpis
from crm_experiments.metrics.orders import customer_window_outcomes
from crm_experiments.metrics.stickiness import stickiness


def test_sale_kpis_hand_derived(orders):
    # October 2025: C 90, D 60, J 30 fully refunded, K 30 unpaid, L 100 with 30 refunded
    k = sale_kpis(orders, "2025-10-01", "2025-11-01")
    assert k["orders"] == 5 and k["paid_orders"] == 4
    assert k["paid_rate"] == pytest.approx(0.8)
    assert k["gmv"] == pytest.approx(280.0)
    assert k["net_revenue"] == pytest.approx(220.0)
    assert k["aov"] == pytest.approx(70.0)
    assert k["refund_rate"] == pytest.approx(0.5)
    assert k["refund_amount"] == pytest.approx(60.0)
    assert k["shipped_same_day_rate"] == 0.0  # paid at 12:05, shipped 20 h later
    assert k["not_shipped_rate"] == 0.0
    assert (k["buyers"], k["new_buyers"], k["returning_buyers"]) == (3, 1, 2)  # C, D old; L new
    assert k["returning_revenue_share"] == pytest.approx(150 / 220)


def test_kpis_of_an_empty_window_are_zero_or_nan(orders):
    k = sale_kpis(orders, "2030-01-01", "2030-02-01")
    assert k["orders"] == 0 and k["gmv"] == 0.0 and math.isnan(k["aov"])
    frame = kpi_comparison(orders, {"a": ("2025-10-01", "2025-11-01"),
                                    "b": ("2030-01-01", "2030-02-01")})
    assert list(frame.columns) == ["a", "b"] and frame.loc["orders", "a"] == 5


def test_stickiness_hand_derived(orders):
    # buyers of [08-01, 11-01): A, B (2 same day), C, D (2), L -> 5 buyers, 2 repeat
    s = stickiness(orders, "2025-08-01", "2025-11-01", retention_days=30, as_of="2025-12-31")
    row = s.loc["all"]
    assert (row.buyers, row.repeat_buyers) == (5, 2)
    assert row.repeat_purchase_rate == pytest.approx(0.4)
    assert row.arpu == pytest.approx(500 / 5)  # 100 + 120 + 90 + 120 + 70 (L net of refund)
    assert row.retention_rate == 0.0 and bool(row.retention_complete)


def test_retention_is_undefined_until_follow_up_is_complete(orders):
    s = stickiness(orders, "2025-08-01", "2025-11-01", retention_days=30, as_of="2025-11-15")
    assert math.isnan(s.loc["all", "retention_rate"])
    assert not bool(s.loc["all", "retention_complete"])


def test_window_outcomes_gross_profit(orders):
    out = collect(customer_window_outcomes(orders, "2025-08-01", "2025-11-01", 0.45))
    out = out.set_index("customer_id")
    # B: 50 - 0.55*50 + 70 - 0.55*80 (list price includes the 10 discount)
    assert out.loc["B", "gross_profit"] == pytest.approx(22.5 + 26.0)
    # L: kept 70% of (100 - 0.55*100)
    assert out.loc["L", "gross_profit"] == pytest.approx(0.7 * 45.0)
    assert out.loc["L", "revenue"] == pytest.approx(70.0)
    assert "J" not in out.index and "K" not in out.index
