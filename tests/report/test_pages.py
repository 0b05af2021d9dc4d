"""The evaluation page and the portal: rendered from a result's summary and tables only (live
and stored copies give the same page), in the campaign's language, verdict first, every text
from params or data escaped."""

import html as htmllib
import re
from dataclasses import replace

import pytest

from crm_experiments.analyses.campaign import Evaluation, decide, evaluate
from crm_experiments.params import load_params
from crm_experiments.report import pages, render
from crm_experiments.report.format import pct
from crm_experiments.report.i18n import TEXT, tr
from crm_experiments.stats.srm import check_sample_ratio

PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def _with(params, *, language="en", name=None, labels=None, currency=None):
    arms = [a.model_copy(update={"label": labels[i]}) if labels else a
            for i, a in enumerate(params.arms)]
    update = {"language": language, "arms": arms}
    if name is not None:
        update["display_name"] = name
    if currency is not None:
        update["costs"] = params.costs.model_copy(update={"currency": currency})
    return params.model_copy(update=update)


@pytest.fixture(scope="module")
def evaluation(small_shop):
    """Chinese, with markup in the campaign's name (as the old section tests)."""
    params = _with(load_params(small_shop), language="zh",
                   name="<script>alert(1)</script> 双十一",
                   labels=["对照组", "满100减10", "满200减30"])
    return evaluate(params, 7)


@pytest.fixture(scope="module")
def hostile(small_shop):
    """Markup in the name, every arm label and the currency."""
    params = _with(load_params(small_shop), name=PAYLOADS[0] + " D11",
                   labels=[PAYLOADS[1], PAYLOADS[0], "ok" + PAYLOADS[1]], currency=PAYLOADS[1])
    return evaluate(params, 7)


