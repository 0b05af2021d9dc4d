"""Campaign types (issue 16.3): a shop discount, a payment reminder and a member day, each
evaluated on the small demo shop reshaped to that type and read in English and Chinese.

Per type: its words appear and no coupon word does (both languages), its cost lines equal an
independent pandas computation from the data files and params, and a cost the shop does not
record reads "no cost recorded" (with no ROI) instead of 0.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest

from crm_experiments.analyses.campaign import Evaluation
from crm_experiments.params import CampaignParams, load_params
from crm_experiments.report import pages
from crm_experiments.report.i18n import tr
from tests.analyses.test_campaign_shapes import (
    COUPON_WORDS,
    _evaluate,
    _reshaped,
    _same_stored_page,
    _section,
    _text,
)

HORIZON = 7
ARMS = {"coupon_100_10": "treat_a", "coupon_200_30": "treat_b"}


def _arms(**extra) -> list[dict]:
    a, b = extra.get("treat_a", {}), extra.get("treat_b", {})
    return [{"name": "control", "planned_share": 0.2, "label": "Holdout"},
            {"name": "treat_a", "planned_share": 0.4, "label": "Offer A", **a},
            {"name": "treat_b", "planned_share": 0.4, "label": "Offer B", **b}]


def _no_coupons(*, discount: bool = True, contacts: str | None = "sms"):
    """The shop without coupons: coupon ids dropped (their discounts stay on the orders unless
    ``discount`` is False), arms renamed, contacts on ``contacts`` (None: no contacts table)."""
    def change(data: Path) -> None:
        (data / "coupons.parquet").unlink()
        orders = pd.read_parquet(data / "orders.parquet")
        orders["coupon_id"] = None
        if not discount:
            orders["discount"] = None
        orders.to_parquet(data / "orders.parquet")
        a = pd.read_parquet(data / "assignments.parquet")
        a.assign(arm=a["arm"].replace(ARMS)).to_parquet(data / "assignments.parquet")
        if contacts is None:
            (data / "contacts.parquet").unlink()
        else:
            c = pd.read_parquet(data / "contacts.parquet")
            c.assign(channel=contacts, cost=0.01).to_parquet(data / "contacts.parquet")
    return change


def _in(lang: str, ev: Evaluation) -> Evaluation:
    """The same evaluation read in ``lang`` (the language only words the page)."""
    return dataclasses.replace(ev, params=ev.params.model_copy(update={"language": lang}))


def _purchases(params: CampaignParams) -> pd.DataFrame:
    """The assigned customers' purchases of the window, with their arm, from the files."""
    data = params.data.path
    o = pd.read_parquet(data / "orders.parquet")
    refund = o["refund_amount"].fillna(0)
    keep = (o["paid_at"].notna() & ((refund <= 0) | (refund < o["amount"]))
            & (o["created_at"] >= params.sale_start)
            & (o["created_at"] < params.window_end(HORIZON)))
    a = pd.read_parquet(data / "assignments.parquet")
    return o[keep].merge(a[a["campaign_id"] == params.campaign_id][["customer_id", "arm"]],
                         on="customer_id")


def _contact_costs(params: CampaignParams) -> pd.Series:
    c = pd.read_parquet(params.data.path / "contacts.parquet")
    a = pd.read_parquet(params.data.path / "assignments.parquet")
    c = c[c["campaign_id"] == params.campaign_id].merge(
        a[a["campaign_id"] == params.campaign_id][["customer_id", "arm"]], on="customer_id")
    return c.groupby("arm")["cost"].sum()


def _fixed_share(ev: Evaluation) -> pd.Series:
    n = ev.economics["customers"]
    return ev.params.costs.fixed_cost * n / n.sum()


