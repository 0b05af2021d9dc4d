"""Shops that are not the demo: an evaluation claims nothing it did not compute.

Each shop is the small demo shop reshaped as users bring theirs: orders only from the sale
start on (no history), no shipping times, a message-only e-mail campaign in dollars, a
campaign without any recorded cost. ``evaluate`` and ``evaluation_page`` run directly; the
stored copy must give the same page.
"""

from __future__ import annotations

import html as htmllib
import math
import re
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from crm_experiments.analyses.campaign import Evaluation, evaluate
from crm_experiments.params import load_params
from crm_experiments.report import pages
from crm_experiments.report.i18n import TEXT, tr
from tests.conftest import write_params

COUPON_WORDS = {"en": ("coupon", "Coupon"), "zh": ("优惠券", "券")}


def _reshaped(small_shop: Path, root: Path, change, **overrides) -> Path:
    """A copy of the small shop's data changed by ``change(data_dir)``, and its params."""
    data = root / "data"
    shutil.copytree(small_shop.parent / "data", data)
    change(data)
    return write_params(root / "p.yaml", data, **overrides)


def _text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section class="crm-{name}">.*?</section>', page, re.S)
    return found.group(0) if found else ""


def _evaluate(params, horizon=7) -> Evaluation:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels on tiny segments
        return evaluate(params, horizon)


def _same_stored_page(ev: Evaluation, tmp: Path) -> str:
    page = pages.evaluation_page(ev)
    assert pages.evaluation_page(Evaluation.read(ev.write(tmp))) == page
    return page


# --- (a) no purchase history before the sale ----------------------------------------------
@pytest.fixture(scope="module")
def no_history(small_shop, tmp_path_factory):
    start = load_params(small_shop).sale_start

    def cut(data: Path) -> None:
        orders = pd.read_parquet(data / "orders.parquet")
        orders[orders["created_at"] >= start].to_parquet(data / "orders.parquet")

    params = load_params(_reshaped(small_shop, tmp_path_factory.mktemp("no_history"), cut))
    return _evaluate(params)


def test_no_history_kpis_and_before_after_are_no_data(no_history, tmp_path):
    ev = no_history
    assert ev.coverage == {"sale": "full", "weeks_before": "none", "last_year": "none",
                           "cohort_ordinary": "none"}
    kpis = ev.tables()["kpis"].set_index("kpi")
    assert kpis[["weeks_before", "last_year"]].isna().all().all()  # not 0 orders, not ¥0
    assert kpis.loc["orders", "sale"] > 0
    before = ev.tables()["stickiness"].query("period == 'before'")
    assert set(before["coverage"]) == {"none"} and before["buyers"].isna().all()
    page = _same_stored_page(ev, tmp_path / "results")
    kpi_rows = re.findall(r"<tr>.*?</tr>", _section(page, "kpis"), re.S)[1:]
    orders_row = next(r for r in kpi_rows if f">{tr('kpi_orders', 'en')}<" in r)
    assert orders_row.count(tr("no_data", "en")) == 2 and ">0<" not in orders_row
    assert tr("kpi_coverage_none", "en", date="Nov 1, 2025") in _text(page)
    rows = re.findall(r"<tr>.*?</tr>", _section(page, "before-after"), re.S)[1:]
    assert rows and all(r.count(tr("no_data", "en")) == 4 for r in rows)
    # buyers acquired in ordinary weeks before the sale: not in the data either
    assert ev.coverage["cohort_ordinary"] == "none"
    ordinary = next(r for r in re.findall(r"<tr>.*?</tr>", _section(page, "cohorts"), re.S)
                    if tr("cohort_ordinary", "en") in r)
    assert tr("no_data", "en") in ordinary and tr("not_complete", "en") not in ordinary
    assert tr("reactivation_none", "en") in _text(_section(page, "reactivation"))


def test_no_history_names_no_adjustment_and_leaves_out_did(no_history):
    """Without history the purchase covariates adjust nothing: the Methods text names them as
    not in the data, and the effects are adjusted on what the shop has (tier, gender) only."""
    ev = no_history
    effects = ev.tables()["effects"]
    assert "cuped" not in set(effects["method"])
    methods = ev.summary()["methods"]
    assert {"pre_period", "history", "lifecycle_state"} <= set(methods["covariates_missing"])
    assert all(set(m["covariate_groups"]) <= {"tier", "gender"} for m in methods["metrics"])
    assert "pre_revenue" in methods["covariates_without_spread"] and methods["did"] == []
    assert ev.did.empty and "note_no_did" in ev.notes
    page = pages.evaluation_page(ev)
    text = _text(_section(page, "methods"))
    assert "CUPED" not in text
    missing = tr("methods_covariates_missing", "en", groups="x").split(":")[0]
    assert missing in text and tr("covgroup_history", "en") in text.split(missing)[1]
    assert tr("methods_no_history", "en", covariates="x").split(":")[0] not in text
    assert tr("methods_did", "en") not in text
    assert "CUPED" not in _text(_section(page, "glossary"))
    assert 'class="crm-did"' not in page
    assert tr("note_no_did", "en") in _text(_section(page, "notes"))
    if ev.summary()["methods"]["heterogeneity"]:
        assert tr("methods_heterogeneity_plain", "en") in text