def _text(page: str) -> str:
    """The visible text of a page (no tags, style or data URIs), unescaped."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


def _section(page: str, name: str) -> str:
    return re.search(rf'<section class="crm-{name}">.*?</section>', page, re.S).group(0)


def test_chinese_report_and_escaping(evaluation):
    page = pages.evaluation_page(evaluation)
    head = _section(page, "header") + _section(page, "summary")
    assert "活动效果评估" in head and "结论" in head
    assert "<script>" not in page and "&lt;script&gt;" in head
    assert "投资回报率" in _section(page, "money")
    assert "方法说明" in _section(page, "methods")
    assert '<html lang="zh-CN">' in page


def test_every_label_has_both_languages():
    for key, (en, zh) in TEXT.items():
        assert en and zh, key
        assert tr(key, "en") == en and tr(key, "zh") == zh


def test_srm_failure_shows_banner_and_withholds_verdict(evaluation):
    srm = check_sample_ratio({"control": 100, "coupon_100_10": 400, "coupon_200_30": 400},
                             {"control": 0.2, "coupon_100_10": 0.4, "coupon_200_30": 0.4})
    # 100 of 900 against a planned 20%: p far below 0.001
    assert not srm.passed
    comparison = replace(evaluation.comparison, srm=srm)
    broken = replace(evaluation, comparison=comparison,
                     verdict=decide(evaluation.economics, comparison))
    assert broken.verdict.status == "withheld"
    page = pages.evaluation_page(broken)
    assert "样本比例不匹配" in _section(page, "header")
    assert "结论暂缓" in _section(page, "summary")
    assert set(broken.summary()["decisions"].values()) == {"withheld"}


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
    text = re.sub(r"<span[^>]*>|</span>", "", index)  # figures are marked data-figure spans
    assert "CN¥10 (CN¥1 … CN¥20)" in text  # Babel's en_US writes CNY as CN¥
    assert '<span data-figure="a.incremental_profit">CN¥10</span>' in index
    assert (tmp_path / "new_campaign" / "30d" / "report.html").stat().st_mode & 0o044


def test_effects_table_formats_each_metric_in_its_unit(evaluation):
    table = _section(pages.evaluation_page(evaluation), "effects")
    rows = {re.sub("<[^>]+>", "|", r).split("|")[4]: r
            for r in re.findall(r"<tr>.*?</tr>", table)[1:]}
    assert "¥" not in rows["每客户订单数"]        # orders per customer: a count
    assert "%" in rows["购买率"] and "¥" not in rows["购买率"]  # buyers: a share
    assert "¥" in rows["每客户净利润"]             # money


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_from_live_and_stored_result_is_identical(small_shop, evaluation, tmp_path, lang):
    ev = evaluation if lang == "zh" else evaluate(load_params(small_shop), 7)
    nav = pages.page_nav(["clv_churn"], lang, "coupon")
    live = pages.evaluation_page(ev, nav=nav)
    stored = Evaluation.read(ev.write(tmp_path / "results"))
    assert stored.summary() == ev.summary()
    assert pages.evaluation_page(stored, nav=nav) == live
    assert len(re.findall(r'<img src="data:image/png;base64,', live)) >= 5
    assert 'href="clv_churn.html"' in live


def test_chinese_page_has_no_english_from_the_table(evaluation):
    text = _text(pages.evaluation_page(evaluation))
    left = []
    for key, (en, zh) in TEXT.items():
        if en == zh or key.startswith("portal_"):
            continue
        for fragment in re.split(r"\{[^}]*\}", en):
            fragment = fragment.strip(" .,:;()")
            if len(fragment) >= 4 and re.search(r"[A-Za-z]{3}", fragment) and fragment in text:
                left.append((key, fragment))
    assert left == []


def test_markup_in_names_labels_and_currency_is_shown_as_text(hostile, tmp_path):
    page = pages.evaluation_page(hostile)
    assert "<script>" not in page and "<img src=x" not in page
    assert 'onerror=alert(1)>' not in page
    text = _text(page)
    for payload in PAYLOADS:
        assert payload in text  # shown, as text
    # the portal, from the summary the runner publishes
    summary = {**hostile.summary(), "pages": ["clv_churn.html"],
               "mlflow_run_url": "http://mlflow.local/#/runs/1"}
    render.publish_report(tmp_path, hostile.params.campaign_id, 7, page, summary)
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in index and "<img src=x" not in index
    assert PAYLOADS[0] + " D11" in _text(index)  # the campaign's name
    assert hostile.summary()["best_arm_label"] in _text(index)  # the best arm, by its label


def test_methods_say_what_was_applied(evaluation):
    methods = evaluation.summary()["methods"]
    assert methods["correction"] == "holm"
    assert methods["family_size"] == len(evaluation.comparison.effects) == 10
    by_metric = {m["metric"]: m for m in methods["metrics"]}
    groups = ["pre_period", "history", "lifecycle_state", "tier", "gender"]
    assert by_metric["revenue"]["covariate_groups"] == groups  # every declared group
    assert by_metric["revenue"]["methods"] == ["lin_ols_hc2"]
    section = _section(pages.evaluation_page(evaluation), "methods")
    assert "Holm" in section and "10 个比较" in section
    assert all(tr(f"covgroup_{g}", "zh") in section for g in groups)
    per_metric = re.search(r"<ul>.*?</ul>", section, re.S).group(0)
    assert "Lin" in per_metric and "Welch" not in per_metric  # no test that was not applied
    # what the adjustment bought, per metric and arm, with the reduction the effects carry
    rows = re.findall(r"<tr><td>.*?</tr>", section.split(tr("adjustment_table_intro", "zh"))[1],
                      re.S)
    assert len(rows) == len(evaluation.comparison.effects)


def test_a_copy_stored_before_the_adjustment_table_renders_its_one_covariate(evaluation,
                                                                           tmp_path):
    """A schema-2 result (stored before issue 18.1: one covariate per metric, no adjustment
    table) is still read and its Methods name that covariate, without the new table."""
    import json

    folder = evaluation.write(tmp_path / "results")
    (folder / "tables" / "adjustment.parquet").unlink()
    doc = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    doc["schema_version"] = 2
    for m in doc["summary"]["methods"]["metrics"]:
        m["covariate"] = {"converted": "pre_converted", "orders": "pre_orders"}.get(
            m["metric"], "pre_revenue")
        del m["covariate_groups"], m["covariate_columns"]
    for key in ("covariates_missing", "strata", "strata_column"):
        del doc["summary"]["methods"][key]
    (folder / "result.json").write_text(json.dumps(doc), encoding="utf-8")
    section = _section(pages.evaluation_page(Evaluation.read(folder)), "methods")
    assert tr("covariate_pre_revenue", "zh") in section
    assert tr("adjustment_table_intro", "zh") not in section


def test_effects_table_and_chart_name_the_level_of_the_intervals_they_show(evaluation):
    """The effects table shows the Holm family's intervals at the Bonferroni level: its header
    says that level (not 95%), and the chart draws those same relative intervals."""

    level = evaluation.summary()["methods"]["interval_level"]
    assert level == pytest.approx(1 - 0.05 / 10)
    effects = _section(pages.evaluation_page(evaluation), "effects")
    assert tr("interval_at", "zh", level=pct(level, "zh", 1)) in effects
    frame = evaluation.tables()["effects"]
    low, high = _effects_chart_bars(frame, lang="zh", level=level)
    assert low == pytest.approx(list(frame["rel_ci_low_adjusted"] * 100), nan_ok=True)
    assert high == pytest.approx(list(frame["rel_ci_high_adjusted"] * 100), nan_ok=True)


def _effects_chart_bars(frame, **kw) -> tuple[list, list]:
    """The interval ends (percent) the effects chart draws for ``frame``: a spy on its
    error bars."""
    from crm_experiments.report import charts

    drawn = []
    original = charts.plt.Axes.errorbar

    def spy(self, x, y, xerr=None, **kw):
        drawn.append((x, xerr))
        return original(self, x, y, xerr=xerr, **kw)

    charts.plt.Axes.errorbar = spy
    try:
        charts.effects_chart(frame, labels={}, **kw)
    finally:
        charts.plt.Axes.errorbar = original
    est, (left, right) = drawn[0]
    return list(est - left), list(est + right)


def test_notebook_sections_are_the_page_body(evaluation):
    sections = pages.evaluation_sections(evaluation)
    assert [s.name for s in sections] == list(pages.SECTIONS)
    assert "<style>" in sections[0]._repr_html_()
    page = pages.evaluation_page(evaluation)
    for s in sections:
        body = s.html.split("</style>")[-1]
        body = body.replace('<div class="crm-report">', "", 1).rsplit("</div>", 1)[0].strip()
        assert body in page, s.name


def test_verdict_first_then_each_arm_in_words(evaluation):
    page = pages.evaluation_page(evaluation)
    text = _text(page)
    assert text.index("结论") < text.index("各优惠券组的收益")  # verdict before the money table
    items = re.findall(r'<li class="crm-(\w+)">(.*?)</li>', _section(page, "summary"), re.S)
    decisions = evaluation.summary()["decisions"]
    assert [d for d, _ in items] == list(decisions.values())
    for (decision, item), arm in zip(items, decisions, strict=True):
        row = evaluation.economics.loc[arm]
        assert evaluation.params.arm(arm).label in item
        assert tr("decision_label_" + decision, "zh") in item
        assert pages_money(row["incremental_profit"]) in item


def pages_money(value):
    from crm_experiments.report.format import money

    return money(value, "CNY", "zh")


def test_shop_without_contacts_reviews_or_surveys(small_shop, tmp_path):
    """Sections without their data are left out, the data notes say why (translated), and the
    stored copy of a result with empty tables gives the same page."""
    import shutil

    from tests.conftest import write_params

    data = tmp_path / "data"
    shutil.copytree(small_shop.parent / "data", data)
    for table in ("contacts", "reviews", "surveys"):
        (data / f"{table}.parquet").unlink(missing_ok=True)
    params = _with(load_params(write_params(tmp_path / "p.yaml", data)), language="zh",
                   labels=["对照组", "满100减10", "满200减30"])
    ev = evaluate(params, 7)
    assert {"note_no_satisfaction", "note_no_contacts"} <= set(ev.notes)
    page = pages.evaluation_page(ev)
    assert 'class="crm-reactivation"' not in page
    notes = _text(_section(page, "notes"))
    assert tr("note_no_contacts", "zh") in notes and "note_no_contacts" not in notes
    assert pages.evaluation_page(Evaluation.read(ev.write(tmp_path / "results"))) == page


def test_interactive_activities_flagged_as_observational(evaluation):
    """The demo shop's activities: participants vs non-participants, raw and adjusted, with
    the observational flag, money and shares in the page's formats, and the Methods line."""
    page = pages.evaluation_page(evaluation)
    section = _section(page, "interactions")
    text = _text(section)
    assert tr("interactions", "zh") in text and tr("interactions_flag", "zh") in text
    table = evaluation.tables()["interactions"]
    sign_in = table.set_index(["kind", "outcome"]).loc[("sign_in", "revenue")]
    from crm_experiments.report.format import money, pct

    assert "签到" in text and money(sign_in["mean_participants"], "CNY", "zh", 2) in text
    assert money(sign_in["adjusted_ci_high"], "CNY", "zh", 2) in text
    converted = table.set_index(["kind", "outcome"]).loc[("sign_in", "converted")]
    assert pct(converted["adjusted_estimate"], "zh", 2, True) in text
    rows = re.findall(r"<tr>.*?</tr>", section, re.S)[1:]
    revenue = next(r for r in rows if "每客户收入" in r and "¥" in r)
    assert "%" not in revenue
    assert "¥" not in next(r for r in rows if "购买率" in r and "%" in r)
    if (table["n_participants"] < 30).any():  # the 4,000-customer shop: too few voters
        assert tr("too_few_participants", "zh", n=30) in text
    methods = _text(_section(page, "methods"))
    applied = evaluation.summary()["methods"]["interactions"]
    assert applied["kinds"][0] == "sign_in" and applied["level"] == 0.95
    assert "逆概率加权" in methods and "HC1" in methods and "观察性" in methods


