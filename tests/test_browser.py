"""The portal and a report in a real browser (headless Chromium driven by Playwright): no
console errors, every chart rendered, screenshots under test-output/ for a person to look at."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crm_experiments.pipeline.runner import run_evaluation

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OUT = Path(__file__).resolve().parents[1] / "test-output" / "browser"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (`make test` installs it with apt-get where it may)")


@pytest.fixture(scope="module")
def portal(small_shop, tmp_path_factory):
    root = tmp_path_factory.mktemp("portal")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        mp.chdir(root)
        run_evaluation(small_shop, 7, reports_root=root / "reports")
    return root / "reports"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url, wait_until="load")
    return page, problems


def test_portal_and_report_render_with_charts(portal, browser):
    OUT.mkdir(parents=True, exist_ok=True)
    page, problems = _open(browser, (portal / "index.html").as_uri())
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    assert "Profitable" in page.content() or "Inconclusive" in page.content()
    page.screenshot(path=str(OUT / "portal.png"), full_page=True)
    page.locator("tbody tr a").first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("demo_d11/7d/report.html")
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])")
    assert len(images) >= 5, "profit, effects, retention, lifecycle and migration charts"
    assert all(done and w > 100 and h > 100 for done, w, h in images), images
    assert page.get_by_text("Verdict").first.is_visible()
    page.screenshot(path=str(OUT / "report.png"), full_page=True)
    assert problems == []