def _check_words(ev: Evaluation, lang: str, tmp: Path | None, *present: str) -> str:
    """The page in ``lang``: the stored copy gives it too (unless ``tmp`` is None), every
    text of ``present`` is on it, no coupon word is. Returns the page."""
    ev = _in(lang, ev)
    page = _same_stored_page(ev, tmp) if tmp is not None else pages.evaluation_page(ev)
    text = _text(page)
    for word in COUPON_WORDS[lang]:
        at = text.find(word)
        assert at < 0, text[max(at - 200, 0):at + 100]
    for words in present:
        assert words in text, words
    return page


def _money_rows(page: str) -> list[str]:
    return re.findall(r"<tr>.*?</tr>", _section(page, "money"), re.S)[1:]


# --- shop discount (店铺优惠) ----------------------------------------------------------------
@pytest.fixture(scope="module")
def shop_discount(small_shop, tmp_path_factory):
    path = _reshaped(small_shop, tmp_path_factory.mktemp("shop_discount"), _no_coupons(),
                     campaign_type="shop_discount", arms=_arms(),
                     display_name="Member-only shop discount")
    return _evaluate(load_params(path), HORIZON)


def test_shop_discount_costs_are_the_discounts_on_its_orders(shop_discount):
    ev = shop_discount
    assert ev.summary()["campaign_type"] == "shop_discount"
    econ = ev.economics
    buys = _purchases(ev.params)
    discounts = buys[buys["coupon_id"].isna()].groupby("arm")["discount"].sum()
    assert discounts["treat_a"] > 0  # the reshaped coupons' discounts are shop discounts now
    pd.testing.assert_series_equal(econ["discount_cost"], discounts.loc[econ.index],
                                   check_names=False, rtol=1e-9)
    messages = _contact_costs(ev.params).loc[econ.index]
    pd.testing.assert_series_equal(econ["message_cost"], messages, check_names=False)
    total = discounts.loc[econ.index] + messages + _fixed_share(ev)
    pd.testing.assert_series_equal(econ["total_cost"], total, check_names=False, rtol=1e-9)
    assert (econ["coupon_cost"] == 0).all()
    assert econ["discount_cost_recorded"].all() and econ["cost_recorded"].all()
    assert (econ["roi"] == econ["incremental_profit"] / econ["total_cost"]).all()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_shop_discount_reads_as_one(shop_discount, lang, tmp_path):
    page = _check_words(shop_discount, lang, tmp_path / "results",
                        tr("discount_cost", lang), tr("costs_shop_discount", lang),
                        tr("gloss_holdout_text_shop_discount", lang),
                        tr("methods_money_shop_discount", lang), tr("money_message", lang))
    money = _text(_section(page, "money"))
    assert tr("coupon_cost", lang) not in money and tr("no_cost_recorded", lang) not in money


def test_shop_discount_without_recorded_discounts_says_so(small_shop, tmp_path):
    path = _reshaped(small_shop, tmp_path, _no_coupons(discount=False),
                     campaign_type="shop_discount", arms=_arms(), display_name="Shop discount")
    ev = _evaluate(load_params(path), HORIZON)
    econ = ev.economics
    assert not econ["discount_cost_recorded"].any() and (econ["discount_cost"] == 0).all()
    assert not econ["cost_recorded"].any()  # messages and fixed costs alone give no ROI
    assert econ[["roi", "cost_per_incremental_order"]].isna().all().all()
    assert "note_no_cost" in ev.notes
    for lang in ("en", "zh"):
        page = _check_words(ev, lang, None, tr("note_no_cost_shop_discount", lang))
        rows = _money_rows(page)
        # ROI, discounts and cost per incremental order; the campaign cost is at least the
        # recorded messages and fixed cost
        assert rows and all(r.count(tr("no_cost_recorded", lang)) == 3 for r in rows)
        assert all(_cost_at_least(r, lang) for r in rows)


def _cost_at_least(row: str, lang: str) -> bool:
    """The money row's campaign cost reads as a lower bound (some cost is not recorded)."""
    return all(part.strip() in row
               for part in tr("cost_at_least", lang, amount="\0").split("\0"))


