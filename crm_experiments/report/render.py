"""Turn an executed notebook into a code-free HTML report, written atomically, and keep
``reports/index.html`` listing every report.

Layout: ``reports/<campaign_id>/<H>d/report.html`` with ``summary.json`` beside it (the
headline the index shows).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from crm_experiments.report.i18n import tr
from crm_experiments.report.sections import STYLE, esc, money, pct

PAGE_TITLES = {"clv_churn": "CLV and churn · 客户价值与流失",
               "coupon_uplift": "Coupon uplift and targeting · 优惠券增量与精准投放"}


# nbconvert's page loads require.js and MathJax from a CDN; our reports need neither, and a
# report must open offline (an intranet, a laptop on a plane) without failed requests.
_CDN_SCRIPT = re.compile(r'<script src="https?://[^"]*"[^>]*>\s*</script>')


def notebook_to_html(executed_notebook: str | Path, links: dict[str, str] | None = None,
                     title: str = "Campaign report") -> str:
    """Self-contained HTML of an executed notebook without code cells or prompts; ``links``
    (page name -> relative href) adds a navigation bar to the sibling pages."""
    nb = nbformat.read(str(executed_notebook), as_version=4)
    # library warnings on stderr are for analysts (they stay in the executed notebook logged
    # to MLflow), not for the manager's page
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("output_type") == "stream"
                                       and o.get("name") == "stderr")]
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = _CDN_SCRIPT.sub("", body)
    if links:
        nav = " · ".join(f'<a href="{esc(href)}">{esc(PAGE_TITLES.get(name, name))}</a>'
                         for name, href in links.items())
        bar = f'<nav class="crm-report" style="margin:1em 2em">More 更多: {nav}</nav>'
        body = body.replace("</body>", f"{bar}</body>", 1)
    return body


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename: readers see
    the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are meant to be served and shared
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


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


def write_index(reports_root: str | Path) -> Path:
    """``reports/index.html``: every report with its headline, newest evaluation first."""
    root = Path(reports_root)
    entries = []
    for summary_file in sorted(root.glob("*/*d/summary.json")):
        try:
            s = json.loads(summary_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if not (summary_file.parent / "report.html").exists():
            continue
        s["_href"] = summary_file.parent.relative_to(root).as_posix() + "/report.html"
        entries.append(s)
    entries.sort(key=lambda s: (s.get("window_end", ""), s.get("campaign_id", "")), reverse=True)
    rows = []
    for s in entries:
        v, cur = s.get("verdict", {}), s.get("currency", "CNY")
        status = str(v.get("status"))
        headline = (f"{money(v.get('incremental_profit'), cur)} "
                    f"({money(v.get('incremental_profit_low'), cur)} … "
                    f"{money(v.get('incremental_profit_high'), cur)}); ROI "
                    f"{pct(v.get('roi'), 0)} ({pct(v.get('roi_low'), 0)} … "
                    f"{pct(v.get('roi_high'), 0)})")
        run = s.get("mlflow_run_url")
        run_link = f'<a href="{esc(run)}">MLflow</a>' if run else esc(s.get("mlflow_run_id", ""))
        pages = "".join(f' · <a href="{esc(Path(s["_href"]).parent.as_posix())}/{esc(p)}">'
                        f"{esc(PAGE_TITLES.get(Path(p).stem, Path(p).stem))}</a>"
                        for p in s.get("pages", []))
        rows.append(
            "<tr>"
            f"<td><a href=\"{esc(s['_href'])}\">{esc(s.get('display_name', s.get('campaign_id')))}"
            f"</a></td><td>{int(s.get('horizon_days', 0))}d</td>"
            f"<td>{esc(s.get('window_start', ''))} – {esc(s.get('window_end', ''))}</td>"
            f'<td class="crm-{esc(status)}">{esc(tr("status_label_" + status, "en"))}<br>'
            f'{esc(tr("status_label_" + status, "zh"))}</td>'
            f"<td>{esc(v.get('best_arm') or '–')}</td><td>{esc(headline)}{pages}</td>"
            f"<td>{esc(str(s.get('data_end', ''))[:10])}</td><td>{run_link}</td></tr>"
        )
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Campaign reports · 活动报告</title>{STYLE}</head>
<body><div class="crm-report">
<h1>Campaign reports · 活动评估报告</h1>
<table class="crm-table"><thead><tr><th>Campaign 活动</th><th>Horizon 周期</th>
<th>Window 窗口</th><th>Verdict 结论</th><th>Best arm 最佳组</th>
<th>Incremental profit (95% interval); ROI · 增量利润（95% 区间）；投资回报率</th>
<th>Data through 数据截至</th>
<th>Run</th></tr></thead>
<tbody>{''.join(rows) or '<tr><td colspan="8">No reports yet</td></tr>'}</tbody></table>
</div></body></html>
"""
    return atomic_write_text(root / "index.html", html)