def test_no_history_interactions_section_says_why(no_history):
    """Participants are compared with customers who bought before the sale: none here, so the
    section holds the note, not a table of empty rows."""
    ev = no_history
    assert ev.tables()["interactions"].empty and "note_interactions_no_history" in ev.notes
    section = _section(pages.evaluation_page(ev), "interactions")
    assert tr("note_interactions_no_history", "en") in _text(section) and "<table" not in section


# --- (b) no shipping times -----------------------------------------------------------------
def test_shipping_rates_unknown_without_shipped_at(small_shop, tmp_path):
    def drop(data: Path) -> None:
        orders = pd.read_parquet(data / "orders.parquet").drop(columns="shipped_at")
        orders.to_parquet(data / "orders.parquet")

    ev = _evaluate(load_params(_reshaped(small_shop, tmp_path, drop, language="zh")))
    kpis = ev.tables()["kpis"].set_index("kpi")
    assert kpis.loc[["shipped_same_day_rate", "not_shipped_rate"]].isna().all().all()
    assert kpis.loc["orders"].notna().all()  # the history is there
    assert "note_no_shipping" in ev.notes
    page = _same_stored_page(ev, tmp_path / "results")
    rows = re.findall(r"<tr>.*?</tr>", _section(page, "kpis"), re.S)
    not_shipped = next(r for r in rows if tr("not_shipped_rate", "zh") in r)
    assert not_shipped.count(tr("unknown", "zh")) == 3 and "100" not in not_shipped
    assert tr("note_no_shipping", "zh") in _text(_section(page, "notes"))


# --- (c) a message-only e-mail campaign in dollars; (d) one without any cost ---------------
def _message_only(cost: float):
    def change(data: Path) -> None:
        (data / "coupons.parquet").unlink()
        orders = pd.read_parquet(data / "orders.parquet")
        orders["coupon_id"] = None
        orders.to_parquet(data / "orders.parquet")
        contacts = pd.read_parquet(data / "contacts.parquet")
        contacts.assign(channel="email", cost=cost).to_parquet(data / "contacts.parquet")
    return change


def _message_arms(fixed_cost: float, price: float = 0.002) -> dict:
    return {
        "display_name": "Welcome e-mail",
        "arms": [{"name": "control", "planned_share": 0.2, "label": "No e-mail"},
                 {"name": "coupon_100_10", "planned_share": 0.4, "label": "E-mail A"},
                 {"name": "coupon_200_30", "planned_share": 0.4, "label": "E-mail B"}],
        "costs": {"gross_margin": 0.45, "message_cost": {"email": price},
                  "fixed_cost": fixed_cost, "currency": "USD"},
    }


@pytest.fixture(scope="module")
def dollar_email(small_shop, tmp_path_factory):
    path = _reshaped(small_shop, tmp_path_factory.mktemp("dollar_email"), _message_only(0.002),
                     **_message_arms(300.0))
    params = load_params(path)
    return {lang: _evaluate(params.model_copy(update={"language": lang}))
            for lang in ("en", "zh")}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_message_campaign_in_dollars_reads_as_one(dollar_email, lang, tmp_path):
    ev = dollar_email[lang]
    summary = ev.summary()
    assert summary["campaign_type"] == "message" and summary["currency"] == "USD"
    assert (ev.economics["coupon_cost"] == 0).all() and ev.economics["cost_recorded"].all()
    page = _same_stored_page(ev, tmp_path / "results")
    text = _text(page)
    for word in COUPON_WORDS[lang]:
        assert word not in text, word
    assert "¥" not in text and "元" not in text and "yuan" not in text
    money = _text(_section(page, "money"))
    assert ("US$" if lang == "zh" else "$") in money
    assert tr("money_message", lang) in money and tr("coupon_cost", lang) not in money
    assert tr("gloss_holdout_text_message", lang) in _text(_section(page, "glossary"))


