"""The plan page: rendered through the one environment (markup in any text field is shown as
text), and in Chinese without a word of the English half of the translation table."""

from __future__ import annotations

import re
import string

import pytest

from crm_experiments.report.i18n import TEXT
from crm_experiments.report.plan_page import plan_page

PAYLOAD = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def plan(past, tmp_path_factory):
    from crm_experiments.plan.run import draft_plan

    out = tmp_path_factory.mktemp("page")
    return draft_plan("camp_page", out_dir=out, campaigns_dir=past["campaigns_dir"],
                      budget=5000).plan


def _ids(plan) -> set[str]:
    return {"control", *plan.kinds["kind"], *plan.arm_table["arm"]}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_markup_is_shown_as_text(plan, lang):
    labels = {arm: f"{PAYLOAD}{arm}" for arm in _ids(plan)}
    html = plan_page(plan, lang=lang, currency=PAYLOAD, display_name=PAYLOAD, labels=labels,
                     params_path=PAYLOAD)
    assert "<script" not in html and "alert(1)</" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<h1>{escaped}</h1>" in html
    assert f"{escaped}coupon_200_30" in html  # arm labels: offers, arms and reasons
    assert html.count(escaped) > 20           # the currency in every amount


def _visible_text(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_chinese_page_has_no_english_text(plan):
    zh_labels = {arm: f"方案{i}" for i, arm in enumerate(sorted(_ids(plan)))}
    text = _visible_text(plan_page(plan, lang="zh", currency="CNY", display_name="双十一下一轮",
                                   labels=zh_labels))
    assert "下一轮计划" in text and "预算" in text  # the budget note is translated too
    leaks = []
    for key, (en, zh) in TEXT.items():
        if en == zh:
            continue
        for literal, *_ in string.Formatter().parse(en):
            fragment = (literal or "").strip(" ,.:;()…")
            if len(fragment) >= 4 and re.search("[A-Za-z]", fragment) and fragment in text:
                leaks.append((key, fragment))
    assert leaks == []
    # nothing English-looking left but the campaign ids and formula letters
    words = set(re.findall(r"[A-Za-z]{4,}", text)) - {"camp"}
    assert words <= {"Holm", "Paule", "Mandel"}, words
