"""Every page of a campaign, end to end: the demo shop run at 7 and 30 days with its CLV and
uplift notebooks, the portal and the next-round plan.

* One figure, one computation: each arm's economics and the next round's holdout share, where
  a page shows them (marked ``data-figure``), read the same on every page and equal the stored
  evaluation's values formatted once; MLflow holds the same numbers.
* Hostile text: markup in every params text field and in the data's text fields is shown as
  text on every page, never run.
"""

from __future__ import annotations

import contextlib
import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from markupsafe import escape

from crm_experiments.analyses.campaign import Evaluation
from crm_experiments.cli import main
from crm_experiments.pipeline.runner import run_evaluation
from crm_experiments.report import format as fmt
from crm_experiments.report.i18n import tr
from crm_experiments.tracking.client import mlflow_client

pytestmark = pytest.mark.slow

HORIZONS = (7, 30)
ECONOMICS = ("incremental_profit", "incremental_profit_low", "incremental_profit_high", "roi",
             "roi_low", "roi_high", "cost_per_incremental_order", "incremental_revenue")
PAYLOADS = ("<script>alert('x')</script>", '"><img src=x onerror=alert(1)>')


class Page(HTMLParser):
    """What a test needs of a page: its tags and attributes, its text, and its figures
    (``data-figure`` spans, scoped by the ``data-report`` of the row they stand in)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.figures: dict[tuple[str, str], set[str]] = {}
        self._figure: list[str] | None = None
        self._scope = ""
        self._style = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._style = tag == "style"
        if tag == "tr" and "data-report" in attrs:
            self._scope = attrs["data-report"]
        if "data-figure" in attrs:
            self._figure = [attrs["data-figure"], ""]

    def handle_endtag(self, tag):
        self._style = False
        if tag == "span" and self._figure is not None:
            key, value = self._figure
            self.figures.setdefault((self._scope, key), set()).add(value)
            self._figure = None

    def handle_data(self, data):
        if not self._style:
            self.text.append(data)
        if self._figure is not None:
            self._figure[1] += data

    def figure(self, key: str, scope: str = "") -> str | None:
        values = self.figures.get((scope, key))
        if values is None:
            return None
        assert len(values) == 1, f"{key} shows {values} on one page"
        return next(iter(values))


def _run_campaign(params_file: Path, root: Path) -> dict:
    """Run the campaign at both horizons and plan the next round; every page and the stored
    results and MLflow metrics of each horizon."""
    reports = root / "reports"
    out = {"pages": {}, "results": {}, "metrics": {}}
    for h in HORIZONS:
        outcome = run_evaluation(params_file, h, reports_root=reports)
        folder = outcome.report_path.parent
        out["pages"][h] = {p.stem: p.read_text(encoding="utf-8") for p in folder.glob("*.html")}
        client, _ = mlflow_client()
        local = Path(client.download_artifacts(outcome.run_id, "results", str(root / f"r{h}")))
        out["results"][h] = Evaluation.read(local)
        out["metrics"][h] = client.get_run(outcome.run_id).data.metrics
        out["summary"] = outcome.summary
    cid = out["results"][30].summary()["campaign_id"]
    plan_dir = reports / "next_round" / "plan"  # the reports layout: the portal lists it
    assert main(["plan", "--next-id", "next_round", "--campaigns", cid, "--campaigns-dir",
                 str(root / "campaigns"), "--out-dir", str(plan_dir)]) == 0
    out["plan"] = {p.name: p.read_text(encoding="utf-8") for p in plan_dir.glob("*.html")}
    out["portal"] = (reports / "index.html").read_text(encoding="utf-8")
    return out


@contextlib.contextmanager
def _working_in(root: Path):
    """``root`` as the working directory, with its own MLflow store."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        mp.chdir(root)
        yield


@pytest.fixture(scope="module")
def demo(small_shop, tmp_path_factory):
    root = tmp_path_factory.mktemp("every_page")
    with _working_in(root):
        yield _run_campaign(small_shop, root)


def _expected(result, arm: str, field: str) -> str:
    s = result.summary()
    row = result.table("economics").set_index("arm").loc[arm]
    if field.startswith("roi"):
        return fmt.pct(row[field], s["language"], 0)
    digits = 2 if field == "cost_per_incremental_order" else 0
    return fmt.money(row[field], s["currency"], s["language"], digits)


