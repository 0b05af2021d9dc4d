"""Publish rendered pages into the reports folder, atomically, and keep ``reports/index.html``
(the portal, :func:`~crm_experiments.report.pages.portal_page`) listing every report.

Layout: ``reports/<campaign_id>/<H>d/report.html`` (and its sibling pages) with
``summary.json`` beside it (the headline the portal shows); next-round plans in
``reports/<next_id>/plan/`` (``summary.html`` and ``plan.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

from crm_experiments.io.atomic import atomic_write_text
from crm_experiments.report.pages import portal_page


def report_dir(reports_root: str | Path, campaign_id: str, horizon_days: int) -> Path:
    return Path(reports_root) / campaign_id / f"{horizon_days}d"


def publish_report(reports_root: str | Path, campaign_id: str, horizon_days: int,
                   html: str | dict[str, str], summary: dict) -> Path:
    """Write the pages (``report.html`` and any sibling ``<name>.html``; each file atomic),
    then ``summary.json`` (so the index lists a report only once its pages are there), then
    refresh the index. Returns the path of ``report.html``."""
    pages = {"report": html} if isinstance(html, str) else dict(html)
    target = report_dir(reports_root, campaign_id, horizon_days)
    for name, text in pages.items():
        if name != "report":
            atomic_write_text(target / f"{name}.html", text)
    atomic_write_text(target / "report.html", pages["report"])
    atomic_write_text(target / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False))
    write_index(reports_root)
    return target / "report.html"


def _listed(root: Path, pattern: str, page: str) -> list[dict]:
    """The JSON documents matching ``pattern`` under ``root`` whose ``page`` stands beside
    them, each with ``_href`` (the page, relative to ``root``); unreadable ones are skipped
    (a report being written, or a broken file, does not break the portal)."""
    out = []
    for doc_file in sorted(root.glob(pattern)):
        try:
            doc = json.loads(doc_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(doc, dict) and (doc_file.parent / page).exists():
            doc["_href"] = doc_file.parent.relative_to(root).as_posix() + "/" + page
            out.append(doc)
    return out


def write_index(reports_root: str | Path) -> Path:
    """``reports/index.html``: every report with its headline, newest evaluation first, and
    every next-round plan (``<next_id>/plan/plan.json``, as ``crm-exp plan`` writes it), and
    every sale watch page (``<campaign_id>/watch/<day>.html``, newest first), and every
    shop-wide holdout page (``<campaign_id>/holdout/<start>_<end>.html``, newest first)."""
    root = Path(reports_root)
    entries = _listed(root, "*/*d/summary.json", "report.html")
    entries.sort(key=lambda s: (str(s.get("window_end", "")), str(s.get("campaign_id", ""))),
                 reverse=True)
    plans = _listed(root, "*/plan/plan.json", "summary.html")
    watches = [{"campaign_id": f.parent.parent.name, "day": f.stem,
                "href": f.relative_to(root).as_posix()}
               for f in root.glob("*/watch/*.html")]
    watches.sort(key=lambda w: (w["day"], w["campaign_id"]), reverse=True)
    holdouts = [{"campaign_id": f.parent.parent.name, "period": f.stem.replace("_", " – "),
                 "href": f.relative_to(root).as_posix()}
                for f in root.glob("*/holdout/*.html")]
    holdouts.sort(key=lambda w: (w["period"], w["campaign_id"]), reverse=True)
    return atomic_write_text(root / "index.html",
                             portal_page(entries, plans, watches, holdouts=holdouts))