# --- payment reminders (催付) against a holdout --------------------------------------------
@pytest.fixture(scope="module")
def reminders(small_shop, tmp_path_factory):
    path = _reshaped(small_shop, tmp_path_factory.mktemp("reminders"),
                     _no_coupons(discount=False, contacts="wangwang"),
                     campaign_type="payment_reminder", arms=_arms(),
                     display_name="Unpaid-order reminders",
                     costs={"gross_margin": 0.45, "message_cost": {"wangwang": 0.0},
                            "fixed_cost": 100.0, "currency": "CNY"})
    return _evaluate(load_params(path), HORIZON)


def test_payment_reminder_costs_and_recovered_orders(reminders):
    ev = reminders
    econ = ev.economics
    messages = _contact_costs(ev.params).loc[econ.index]
    pd.testing.assert_series_equal(econ["message_cost"], messages, check_names=False)
    pd.testing.assert_series_equal(econ["total_cost"], messages + _fixed_share(ev),
                                   check_names=False, rtol=1e-9)
    assert "discount_cost" not in econ and econ["message_cost_recorded"].all()
    # paid orders recovered: the holdout comparison of paid orders, scaled to the arm
    effects = {(e.arm, e.metric): e.estimate for e in ev.comparison.effects}
    for arm, row in econ.iterrows():
        assert row["incremental_orders"] == pytest.approx(effects[(arm, "orders")]
                                                          * row["customers"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_payment_reminder_reads_as_one(reminders, lang, tmp_path):
    page = _check_words(reminders, lang, tmp_path / "results",
                        tr("message_cost_payment_reminder", lang),
                        tr("paid_orders_recovered", lang), tr("costs_payment_reminder", lang),
                        tr("methods_money_payment_reminder", lang),
                        tr("gloss_holdout_text_payment_reminder", lang),
                        tr("gloss_incremental_profit_text_payment_reminder", lang))
    header = re.findall(r"<th>(.*?)</th>", _section(page, "money"))
    assert tr("message_cost", lang) not in header


def test_payment_reminder_without_contacts_says_no_cost(small_shop, tmp_path):
    path = _reshaped(small_shop, tmp_path, _no_coupons(contacts=None),
                     campaign_type="payment_reminder", arms=_arms(), display_name="Reminders")
    ev = _evaluate(load_params(path), HORIZON)
    econ = ev.economics
    assert not econ["message_cost_recorded"].any() and not econ["cost_recorded"].any()
    page = _check_words(ev, "zh", None, tr("note_no_cost_payment_reminder", "zh"))
    rows = _money_rows(page)
    assert rows and all(r.count(tr("no_cost_recorded", "zh")) == 3 for r in rows)
    assert all(_cost_at_least(r, "zh") for r in rows)


# --- member day and tier benefits ----------------------------------------------------------
@pytest.fixture(scope="module")
def member_day(small_shop, tmp_path_factory):
    """Arm A's benefit costs 5 per buying member; arm B's cost is not in the params."""
    path = _reshaped(small_shop, tmp_path_factory.mktemp("member_day"), _no_coupons(),
                     campaign_type="member_day", arms=_arms(treat_a={"benefit_cost": 5.0}),
                     display_name="Member day", language="zh")
    return _evaluate(load_params(path), HORIZON)


def test_member_day_costs_per_buying_member(member_day):
    ev = member_day
    econ = ev.economics
    buys = _purchases(ev.params)
    buyers = buys.groupby("arm")["customer_id"].nunique()
    assert econ.loc["treat_a", "benefit_cost"] == pytest.approx(5.0 * buyers["treat_a"])
    assert econ.loc["treat_b", "benefit_cost"] == 0
    assert econ["benefit_cost_recorded"].tolist() == [True, False]
    discounts = buys[buys["coupon_id"].isna()].groupby("arm")["discount"].sum()
    messages = _contact_costs(ev.params)
    total = (econ["benefit_cost"] + discounts.loc[econ.index] + messages.loc[econ.index]
             + _fixed_share(ev))
    pd.testing.assert_series_equal(econ["total_cost"], total, check_names=False, rtol=1e-9)
    assert econ["cost_recorded"].tolist() == [True, False]
    assert pd.isna(econ.loc["treat_b", "roi"]) and pd.notna(econ.loc["treat_a", "roi"])
    # the benefit is a cost of every buying member: net profit pays it
    effect = {e.arm: e for e in ev.comparison.effects if e.metric == "net_profit"}
    gross = {e.arm: e for e in ev.comparison.effects if e.metric == "gross_profit"}
    assert effect["treat_a"].estimate < gross["treat_a"].estimate


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_member_day_reads_as_one(member_day, lang, tmp_path):
    page = _check_words(member_day, lang, tmp_path / "results",
                        tr("benefit_cost", lang), tr("discount_cost", lang),
                        tr("costs_member_day", lang), tr("methods_money_member_day", lang),
                        tr("gloss_holdout_text_member_day", lang),
                        tr("note_no_cost_member_day", lang))
    rows = {r.split("</td>")[0]: r for r in _money_rows(page)}
    offer_a = next(r for k, r in rows.items() if "Offer A" in k)
    offer_b = next(r for k, r in rows.items() if "Offer B" in k)
    assert tr("no_cost_recorded", lang) not in offer_a
    # ROI, benefits and cost per incremental order; the campaign cost is a lower bound
    assert offer_b.count(tr("no_cost_recorded", lang)) == 3 and _cost_at_least(offer_b, lang)


# --- the uplift page, its title in the navigation and the portal ---------------------------
@pytest.fixture(scope="module")
def member_day_uplift(member_day):
    from crm_experiments.analyses.uplift import analyse_campaign_uplift
    from crm_experiments.io.reader import load_shop

    params = member_day.params
    shop = load_shop(params.data.path, timezone=params.timezone, params=params)
    return analyse_campaign_uplift(shop, params, HORIZON, max_train=1_000)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_uplift_page_and_portal_without_coupon_words(member_day, member_day_uplift, lang,
                                                     tmp_path):
    from crm_experiments.analyses.uplift import UpliftAnalysis
    from crm_experiments.report.uplift_page import uplift_page

    ev = _in(lang, member_day)
    uplift = dataclasses.replace(member_day_uplift, language=lang)
    assert uplift.summary()["campaign_type"] == "member_day"
    cols = ["total_cost", "roi", "cost_recorded"]
    pd.testing.assert_frame_equal(uplift.economics[cols], ev.economics[cols])
    nav = pages.page_nav(["coupon_uplift"], lang, campaign_type="member_day")
    page = uplift_page(uplift, evaluation=ev, nav=nav)
    assert page == uplift_page(UpliftAnalysis.read(uplift.write(tmp_path / "u")),
                               evaluation=ev, nav=nav)
    text = _text(page)
    for word in COUPON_WORDS[lang]:
        at = text.find(word)
        assert at < 0, text[max(at - 200, 0):at + 100]
    assert tr("page_coupon_uplift_message", lang) in text
    assert tr("uplift_money_title_message", lang) in text
    offer_b = next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "Offer B" in r)
    assert offer_b.count(tr("no_cost_recorded", lang)) == 3
    skipped = pages.skipped_page("coupon_uplift", {"status": "skipped"}, lang,
                                 campaign_type="member_day")
    assert tr("page_coupon_uplift_message", lang) in _text(skipped)
    entry = {**ev.summary(), "_href": "c/7/report.html",
             "pages": ["report.html", "coupon_uplift.html"]}
    portal = _text(pages.portal_page([entry]))
    assert tr("page_coupon_uplift_message", "en") in portal
    assert tr("page_coupon_uplift_message", "zh") in portal
    assert tr("page_coupon_uplift", "en") not in portal