def test_shop_without_interactions_says_so_in_the_section(small_shop, tmp_path):
    import shutil

    from tests.conftest import write_params

    data = tmp_path / "data"
    shutil.copytree(small_shop.parent / "data", data)
    (data / "interactions.parquet").unlink()
    params = _with(load_params(write_params(tmp_path / "p.yaml", data)), language="zh")
    ev = evaluate(params, 7)
    assert "note_no_interactions" in ev.notes and ev.tables()["interactions"].empty
    page = pages.evaluation_page(ev)
    note = tr("note_no_interactions", "zh")
    assert note in _text(_section(page, "interactions"))
    assert note in _text(_section(page, "notes")) and "note_no_interactions" not in page
    assert "逆概率加权" not in _text(_section(page, "methods"))
    assert pages.evaluation_page(Evaluation.read(ev.write(tmp_path / "results"))) == page


def test_reminders_rfm_and_tiers_where_a_manager_reads_them(evaluation, hostile):
    """The sections of issue 16.5: reminders beside the other CRM actions (after
    reactivation), RFM segments and tiers after the lifecycle; in Chinese; each difference
    marked once and equal to the stored value formatted once; arm labels shown as text."""
    from crm_experiments.report.format import pct

    order = list(pages.SECTIONS)
    assert order.index("reactivation") < order.index("reminders") < order.index("interactions")
    assert order.index("lifecycle") < order.index("rfm") < order.index("tiers") < \
        order.index("methods")
    page = pages.evaluation_page(evaluation)
    assert page.index('class="crm-reminders"') < page.index('class="crm-rfm"') < \
        page.index('class="crm-tiers"')
    t = evaluation.tables()
    reminders = _text(_section(page, "reminders"))
    assert tr("reminders", "zh") in reminders and tr("reminders_flag", "zh") in reminders
    diff = t["reminders"].set_index("group").loc["reminded - not_reminded", "recovery_rate"]
    figures = re.findall(r'<span data-figure="([^"]+)">([^<]*)</span>', page)
    shown: dict[str, list[str]] = {}
    for key, text in figures:
        shown.setdefault(key, []).append(text)
    assert shown["reminders.diff"] == [pct(diff, "zh", 1, True)]
    migration = t["tier_migration"].set_index(["arm", "direction"])
    rfm = t["rfm"].set_index(["arm", "moment", "segment"])
    for arm in evaluation.params.treatment_arms:
        assert shown[f"{arm}.tier_up_diff"] == [pct(migration.loc[(arm, "up"), "diff"], "zh",
                                                    1, True)]
        assert shown[f"{arm}.rfm.champions"] == [
            pct(rfm.loc[(arm, "after", "champions"), "diff"], "zh", 1, True)]
    assert tr("rfm_champions", "zh") in _text(_section(page, "rfm"))
    assert tr("tier_supreme_vip", "zh") in _text(_section(page, "tiers"))
    # hostile arm labels in the new sections' headers: text, not markup
    hostile_page = pages.evaluation_page(hostile)
    for name in ("rfm", "tiers"):
        section = _section(hostile_page, name)
        assert "<script>" not in section and "<img src=x" not in section
        assert "&lt;script&gt;" in section and PAYLOADS[0] in htmllib.unescape(_text(section))


