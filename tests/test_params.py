"""Campaign parameters: the campaign type (issue 16.3), explicit or derived, and its checks."""

from __future__ import annotations

import pytest
import yaml

from crm_experiments.errors import ParamsError
from crm_experiments.params import CAMPAIGN_TYPES, load_params
from tests.conftest import DEMO_PARAMS

NO_COUPONS = [{"name": "control", "planned_share": 0.5},
              {"name": "treated", "planned_share": 0.5}]


def _write(tmp_path, **overrides):
    raw = yaml.safe_load(DEMO_PARAMS.read_text(encoding="utf-8"))
    raw.update(overrides)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_type_is_derived_from_the_arms_when_unset(tmp_path):
    assert load_params(DEMO_PARAMS).campaign_type is None
    assert load_params(DEMO_PARAMS).type == "coupon"  # the demo's arms give coupons
    assert load_params(_write(tmp_path, arms=NO_COUPONS)).type == "message"


@pytest.mark.parametrize("kind", [t for t in CAMPAIGN_TYPES if t != "coupon"])
def test_explicit_type_is_kept(tmp_path, kind):
    p = load_params(_write(tmp_path, arms=NO_COUPONS, campaign_type=kind))
    assert p.type == p.campaign_type == kind
    assert p.flat()["campaign_type"] == kind


def test_unknown_type_names_the_choices(tmp_path):
    with pytest.raises(ParamsError) as err:
        load_params(_write(tmp_path, campaign_type="voucher"))
    text = str(err.value)
    assert "campaign_type" in text and "'voucher'" in text
    assert all(t in text for t in CAMPAIGN_TYPES)


def test_type_must_fit_the_arms(tmp_path):
    # the demo's arms give coupons: a message campaign cannot
    with pytest.raises(ParamsError, match="coupon_face_value"):
        load_params(_write(tmp_path, campaign_type="message"))
    arms = [NO_COUPONS[0], {**NO_COUPONS[1], "benefit_cost": 5.0}]
    with pytest.raises(ParamsError, match="benefit_cost.*member_day"):
        load_params(_write(tmp_path, arms=arms, campaign_type="shop_discount"))
    p = load_params(_write(tmp_path, arms=arms, campaign_type="member_day"))
    assert p.arm("treated").benefit_cost == 5.0 and p.arm("control").benefit_cost is None
    with pytest.raises(ParamsError, match="benefit_cost"):
        load_params(_write(tmp_path, arms=[NO_COUPONS[0], {**NO_COUPONS[1], "benefit_cost": -1}],
                           campaign_type="member_day"))
