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


# --- Chinese pages (language: zh): every page of the 30-day demo drawn with the project's font

ZH_PROBE = "龘"  # a character no page uses: proves the glyph check below can fail


@pytest.fixture(scope="module")
def zh_pages(small_shop, tmp_path_factory):
    """The 30-day evaluation of the small shop with ``language: zh`` and its extra notebooks,
    then the next-round plan: ({name: page}, warnings of glyphs missing in charts)."""
    import warnings

    import yaml

    from crm_experiments.plan.run import make_plan

    root = tmp_path_factory.mktemp("zh")
    campaigns = root / "params" / "campaigns"
    campaigns.mkdir(parents=True)
    raw = yaml.safe_load(small_shop.read_text(encoding="utf-8"))
    raw["language"] = "zh"
    params = campaigns / "demo_zh.yaml"
    params.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        mp.chdir(root)
        outcome = run_evaluation(params, 30, reports_root=root / "reports")
        plan = make_plan("demo_next", campaigns_dir=campaigns)
        notebooks = _executed_notebooks(outcome.run_id, root / "notebooks")
    pages = {"portal": root / "reports" / "index.html", "report": outcome.report_path}
    pages.update({Path(p).stem: outcome.report_path.parent / p for p in outcome.summary["pages"]})
    pages["plan"] = root / plan.summary_path
    glyphs = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    glyphs += [line for text in notebooks for line in text.splitlines()
               if "missing from font" in line]
    return pages, glyphs


def _executed_notebooks(run_id: str, into: Path) -> list[str]:
    """Text of the executed notebooks logged with the run (their outputs hold any warning)."""
    from crm_experiments.tracking.client import mlflow_client

    client, _ = mlflow_client()
    local = Path(client.download_artifacts(run_id, "notebook", str(into)))
    return [p.read_text(encoding="utf-8") for p in sorted(local.rglob("*.ipynb"))]


def _glyphs_not_in_our_font(page) -> list[tuple[str, str, int]]:
    """(tag, text, CJK glyphs drawn by another font) for every rendered element of the body
    whose own text has CJK characters: Chromium's DevTools tell which fonts drew each one."""
    from crm_experiments.report.fonts import CSS_FAMILY, FAMILY, is_cjk

    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]
    bad = []

    def walk(node):
        if node.get("nodeName") in ("HEAD", "SCRIPT", "STYLE", "TITLE"):
            return
        own = "".join(c.get("nodeValue", "") for c in node.get("children", [])
                      if c.get("nodeType") == 3)
        n_cjk = sum(map(is_cjk, own))
        if node.get("nodeType") == 1 and n_cjk:
            used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
            ours = sum(f["glyphCount"] for f in used
                       if f["isCustomFont"] and f["familyName"] in (CSS_FAMILY, FAMILY))
            if used and ours < n_cjk:  # `used` is empty for an element that is not rendered
                bad.append((node["nodeName"], own.strip()[:40], n_cjk - ours))
        for child in node.get("children", []):
            walk(child)

    walk(root)
    cdp.detach()
    return bad


def test_chinese_pages_show_every_glyph(zh_pages, browser):
    from crm_experiments.report.fonts import CSS_FAMILY, is_cjk

    pages, chart_glyph_warnings = zh_pages
    assert set(pages) >= {"portal", "report", "clv_churn", "coupon_uplift", "plan"}
    assert chart_glyph_warnings == []
    OUT.mkdir(parents=True, exist_ok=True)
    for name, path in pages.items():
        page, problems = _open(browser, path.as_uri())
        page.evaluate("document.fonts.ready.then(() => true)")
        if name != "portal":  # the portal is bilingual (English and Chinese side by side)
            assert page.get_attribute("html", "lang") == "zh-CN", name
        text = page.inner_text("body")
        cjk = "".join(sorted({c for c in text if is_cjk(c)}))
        assert len(cjk) >= 20 and sum(map(is_cjk, text)) >= 0.2 * sum(map(str.isalpha, text)), \
            f"{name} is not in Chinese: {text[:300]!r}"
        loaded = page.evaluate(
            f"""[...document.fonts].filter(f => f.family.replace(/["']/g, '') === '{CSS_FAMILY}')
                .map(f => f.status)""")
        assert loaded == ["loaded"], (name, loaded)
        assert page.evaluate("t => document.fonts.check('16px \"CRM CJK\"', t)", cjk), name
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])")
        assert all(done and w > 100 and h > 100 for done, w, h in images), (name, images)
        assert _glyphs_not_in_our_font(page) == [], name
        page.screenshot(path=str(OUT / f"zh-{name}.png"), full_page=True)
        if name == "report":  # the check sees a glyph our subset lacks
            assert ZH_PROBE not in text
            page.evaluate(f"document.body.insertAdjacentHTML('beforeend', '<p>{ZH_PROBE}</p>')")
            assert [(t, n) for _, t, n in _glyphs_not_in_our_font(page)] == [(ZH_PROBE, 1)]
        assert problems == [], (name, problems)
        page.close()