@pytest.mark.parametrize("horizon", HORIZONS)
def test_economics_read_the_same_on_every_page_and_in_mlflow(demo, horizon):
    result = demo["results"][horizon]
    arms = list(result.table("economics")["arm"])
    pages = {name: Page(text) for name, text in demo["pages"][horizon].items()}
    showing = {"report"} | ({"coupon_uplift"} if horizon == 30 else set())
    assert showing <= set(pages)
    checked = 0
    for arm in arms:
        for field in ECONOMICS:
            want = _expected(result, arm, field)
            for name, page in pages.items():
                shown = page.figure(f"{arm}.{field}")
                if name in showing and field != "incremental_revenue" or name == "report":
                    assert shown is not None, f"{name} does not show {arm}.{field}"
                if shown is not None:
                    assert shown == want, (name, arm, field, shown, want)
                    checked += 1
            row = result.table("economics").set_index("arm").loc[arm]
            if f"economics.{arm}.{field}" in demo["metrics"][horizon]:
                assert demo["metrics"][horizon][f"economics.{arm}.{field}"] == row[field]
    assert checked >= len(arms) * (len(ECONOMICS) + (6 if horizon == 30 else 0))
    # the portal's row of this report: the best arm's profit and ROI with intervals
    portal = Page(demo["portal"])
    best = result.summary()["verdict"]["best_arm"]
    scope = f"{result.summary()['campaign_id']}/{horizon}d/report.html"
    for field in ECONOMICS[:6]:
        assert portal.figure(f"{best}.{field}", scope) == _expected(result, best, field)


def test_plan_shows_the_evaluations_figures(demo):
    result = demo["results"][30]  # the plan learns from the longest horizon
    lang = result.summary()["language"]
    page = Page(demo["plan"]["summary.html" if lang == "en" else "summary.zh.html"])
    for arm in result.table("economics")["arm"]:
        for field in ECONOMICS:
            assert page.figure(f"{arm}.{field}") == _expected(result, arm, field)
    report = Page(demo["pages"][30]["report"])
    share = report.figure("holdout_share")
    assert share is not None and page.figure("holdout_share") == share
    # the portal lists the plan with the plan page's expected profit, and every arm by label
    portal = Page(demo["portal"])
    expected = page.figure("expected_profit")
    assert expected and portal.figure("expected_profit", "next_round/plan/summary.html") == expected
    text = "".join(portal.text)
    for arm in result.summary()["arms"]:
        assert (arm["label"] or arm["name"]) in text


def test_one_family_of_effects(demo):
    """The effects the pages and MLflow show are the evaluation's one Holm family."""
    for h in HORIZONS:
        effects = demo["results"][h].table("effects")
        s = demo["results"][h].summary()
        family = len(effects)
        assert family == (len(s["arms"]) - 1) * 5  # treatment arms x 5 metrics
        for e in effects.itertuples():
            key = f"effect.{e.arm}.{e.metric}.estimate"
            assert demo["metrics"][h][key] == e.estimate


@pytest.mark.parametrize("horizon", HORIZONS)
def test_reminder_rfm_and_tier_figures_are_the_stored_ones(demo, horizon):
    """The differences the reminders, RFM and tier sections show (issue 16.5) read once on
    the published report, as the stored evaluation's values formatted once; a figure that
    only the evaluation shows is on no other page."""
    result = demo["results"][horizon]
    lang = result.summary()["language"]
    pages = {name: Page(text) for name, text in demo["pages"][horizon].items()}
    report = pages["report"]

    def signed(x) -> str:
        return fmt.pct(x, lang, 1, True)

    diff = result.table("reminders").set_index("group").loc["reminded - not_reminded"]
    expected = {"reminders.diff": signed(diff["recovery_rate"])}
    rfm = result.table("rfm").set_index(["arm", "moment", "segment"])
    up = result.table("tier_migration").set_index(["arm", "direction"])
    for arm in [a["name"] for a in result.summary()["arms"] if not a["control"]]:
        expected[f"{arm}.tier_up_diff"] = signed(up.loc[(arm, "up"), "diff"])
        for segment in ("champions", "loyal", "hibernating"):
            expected[f"{arm}.rfm.{segment}"] = signed(rfm.loc[(arm, "after", segment), "diff"])
    for key, want in expected.items():
        assert report.figure(key) == want, key
        assert all(page.figure(key) is None for name, page in pages.items()
                   if name != "report"), key


