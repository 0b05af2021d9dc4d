import numpy as np
import pytest
from scipy import stats

from crm_experiments.stats.srm import check_sample_ratio


def test_matches_scipy_and_passes_on_plan():
    r = check_sample_ratio({"control": 1010, "a": 2010, "b": 1980},
                           {"control": 0.2, "a": 0.4, "b": 0.4})
    ref = stats.chisquare([1010, 2010, 1980], [1000, 2000, 2000])
    assert r.p_value == pytest.approx(ref.pvalue)
    assert r.passed and r.message.startswith("Sample ratio OK")
    assert r.expected_shares == pytest.approx((0.2, 0.4, 0.4))
    assert len(r.to_frame()) == 3


def test_flags_mismatch_and_names_the_arm():
    r = check_sample_ratio({"control": 900, "coupon": 1100}, {"control": 1, "coupon": 1})
    assert not r.passed
    assert "SAMPLE RATIO MISMATCH" in r.message and "coupon" in r.message


def test_false_alarm_rate_is_alpha():
    rng = np.random.default_rng(0)
    draws = rng.multinomial(5000, [0.1, 0.9], size=3000)
    fails = sum(not check_sample_ratio({"c": c, "t": t}, {"c": 0.1, "t": 0.9}, alpha=0.05).passed
                for c, t in draws)
    assert 0.04 <= fails / 3000 <= 0.06


def test_unplanned_arm_is_an_error():
    with pytest.raises(ValueError, match="planned share: b"):
        check_sample_ratio({"a": 5, "b": 5}, {"a": 1.0})
