"""The next round planned from a campaign without coupons (issue 16.3): a shop discount's arms
are offers of their own (not pooled as "message only"), their cost per customer counts the
discounts, the draft params keep the type, and the plan page has no coupon word in English
or Chinese."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_experiments.params import CampaignParams
from tests.analyses.test_campaign_shapes import COUPON_WORDS, _reshaped, _text
from tests.analyses.test_campaign_types import HORIZON, _arms, _no_coupons
from tests.plan.conftest import log_evaluation


@pytest.fixture
def discount_plan(small_shop, tracking, tmp_path):
    from crm_experiments.plan.decide import build_plan
    from crm_experiments.plan.gather import gather_evaluations
    from crm_experiments.plan.output import base_params, next_params

    path = _reshaped(small_shop, tmp_path / "shop", _no_coupons(),
                     campaign_type="shop_discount", arms=_arms(), horizons=[HORIZON],
                     extra_notebooks={}, display_name="Shop discount")
    log_evaluation(path, HORIZON, tmp_path)
    past = gather_evaluations()
    plan = build_plan(past, "next_round", fixed_cost=0.0)
    raw = next_params(plan, base_params(past[-1], None), sale_start=None, sale_end=None)
    return plan, raw, past[-1]


def test_shop_discount_plan_reads_as_one(discount_plan):
    from crm_experiments.report.plan_page import plan_page

    plan, raw, latest = discount_plan
    assert plan.campaign_type == "shop_discount"
    # each arm is an offer of its own, its cost per customer counting the discounts
    arms = plan.arm_table.set_index("arm")
    assert list(arms["kind"]) == ["treat_a", "treat_b"]
    econ = latest.table("economics").set_index("arm")
    cost = ((econ["coupon_cost"] + econ["message_cost"] + econ["discount_cost"])
            / econ["customers"])
    pd.testing.assert_series_equal(arms["variable_cost_per_customer"], cost.loc[arms.index],
                                   check_names=False)
    assert (econ["discount_cost"] > 0).all()
    # the draft keeps the type and validates
    assert raw["campaign_type"] == "shop_discount"
    assert CampaignParams.model_validate(raw).type == "shop_discount"
    for lang in ("en", "zh"):
        text = _text(plan_page(plan, lang=lang, currency="CNY", display_name="Next round",
                               labels={}))
        for word in COUPON_WORDS[lang]:
            at = text.find(word)
            assert at < 0, text[max(at - 200, 0):at + 100]
        assert "Offer A" in text