def test_verdict_states_the_decision_rule(evaluation):
    """The first screen says which rule decided each arm, with the interval and correction
    the economics used."""
    section = _text(_section(pages.evaluation_page(evaluation), "summary"))
    s = evaluation.summary()
    assert s["methods"]["correction"] == "holm" and s["alpha"] == 0.05
    assert s["language"] == "zh"
    assert "增量利润的 95% 区间（Holm 校正）整体高于零则推广" in section
    assert f"（p < {s['srm']['alpha']}）" in section


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_probability_and_expected_loss_beside_each_decision_and_why_they_differ(evaluation,
                                                                                 lang):
    """Each arm's probability of beating the holdout and expected loss stand in its decision;
    constructed to disagree (test again at P = 97 %, roll out at P = 90 %), the page says why."""
    econ = evaluation.economics.copy()
    first, second = evaluation.params.treatment_arms
    cols = ["incremental_profit", "incremental_profit_low", "incremental_profit_high",
            "prob_beats_holdout", "expected_loss"]
    econ.loc[first, cols] = [200.0, -10.0, 500.0, 0.97, 3.0]
    econ.loc[second, cols] = [300.0, 50.0, 600.0, 0.90, 8.0]
    params = evaluation.params.model_copy(update={"language": lang})
    doctored = replace(evaluation, params=params, economics=econ,
                       verdict=decide(econ, evaluation.comparison))
    assert doctored.summary()["decisions"] == {first: "test_again", second: "roll_out"}
    section = _section(pages.evaluation_page(doctored), "summary")
    items = {arm: " ".join(_text(re.sub(r"</?span[^>]*>", "", item)).split()) for arm, item in zip(
        (first, second), re.findall(r'<li class="crm-\w+">(.*?)</li>', section, re.S),
        strict=True)}
    from crm_experiments.report.format import money

    cur = evaluation.params.costs.currency
    assert tr("bayes_line", lang, prob="97%", loss=money(3.0, cur, lang)) in items[first]
    assert tr("bayes_line", lang, prob="90%", loss=money(8.0, cur, lang)) in items[second]
    level, holm = "95%", tr("plan_correction_holm", lang)
    assert tr("bayes_why_adjusted", lang, level=level, correction=holm) in items[first]
    assert tr("bayes_why_prior", lang) in items[second]
    assert tr("bayes_why_adjusted", lang, level=level, correction=holm) not in items[second]
    assert tr("bayes_model", lang) in _text(section)
    # the undoctored page: the stored figures, and no why-sentence where they agree
    plain = _section(pages.evaluation_page(replace(evaluation, params=params)), "summary")
    for arm, row in evaluation.economics.iterrows():
        assert f'data-figure="{arm}.prob_beats_holdout"' in plain
        assert f'data-figure="{arm}.expected_loss">{money(row["expected_loss"], cur, lang)}<' \
            in plain


