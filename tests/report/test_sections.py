"""The report layer formats an evaluation: languages, escaping, the verdict first."""

import pytest

from crm_experiments.analyses.campaign import evaluate
from crm_experiments.params import load_params
from crm_experiments.report import render, sections
from crm_experiments.report.i18n import TEXT, tr


@pytest.fixture(scope="module")
def evaluation(small_shop):
    params = load_params(small_shop)
    hostile = params.model_copy(update={
        "display_name": "<script>alert(1)</script> 双十一", "language": "zh"})
    return evaluate(hostile, 7)


def test_chinese_report_and_escaping(evaluation):
    html = sections.header(evaluation) + sections.verdict(evaluation)
    assert "活动效果评估" in html and "结论" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "投资回报率" in sections.money_table(evaluation)
    assert "方法说明" in sections.methods(evaluation)


def test_every_label_has_both_languages():
    for key, (en, zh) in TEXT.items():
        assert en and zh, key
        assert tr(key, "en") == en and tr(key, "zh") == zh


def test_srm_failure_shows_banner_and_withholds_verdict(evaluation):
    from dataclasses import replace

    from crm_experiments.analyses.campaign import decide
    from crm_experiments.stats.srm import check_sample_ratio

    srm = check_sample_ratio({"control": 100, "coupon_100_10": 400, "coupon_200_30": 400},
                             {"control": 0.2, "coupon_100_10": 0.4, "coupon_200_30": 0.4})
    # 100 of 900 against a planned 20%: p far below 0.001
    assert not srm.passed
    comparison = replace(evaluation.comparison, srm=srm)
    broken = replace(evaluation, comparison=comparison,
                     verdict=decide(evaluation.economics, comparison))
    assert broken.verdict.status == "withheld"
    assert "样本比例不匹配" in sections.header(broken)
    assert "结论暂缓" in sections.verdict(broken)


def test_index_lists_reports_newest_first(tmp_path):
    for cid, end in (("old_campaign", "2025-06-30"), ("new_campaign", "2025-12-11")):
        render.publish_report(tmp_path, cid, 30, "<html>report</html>", {
            "campaign_id": cid, "display_name": f"<b>{cid}</b>", "horizon_days": 30,
            "window_end": end, "currency": "CNY",
            "verdict": {"status": "profitable", "best_arm": "a", "incremental_profit": 10.0,
                        "incremental_profit_low": 1.0, "incremental_profit_high": 20.0,
                        "roi": 0.5}})
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert index.index("new_campaign") < index.index("old_campaign")
    assert "<b>new_campaign</b>" not in index and "&lt;b&gt;new_campaign" in index
    assert "¥10 (¥1 … ¥20)" in index
    assert (tmp_path / "new_campaign" / "30d" / "report.html").stat().st_mode & 0o044


def test_effects_table_formats_each_metric_in_its_unit(evaluation):
    import re

    html = sections.effects_table(evaluation)
    rows = {re.sub("<[^>]+>", "|", r).split("|")[4]: r
            for r in re.findall(r"<tr>.*?</tr>", html)[1:]}
    assert "¥" not in rows["每客户订单数"]        # orders per customer: a count
    assert "%" in rows["购买率"] and "¥" not in rows["购买率"]  # buyers: a share
    assert "¥" in rows["每客户净利润"]             # money