def test_no_coupon_words_are_left_for_message_campaigns():
    """Every evaluation text that names coupons has a message-only wording, or is not shown
    for a message-only campaign (the coupon cost column)."""
    used = {"money", "decisions", "contacted", "methods_intro", "methods_money",
            "gloss_holdout_text", "gloss_incremental_profit_text", "costs"}
    for key in used - {"costs"}:
        assert "coupon" in TEXT[key][0] and "coupon" not in TEXT[f"{key}_message"][0], key
    assert "coupon" not in TEXT["costs_message"][0]
    for key in ("status_profitable", "decision_roll_out", "gloss_roi_text"):
        assert "coupon" not in TEXT[key][0] and "yuan" not in TEXT[key][0], key
        assert "元" not in TEXT[key][1], key


def test_campaign_without_recorded_cost_says_so(small_shop, tmp_path):
    path = _reshaped(small_shop, tmp_path, _message_only(0.0), **_message_arms(0.0, 0.0))
    ev = _evaluate(load_params(path))
    econ = ev.economics
    assert (econ["total_cost"] == 0).all() and not econ["cost_recorded"].any()
    assert econ[["roi", "cost_per_incremental_order"]].isna().all().all()
    assert "note_no_cost" in ev.notes
    assert all(math.isfinite(v) for v in ev.metrics().values())
    page = _same_stored_page(ev, tmp_path / "results")
    money = _section(page, "money")
    rows = re.findall(r"<tr>.*?</tr>", money, re.S)[1:]
    assert rows and all(r.count(tr("no_cost_recorded", "en")) == 3 for r in rows)
    assert "0.00" not in money and "∞" not in page and "inf" not in _text(money)
    summary = _text(_section(page, "summary"))
    assert tr("roi_clause_no_cost", "en").strip("; ") in summary


def test_window_coverage_from_the_first_and_last_order():
    from crm_experiments.metrics.kpis import window_coverage

    span = (pd.Timestamp("2025-03-10 09:31"), pd.Timestamp("2025-12-30 23:00"))
    assert window_coverage(span, "2025-03-10", "2025-04-01") == "full"  # same first day
    assert window_coverage(span, "2025-03-01", "2025-04-01") == "partial"
    assert window_coverage(span, "2025-02-01", "2025-03-10") == "none"
    assert window_coverage(span, "2026-01-01", "2026-02-01") == "none"  # after the data
    assert window_coverage((None, None), "2025-03-01", "2025-04-01") == "none"


def test_window_partly_in_the_data_is_shown_and_said(small_shop, tmp_path):
    """Orders from 10 days before the sale: the weeks before are partly covered (figures shown,
    with a line saying so), last year not at all."""
    start = load_params(small_shop).sale_start

    def cut(data: Path) -> None:
        orders = pd.read_parquet(data / "orders.parquet")
        keep = orders["created_at"] >= start - pd.Timedelta(days=10)
        orders[keep].to_parquet(data / "orders.parquet")

    ev = _evaluate(load_params(_reshaped(small_shop, tmp_path, cut)))
    assert ev.coverage["weeks_before"] == "partial" and ev.coverage["last_year"] == "none"
    kpis = ev.tables()["kpis"].set_index("kpi")
    assert kpis.loc["orders", "weeks_before"] > 0 and math.isnan(kpis.loc["orders", "last_year"])
    text = _text(_section(pages.evaluation_page(ev), "kpis"))
    date = pd.Timestamp(ev.summary()["data_start"])
    assert tr("kpi_coverage_partial", "en", date=f"{date:%b} {date.day}, {date.year}",
              window=tr("weeks_before", "en")) in text


def test_coupon_cost_unknown_without_any_redemption_record(small_shop, tmp_path):
    """A coupon campaign's cost comes from the coupons table, else from the orders' coupon
    ids; an import with neither (a Taobao order export) has it unknown, not 0: no ROI
    (tests/pipeline/test_real_shops.py shows the page)."""
    from crm_experiments.analyses.campaign import costs_recorded
    from crm_experiments.io.reader import load_shop

    def shop(drop_coupons: bool, drop_ids: bool):
        root = tmp_path / f"c{int(drop_coupons)}{int(drop_ids)}"

        def change(data: Path) -> None:
            if drop_coupons:
                (data / "coupons.parquet").unlink()
            if drop_ids:
                orders = pd.read_parquet(data / "orders.parquet")
                orders["coupon_id"] = None
                orders.to_parquet(data / "orders.parquet")

        params = load_params(_reshaped(small_shop, root, change))
        return load_shop(params.data.path, params=params), params

    assert costs_recorded(*shop(False, False)) is None
    assert costs_recorded(*shop(True, False)) is None  # the orders' coupon ids
    assert costs_recorded(*shop(True, True)) == {"coupon_cost": False}
