"""Legitimate edge data: the evaluation completes, and what it cannot estimate is NaN with a
note saying why (issue 17, build point 4).

Each case reshapes the small demo shop (its evaluation window only, unless stated) and states
its expected behaviour next to it: the notes the evaluation must add, the sections the page
must leave out, and the figures that must be NaN. Everything else must equal the unchanged
shop's evaluation. ``compare`` cases at the end run the CLI on tiny tables.
"""

from __future__ import annotations

import html as htmllib
import json
import math
import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import pytest

from crm_experiments.analyses.campaign import Evaluation, evaluate
from crm_experiments.analyses.uplift import analyse_campaign_uplift
from crm_experiments.cli import main
from crm_experiments.errors import AnalysisSkipped, CrmError
from crm_experiments.io.reader import load_shop
from crm_experiments.params import load_params
from crm_experiments.report import pages
from crm_experiments.report.i18n import tr
from tests.conftest import write_params

HORIZON = 7
MONEY = ["revenue", "gross_profit", "net_profit"]


def _window(params) -> tuple[pd.Timestamp, pd.Timestamp]:
    return params.sale_start, params.window_end(HORIZON)


def _orders(data: Path) -> pd.DataFrame:
    return pd.read_parquet(data / "orders.parquet")


def _in_window(orders: pd.DataFrame, params) -> pd.Series:
    start, end = _window(params)
    return (orders["created_at"] >= start) & (orders["created_at"] < end)


def _arm_of(data: Path, orders: pd.DataFrame) -> pd.Series:
    arms = pd.read_parquet(data / "assignments.parquet").set_index("customer_id")["arm"]
    return orders["customer_id"].map(arms)


def drop_arm_buyers(arm: str):
    def change(data: Path, params) -> None:
        o = _orders(data)
        o[~(_arm_of(data, o).eq(arm) & _in_window(o, params))].to_parquet(
            data / "orders.parquet")
    return change


def zero_amounts(data: Path, params) -> None:
    o = _orders(data)
    w = _in_window(o, params)
    o.loc[w, ["amount", "discount", "refund_amount"]] = 0.0
    o.to_parquet(data / "orders.parquet")


def zero_amounts_everywhere(data: Path, params) -> None:
    o = _orders(data)
    o[["amount", "discount", "refund_amount"]] = 0.0
    o.to_parquet(data / "orders.parquet")


def keep_orders_in_window(n: int):
    def change(data: Path, params) -> None:
        o = _orders(data)
        w = _in_window(o, params)
        keep = ~w
        keep[w[w].index[:n]] = True
        o[keep].to_parquet(data / "orders.parquet")
    return change


def customers_per_arm(n: int):
    """``n`` assigned customers per arm, all buyers in the window."""
    def change(data: Path, params) -> None:
        o = _orders(data)
        buyers = set(o.loc[_in_window(o, params), "customer_id"])
        a = pd.read_parquet(data / "assignments.parquet")
        a[a["customer_id"].isin(buyers)].groupby("arm").head(n).to_parquet(
            data / "assignments.parquet")
    return change


def holdout_of(n: int):
    """Only the first ``n`` holdout customers stay assigned; the other arms are untouched."""
    def change(data: Path, params) -> None:
        a = pd.read_parquet(data / "assignments.parquet")
        holdout = a.index[a["arm"] == params.control_arm]
        a[(a["arm"] != params.control_arm) | a.index.isin(holdout[:n])].to_parquet(
            data / "assignments.parquet")
    return change


def integer_ids_in_orders(data: Path, params) -> None:
    """``C0000123`` becomes the integer 123 in orders and the text "123" elsewhere."""
    for table in ("orders", "assignments", "contacts", "coupons", "customers"):
        t = pd.read_parquet(data / f"{table}.parquet")
        ids = t["customer_id"].str[1:].astype("int64")
        t["customer_id"] = ids if table == "orders" else ids.astype(str)
        t.to_parquet(data / f"{table}.parquet")


