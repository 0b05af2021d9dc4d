"""The CLV/churn page: the same page from a live result and from its stored copy, markup in
params and data shown as text, a Chinese page without untranslated keys."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from markupsafe import escape

from crm_experiments.demo.generator import generate_shop
from crm_experiments.io.reader import load_shop
from crm_experiments.params import load_params
from tests.conftest import DEMO_PARAMS, write_params

#: Markup in every text field of the params the pages show, and in a segment value of the data.
PAYLOADS = {
    "display_name": '双十一 <script>alert("name")</script>',
    "control": "对照组 <b onmouseover=x>ctl</b>",
    "coupon_100_10": '满100减10 <img src=x onerror="alert(1)">',
    "coupon_200_30": "满200减30 </td><script>arm</script>",
    "tier": "<svg onload=alert(2)>senior",
}
#: ASCII words a Chinese page may show: method and model names, and their parameters.
ASCII_OK = {"CLV", "AUC", "AUUC", "AIC", "Brier", "BG", "NBD", "MBG", "Pareto", "Gamma", "alive",
            "alpha", "beta", "bootstrap", "Qini", "Holm", "Welch", "scikit", "uplift", "VIP",
            "qini_auc_score", "uplift_auc_score", "CN", "CNY"}


@pytest.fixture(scope="session")
def payload_shop(tmp_path_factory) -> Path:
    """A small Chinese-language demo shop whose params and one segment value hold markup."""
    root = tmp_path_factory.mktemp("payload_shop")
    raw = yaml.safe_load(DEMO_PARAMS.read_text(encoding="utf-8"))
    arms = [{**a, "label": PAYLOADS[a["name"]]} for a in raw["arms"]]
    params_file = write_params(root / "payload.yaml", root / "data", language="zh",
                               display_name=PAYLOADS["display_name"], arms=arms)
    # (a currency with markup is refused by the params: an ISO 4217 code, tests/test_params.py)
    generate_shop(root / "data", load_params(params_file), n_customers=4_000)
    path = root / "data" / "customers.parquet"
    customers = pd.read_parquet(path)
    customers["tier"] = customers["tier"].replace({"senior": PAYLOADS["tier"]})
    customers.to_parquet(path, index=False)
    return params_file


def visible_text(page: str) -> str:
    """What a reader sees: no style, no tags, entities decoded."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def check_escaped(page: str, not_shown: tuple[str, ...] = ()) -> None:
    """Every payload is on the page as text (but those of fields the page does not show),
    none as markup."""
    for name, payload in PAYLOADS.items():
        assert payload not in page, name
        assert name in not_shown or str(escape(payload)) in page, name
    assert "<script" not in page and "<img src=x" not in page


def check_translated(page: str) -> None:
    """No key of the translation table left untranslated, no English besides names."""
    text = visible_text(page)
    for payload in PAYLOADS.values():
        text = text.replace(payload, " ")
    keys = set(re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", text)) - ASCII_OK
    assert not keys, keys
    words = set(re.findall(r"[A-Za-z][A-Za-z_]+", text)) - ASCII_OK
    assert not words, words


@pytest.fixture(scope="module")
def clv(payload_shop):
    from crm_experiments.analyses.clv import campaign_clv

    params = load_params(payload_shop)
    shop = load_shop(params.data.path, params=params)
    return campaign_clv(shop, params, 30, n_boot=200)


def test_page_from_stored_copy_is_the_same(clv, tmp_path):
    from crm_experiments.analyses.clv import CampaignCLV
    from crm_experiments.report.clv_page import clv_body, clv_page

    nav = [("评估报告", "report.html")]
    stored = CampaignCLV.read(clv.write(tmp_path / "clv"))
    assert clv_page(clv, nav=nav) == clv_page(stored, nav=nav)
    assert clv_body(clv) == clv_body(stored)
    assert (tmp_path / "clv" / "models" / "clv" / "MLmodel").is_file()


def test_markup_is_text_and_chinese_is_complete(clv):
    from crm_experiments.report.clv_page import clv_page

    page = clv_page(clv, evaluation=None)
    check_escaped(page)
    check_translated(page)
    assert "@font-face" in page and "data:image/png;base64," in page
    assert '<html lang="zh-CN">' in page


def test_every_text_of_the_pages_has_both_languages():
    from crm_experiments.report.i18n import TEXT

    mine = [k for k in TEXT if k.startswith(("clv_", "churn_", "uplift_", "feature_"))]
    assert len(mine) > 100
    assert all(en and zh and en != zh or k.startswith("churn_scorer_p_alive")
               for k, (en, zh) in TEXT.items() if k in mine)


@pytest.mark.parametrize("lang, text", [
    ("en", "No CLV by Member tier: every assigned customer has the same value (unknown)."),
    ("zh", "未按会员等级列出 CLV：所有参与实验的客户取值相同（未知）。")])
def test_a_segment_with_one_value_is_a_note(lang, text):
    """An imported shop records no member tier: every customer's tier is 'unknown', and the
    page says so instead of a one-row table (tests/pipeline/test_real_shops.py end to end)."""
    from crm_experiments.report.clv_page import note_text

    note = {"key": "clv_note_segment_one_value", "segment": "tier", "value": "unknown"}
    assert note_text(note, lang) == text