# --- hostile text ---------------------------------------------------------------------------
def _hostile_shop(small_shop: Path, root: Path) -> Path:
    """The small demo shop with markup in the params' text fields and in the customers'
    tier, province and gender values and the contacts' channel."""
    raw = yaml.safe_load(small_shop.read_text(encoding="utf-8"))
    data = root / "data"
    data.mkdir()
    source = Path(raw["data"]["path"])
    for f in source.iterdir():
        if f.is_file():
            (data / f.name).write_bytes(f.read_bytes())
    customers = pd.read_parquet(data / "customers.parquet")
    for col in ("tier", "province", "gender"):
        if col in customers:
            first = customers[col].dropna().iloc[0]
            customers.loc[customers[col] == first, col] = PAYLOADS[0]
    customers.to_parquet(data / "customers.parquet", index=False)
    contacts = pd.read_parquet(data / "contacts.parquet")
    contacts["channel"] = contacts["channel"].replace({contacts["channel"].iloc[0]: PAYLOADS[1]})
    contacts.to_parquet(data / "contacts.parquet", index=False)
    raw["data"]["path"] = str(data)
    raw["display_name"] = f"Double 11 {PAYLOADS[0]} {PAYLOADS[1]}"
    for i, arm in enumerate(raw["arms"]):
        arm["label"] = f"{arm.get('label', arm['name'])} {PAYLOADS[i % 2]}"
    # (no markup in costs.currency: the params refuse anything but an ISO 4217 code)
    raw["costs"]["message_cost"] = {**raw["costs"]["message_cost"], PAYLOADS[1]: 0.01}
    params = root / "hostile.yaml"
    params.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return params


@pytest.fixture(scope="module")
def hostile(small_shop, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    with _working_in(root):
        yield _run_campaign(_hostile_shop(small_shop, root), root)


def _all_pages(run: dict) -> dict[str, str]:
    pages = {f"{h}d/{name}": text for h, ps in run["pages"].items() for name, text in ps.items()}
    pages["portal"] = run["portal"]
    pages.update({f"plan/{name}": text for name, text in run["plan"].items()})
    return pages


def test_markup_in_params_and_data_is_text_on_every_page(hostile):
    pages = _all_pages(hostile)
    assert {"7d/report", "30d/report", "30d/clv_churn", "30d/coupon_uplift", "portal",
            "plan/summary.html"} <= set(pages)
    for name, text in pages.items():
        page = Page(text)
        tags = {tag for tag, _ in page.tags}
        assert "script" not in tags, f"{name} runs a script"
        for tag, attrs in page.tags:
            assert not any(a.startswith("on") for a in attrs), f"{name}: <{tag} {attrs}>"
            if tag == "img":
                assert attrs["src"].startswith("data:image/"), f"{name}: <img {attrs}>"
        shown = "".join(page.text)
        assert PAYLOADS[0] in shown, f"{name} does not show the display name as text"
        assert str(escape(PAYLOADS[0])) in text  # escaped by the templates, not stripped
    report = "".join(Page(pages["30d/report"]).text)
    assert report.count(PAYLOADS[1]) >= 2  # an arm label and the display name
    # the RFM and tier sections' headers name the arms by their (hostile) labels, as text;
    # the customers' tiers hold markup, a scheme no one knows: the tier section is its note
    for section in ("crm-rfm", "crm-tiers"):
        assert f'<section class="{section}">' in pages["30d/report"]
    assert tr("note_tier_scheme_unknown", "en") in report
    uplift = "".join(Page(pages["30d/coupon_uplift"]).text)
    assert PAYLOADS[0] in uplift


def test_hostile_run_logged_its_figures(hostile):
    """Markup in text fields changes no number: the run finished and logged its economics."""
    econ = hostile["results"][30].table("economics")
    for row in econ.itertuples():
        assert hostile["metrics"][30][f"economics.{row.arm}.incremental_profit"] == \
            row.incremental_profit
    json.dumps(hostile["summary"])  # the published summary is plain data