@dataclass(frozen=True)
class Case:
    change: Callable
    notes: set[str] = field(default_factory=set)  # notes the evaluation must add
    absent: set[str] = field(default_factory=set)  # page sections left out
    no_interval: set[str] = field(default_factory=set)  # metrics: CI and p NaN, estimate kept
    no_relative: set[str] = field(default_factory=set)  # metrics: relative effect NaN
    same_effects: bool = False  # effects equal the unchanged shop's
    window_only: bool = True  # only the evaluation window changed: earlier KPIs equal
    did_no_interval: set[str] = field(default_factory=set)  # DiD metrics: CI, p, relative NaN


CASES = {
    # nobody in the holdout buys in the window: every holdout metric is 0 -> relative effects
    # undefined (not -10^14 from rounding noise), the next-round design has no holdout spread
    # to plan with (was: ValueError "sd must be positive"); absolute effects keep intervals
    "no-buyer-in-holdout": Case(
        drop_arm_buyers("control"),
        notes={"note_no_design", "note_relative_zero_control", "note_no_aov"},
        absent={"next-round"},
        no_relative={"converted", "revenue", "gross_profit", "net_profit", "orders"}),
    # one treatment arm without buyers: estimable as usual (its mean is 0); only its average
    # order value (no order) is left out of the other metrics, with the note
    "no-buyer-in-one-arm": Case(drop_arm_buyers("coupon_200_30"), notes={"note_no_aov"}),
    # every order in the window at 0: money metrics constant in both arms -> difference kept,
    # no interval and no p-value (was: p = 0 with a [-0.2, -0.2] interval for net profit);
    # conversion and orders are unaffected
    "all-zero-revenue": Case(
        zero_amounts, notes={"note_effect_no_spread", "note_no_design"}, absent={"next-round"},
        no_interval=set(MONEY), no_relative=set(MONEY)),
    # every order of the shop at 0, before the sale too: the DiD cross-check's change is 0 in
    # both arms -> no interval, and its counterfactual 0 -> no relative effect (was:
    # ZeroDivisionError in the DiD)
    "all-zero-revenue-everywhere": Case(
        zero_amounts_everywhere, notes={"note_effect_no_spread", "note_no_design"},
        absent={"next-round"}, no_interval=set(MONEY), no_relative=set(MONEY),
        window_only=False, did_no_interval={"revenue", "net_profit"}),
    # a single order in the window: completes (was: the page failed on the missing retention
    # chart); pairs of arms without any buyer have no interval; no unpaid order to remind of
    "one-order-in-window": Case(
        keep_orders_in_window(1),
        notes={"note_effect_no_spread", "note_no_design", "note_no_unpaid", "note_no_aov"},
        absent={"next-round", "retention"}),
    # no order at all in the window: nothing is estimable, the page still completes
    "no-order-in-window": Case(
        keep_orders_in_window(0),
        notes={"note_effect_no_spread", "note_no_design", "note_no_unpaid", "note_no_aov"},
        absent={"next-round", "retention"},
        no_interval={"converted", *MONEY, "orders"},
        no_relative={"converted", *MONEY, "orders"}),
    # two customers per arm, all window buyers: too few customers for a next-round design
    # (was: ValueError on the NaN variance reduction of an overfitted regression) and for
    # segments (under 30 per arm: section and heterogeneity test left out, with the note);
    # a metric constant in a pair of arms has no interval
    "two-customers-per-arm": Case(
        customers_per_arm(2),
        notes={"note_effect_no_spread", "note_no_design", "note_segments_too_small",
               "note_no_retention"},
        absent={"next-round", "segments", "heterogeneity"}),
    # a holdout of two customers: too few for segments and the next-round design; metrics
    # where both holdout customers are at 0 have no relative effect; too few to fit the
    # covariate slopes (stats.table.lin_identified), so every metric gets the plain comparison
    # with its interval (the saturated regression gave NaN intervals) (the rest completes)
    "holdout-of-two": Case(
        holdout_of(2), notes={"note_no_design", "note_segments_too_small",
                              "note_relative_zero_control", "note_no_aov",
                              "note_no_retention"},
        absent={"next-round", "segments", "heterogeneity"}),
    # customer ids as integers in orders, as text elsewhere: the same customers, same figures
    "integer-ids-in-orders": Case(integer_ids_in_orders, same_effects=True),
}