def test_relative_interval_is_at_the_level_of_the_p_value_shown(evaluation):
    """The effects table prints the Holm/Bonferroni-adjusted p-value and interval, so the
    relative interval beside them is the adjusted (Fieller) one, not the unadjusted one."""
    table = _section(pages.evaluation_page(evaluation), "effects").split("</table>")[0]
    rows = re.findall(r"<tr>.*?</tr>", table)[1:]  # the decision's table, not the others'
    effects = evaluation.tables()["effects"]
    assert len(rows) == len(effects)
    for row, e in zip(rows, effects.itertuples(), strict=True):
        shown = f"({pct(e.rel_ci_low_adjusted, 'zh', 1, True)} … " \
                f"{pct(e.rel_ci_high_adjusted, 'zh', 1, True)})"
        assert shown in htmllib.unescape(row)
        assert e.rel_ci_low_adjusted < e.rel_ci_low
        assert (e.rel_ci_low_adjusted > 0 or e.rel_ci_high_adjusted < 0) == (
            e.ci_low_adjusted > 0 or e.ci_high_adjusted < 0)


def test_effects_chart_and_table_pick_each_rows_interval_alike():
    """A family where one row has no corrected p-value (a bootstrap effect: no test) and one a
    corrected but unbounded Fieller set: the chart draws, row by row, the relative interval the
    table shows (it used to decide for the whole table and draw row b's corrected
    interval beside the table's plain one)."""
    import math

    import pandas as pd

    nan = math.nan
    frame = pd.DataFrame({
        "arm": ["a", "b", "c"], "metric": ["net_profit"] * 3,
        "rel_estimate": [0.10, 0.20, 0.05],
        "rel_ci_low": [0.02, 0.12, -0.01], "rel_ci_high": [0.18, 0.28, 0.11],
        "p_value": [0.01, nan, 0.2], "p_value_adjusted": [0.03, nan, 0.4],
        "rel_ci_low_adjusted": [-0.01, 0.05, nan], "rel_ci_high_adjusted": [0.21, 0.35, nan],
    })
    table = [pages._adjusted(r) for r in frame.to_dict("records")]
    assert [r["rel_lo"] for r in table] == pytest.approx([-0.01, 0.12, nan], nan_ok=True)
    low, high = _effects_chart_bars(frame, lang="en", level=0.99)
    assert low == pytest.approx([r["rel_lo"] * 100 for r in table], nan_ok=True)
    assert high == pytest.approx([r["rel_hi"] * 100 for r in table], nan_ok=True)
