"""Pre-registered capping of money outcomes in the campaign evaluation (issue 18.2): the
params' ``capping.percentile`` is validated; with it, the campaign's family of effects is the
one of the capped table (only the money metrics move), the Methods section states the
percentile, caps and customers capped in English and Chinese; without it, nothing changes
and no capping sentence appears (also for a result stored before capping existed)."""

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml

from crm_experiments.analyses.campaign import (
    Evaluation,
    apply_capping,
    compare_campaign,
    evaluate,
)
from crm_experiments.errors import ParamsError
from crm_experiments.params import Capping, load_params
from crm_experiments.report import pages
from crm_experiments.report.format import money, num
from crm_experiments.stats.capping import cap_money

MONEY = ("revenue", "gross_profit", "net_profit")


def _with_capping(params_file, tmp_path, capping):
    raw = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    raw["capping"] = capping
    path = tmp_path / "capped.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_params(path)


@pytest.mark.parametrize(("capping", "says"), [
    ({"percentile": 100}, "strictly between 50 and 100"),
    ({"percentile": 50}, "strictly between 50 and 100"),
    ({"percentile": "high"}, "valid number"),
    ({"percentile": True}, "YAML booleans"),
    ({"percentile": 99, "columns": ["revenue"]}, "Extra inputs"),
    ({}, "Field required"),
])
def test_bad_capping_is_refused_naming_the_parameter(small_shop, tmp_path, capping, says):
    with pytest.raises(ParamsError) as err:
        _with_capping(small_shop, tmp_path, capping)
    assert "capping" in str(err.value) and says in str(err.value)


def test_capping_is_off_by_default_and_loads_when_declared(small_shop, tmp_path):
    assert load_params(small_shop).capping is None
    assert _with_capping(small_shop, tmp_path, {"percentile": 99.5}).capping.percentile == 99.5
    assert load_params(small_shop).flat().get("capping") == "None"


@pytest.fixture(scope="module")
def evaluations(small_shop):
    params = load_params(small_shop)
    on = params.model_copy(update={"capping": Capping(percentile=99.5)})
    return evaluate(params, 7), evaluate(on, 7)


def _methods(page: str) -> str:
    section = re.search(r'<section class="crm-methods">.*?</section>', page, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section)).replace("&amp;", "&")


def test_capped_evaluation_compares_the_capped_table_and_only_money_moves(evaluations):
    off, on = evaluations
    customers = off.customers
    capped, applied = cap_money(customers, 99.5)
    # the family of effects is that of the capped table through the unchanged comparison
    want = compare_campaign(capped, off.params).to_frame()
    pd.testing.assert_frame_equal(on.comparison.to_frame(), want)
    e_on, e_off = on.comparison.to_frame(), off.comparison.to_frame()
    money_rows = e_on["metric"].isin(MONEY)
    pd.testing.assert_frame_equal(e_on[~money_rows], e_off[~money_rows])
    assert not np.allclose(e_on.loc[money_rows, "estimate"], e_off.loc[money_rows, "estimate"])
    # capping narrows the money intervals on the demo's heavy-tailed revenue
    assert (e_on.loc[money_rows, "se"].to_numpy() < e_off.loc[money_rows, "se"].to_numpy()).all()
    # economics from the capped effects: incremental revenue = capped effect x customers
    econ = on.economics
    for arm, row in econ.iterrows():
        effect = e_on[(e_on["arm"] == arm) & (e_on["metric"] == "revenue")].iloc[0]
        assert row["incremental_revenue"] == pytest.approx(effect["estimate"] * row["customers"])
    # the rest of the evaluation is untouched, and the stored customers are the raw ones
    pd.testing.assert_frame_equal(on.segment_effects, off.segment_effects)
    pd.testing.assert_frame_equal(on.customers, off.customers)
    assert on.capping == applied
    pooled = np.percentile(customers["revenue"], 99.5, method="inverted_cdf")
    assert on.summary()["capping"]["caps"]["revenue"] == pytest.approx(pooled)
    assert on.summary()["capping"]["n_capped"]["revenue"] == int(
        (customers["revenue"] > pooled).sum()) > 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_methods_state_the_capping_with_its_numbers(evaluations, lang, tmp_path):
    _, on = evaluations
    ev = replace(on, params=on.params.model_copy(update={"language": lang}))
    page = pages.evaluation_page(ev)
    text = _methods(page)
    cap = ev.summary()["capping"]
    assert cap["percentile"] == 99.5 and "99.5" in text
    for col in ("revenue", "gross_profit"):
        assert money(cap["caps"][col], "CNY", lang, 2) in text
        assert f"{num(cap['n_capped'][col], lang, 0)}" in text
    assert num(cap["n_customers"], lang, 0) in text
    words = (["declared in the params before the analysis", "capped values", "biased towards 0"]
             if lang == "en" else ["分析前已在参数中声明", "截尾后的数值", "偏向 0"])
    assert all(w in text for w in words)
    # the record round-trips through result.json (the page is a function of the summary)
    assert Evaluation.read(ev.write(tmp_path / "results")).summary()["capping"] == cap


def test_without_capping_nothing_is_said_and_an_old_result_reads_as_before(evaluations,
                                                                          tmp_path):
    off, _ = evaluations
    # off: the comparison gets the very table it got before capping existed (no copy, no cast)
    table, applied = apply_capping(off.customers, off.params)
    assert table is off.customers and applied is None
    assert off.capping is None and "capping" not in off.summary()
    page = pages.evaluation_page(off)
    text = _methods(page)
    assert "before the analysis" not in text and "capped" not in text
    # a result stored before issue 18.2 (no "capping" key at all) renders the same page
    stored = Evaluation.read(off.write(tmp_path / "results"))
    assert "capping" not in stored.summary()
    assert pages.evaluation_page(stored) == page