def _text(page: str) -> str:
    page = re.sub(r"<(style|script)>.*?</\1>|<svg.*?</svg>", " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


def _sections(page: str) -> set[str]:
    return set(re.findall(r'<section class="crm-([\w-]+)">', page))


def _evaluate(small_shop: Path, root: Path, change=None) -> Evaluation:
    params = load_params(small_shop)
    data = root / "data"
    shutil.copytree(small_shop.parent / "data", data)
    if change is not None:
        change(data, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels on degenerate arms
        return evaluate(load_params(write_params(root / "p.yaml", data)), HORIZON)


@pytest.fixture(scope="module")
def base(small_shop, tmp_path_factory) -> Evaluation:
    return _evaluate(small_shop, tmp_path_factory.mktemp("edge_base"))


def _page(ev: Evaluation, lang: str) -> str:
    return pages.evaluation_page(replace(ev, params=ev.params.model_copy(
        update={"language": lang})))


@pytest.fixture(scope="module")
def base_sections(base) -> dict[str, set[str]]:
    return {lang: _sections(_page(base, lang)) for lang in ("en", "zh")}


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def edge(request, small_shop, tmp_path_factory) -> tuple[Case, Evaluation]:
    case = CASES[request.param]
    return case, _evaluate(small_shop, tmp_path_factory.mktemp(request.param), case.change)


def test_evaluation_completes_with_notes(edge, base, tmp_path):
    case, ev = edge
    assert set(ev.notes) - set(base.notes) == case.notes
    effects = ev.tables()["effects"].set_index(["arm", "metric"])
    for (arm, metric), row in effects.iterrows():
        assert math.isfinite(row["estimate"]), (arm, metric)
        if metric in case.no_interval:
            assert row[["ci_low", "ci_high", "p_value", "p_value_adjusted"]].isna().all()
        elif row["n_arm"] >= 2 and metric not in case.no_relative:
            assert math.isfinite(row["ci_low"]) or "note_effect_no_spread" in ev.notes
        if metric in case.no_relative:
            assert row[["rel_estimate", "rel_ci_low", "rel_ci_high"]].isna().all(), metric
        elif math.isfinite(row["rel_estimate"]):
            assert abs(row["rel_estimate"]) < 1e3, (arm, metric)  # no rounding-noise ratios
    assert (ev.design is None) == ("note_no_design" in ev.notes)
    did = ev.tables()["did"]
    assert did["estimate"].map(math.isfinite).all()
    for metric in case.did_no_interval:
        rows = did[did["metric"] == metric]
        assert len(rows) and rows[["ci_low", "p_value", "rel_estimate"]].isna().all().all()
    # nothing else changed: the windows before the sale are the unchanged shop's
    if case.window_only:
        kpis, kpis0 = ev.tables()["kpis"], base.tables()["kpis"]
        pd.testing.assert_frame_equal(kpis[["kpi", "weeks_before", "last_year"]],
                                      kpis0[["kpi", "weeks_before", "last_year"]])
    if case.same_effects:
        pd.testing.assert_frame_equal(ev.tables()["effects"], base.tables()["effects"])
        pd.testing.assert_frame_equal(ev.design.to_frame(), base.design.to_frame())
    # the stored copy (NaN intervals and relative effects through Parquet) gives the same page
    if case in (CASES["no-buyer-in-holdout"], CASES["all-zero-revenue"]):
        assert pages.evaluation_page(Evaluation.read(ev.write(tmp_path / "r"))) == \
            pages.evaluation_page(ev)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_says_why(edge, base_sections, lang):
    case, ev = edge
    page = _page(ev, lang)
    assert base_sections[lang] - _sections(page) == case.absent
    notes = _text(re.search(r'<section class="crm-notes">.*?</section>', page, re.S)
                  .group(0)) if case.notes else ""
    for key in case.notes:
        assert tr(key, lang) in notes, key
    text = _text(page)
    assert not re.search(r"\b(nan|NaN|inf|None)\b|∞|e\+1\d", text)


def test_one_customer_per_arm_is_a_clear_refusal(small_shop, tmp_path):
    """One customer per arm: no variance in any arm, nothing to compare. Refused with the arms
    named (a CrmError: one message, no traceback), not a crash inside a section."""
    with pytest.raises(CrmError, match=r"arm\(s\) control, coupon_100_10, coupon_200_30 have "
                                       r"fewer than 2"):
        _evaluate(small_shop, tmp_path, customers_per_arm(1))


def test_uplift_on_a_tiny_holdout_is_skipped_with_the_reason(small_shop, tmp_path):
    """Two holdout customers cannot train the uplift learner (20 per arm in its training
    half): the analysis is skipped with the arms named, and the stand-in page says why in
    en and zh (was: UpliftInputError, shown as a failed analysis)."""
    params = load_params(small_shop)
    data = tmp_path / "data"
    shutil.copytree(small_shop.parent / "data", data)
    holdout_of(2)(data, params)
    params = load_params(write_params(tmp_path / "p.yaml", data))
    shop = load_shop(params.data.path, timezone=params.timezone, params=params)
    with pytest.raises(AnalysisSkipped) as caught:
        analyse_campaign_uplift(shop, params, HORIZON)
    assert caught.value.key == "skip_uplift_small_arms"
    assert caught.value.facts == {"arms": "control (2)", "minimum": 40}
    for lang in ("en", "zh"):
        page = pages.skipped_page("coupon_uplift", {"status": "skipped",
                                                    "key": caught.value.key,
                                                    "facts": caught.value.facts}, lang,
                                  campaign_type="coupon")
        assert tr("skip_uplift_small_arms", lang, **caught.value.facts) in _text(page)


# --- crm-exp compare -----------------------------------------------------------------------
COMPARE_CASES = {
    # a value whose square overflows float64: refused, naming the column and the data row
    # (was: estimates with null intervals and exit 0)
    "overflowing-value": ([1, 2, 3, 4], [1e300, 5, 6, 7], 2,
                          "metric column 'revenue' has values too large to compare (data rows 5"),
    # squares finite but variances squared (Welch df) not: refused as well
    "value-with-overflowing-variance": ([1, 2, 3, 4], [1e100, 5, 6, 7], 2,
                                        "metric column 'revenue' has values too large"),
    # large but harmless: a correct result with intervals
    "large-values": ([1e60, 2e60, 3e60, 4e60], [2e60, 3e60, 4e60, 6e60], 0, None),
    # constant in both arms: the difference, no interval or p-value, and the reason
    "constant-in-both-arms": ([7, 7, 7, 7], [9, 9, 9, 9], 0,
                              "revenue, t: not estimable: no spread"),
    # control all 0: the absolute difference with an interval, no relative effect, the reason
    "control-all-zero": ([0, 0, 0, 0], [1, 0, 3, 2], 0,
                         "revenue, t: relative effect not estimable: the control 'control' "
                         "mean is 0"),
}


@pytest.mark.parametrize(("control", "treated", "code", "message"), COMPARE_CASES.values(),
                         ids=list(COMPARE_CASES))
@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_compare_edge_values(tmp_path, capsys, control, treated, code, message, as_json):
    path = tmp_path / "t.csv"
    pd.DataFrame({"arm": ["control"] * len(control) + ["t"] * len(treated),
                  "revenue": [float(v) for v in control + treated]}).to_csv(path, index=False)
    argv = ["compare", str(path), "--arm", "arm", "--control", "control",
            "--metric", "revenue", *(["--json"] if as_json else [])]
    assert main(argv) == code
    out, err = capsys.readouterr()
    if code:
        assert message in err and not out and "Traceback" not in err
        return
    assert message is None or message in out
    if not as_json:
        return
    e = json.loads(out)["effects"][0]
    assert e["estimate"] == pytest.approx(sum(treated) / 4 - sum(control) / 4)
    no_interval = message is not None and "no spread" in message
    assert (e["ci_low"] is None) == no_interval and (e["p_value"] is None) == no_interval
    assert (e["rel_estimate"] is None) == (sum(control) == 0)
