"""The daily watch page of a running sale (``reports/<campaign_id>/watch/<day>.html``), from a
:class:`~crm_experiments.analyses.watch.SaleWatch`: per arm and metric the group-sequential
interval for daily looks (the decision) beside the fixed-sample Welch interval (comparison
only), and a methods sentence generated from the boundary applied. Numbers go through
:mod:`crm_experiments.report.format`, sentences through the translation table; the template
escapes every text (arm labels and the campaign name come from the params)."""

from __future__ import annotations

import math
from pathlib import Path

from crm_experiments.analyses.watch import BASELINE_DAYS, LEAD_DAYS, SaleWatch
from crm_experiments.io.atomic import atomic_write_text
from crm_experiments.params import CampaignParams
from crm_experiments.report import format as fmt
from crm_experiments.report.env import render_framed
from crm_experiments.report.i18n import tr

_MONEY_KPIS = ("gmv", "net_revenue", "aov")
_RATE_KPIS = ("paid_rate", "refund_rate")


def _kpi(name: str, value, currency: str, lang: str, average: bool = False) -> str:
    """A KPI cell; counts are whole numbers on a day and one decimal for the baseline's
    average day."""
    if name in _MONEY_KPIS:
        return fmt.money(value, currency, lang)
    if name in _RATE_KPIS:
        return fmt.pct(value, lang)
    return fmt.num(value, lang, 1 if average else 0)


def _effect(metric: str, value, currency: str, lang: str) -> str:
    if metric == "converted":
        return fmt.pct(value, lang, 2, signed=True)
    return fmt.money(value, currency, lang, 2, signed=True)


def _interval(metric: str, lo, hi, currency: str, lang: str) -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):  # no variation yet: no interval
        return tr("watch_no_variation", lang)
    return tr("watch_between", lang, lo=_effect(metric, lo, currency, lang),
              hi=_effect(metric, hi, currency, lang))


def _method(w: SaleWatch, lang: str) -> str:
    """The boundary applied, from the watch's own figures (spending function, planned looks,
    alpha spent and the critical values of the watched day)."""
    latest = w.latest()
    crit = sorted(c for c in latest["critical_value"] if math.isfinite(c))
    if not crit:
        crit_text = tr("watch_no_variation", lang)
    elif f"{crit[0]:.2f}" == f"{crit[-1]:.2f}":
        crit_text = fmt.num(crit[0], lang, 2)
    else:
        crit_text = tr("watch_between", lang, lo=fmt.num(crit[0], lang, 2),
                       hi=fmt.num(crit[-1], lang, 2))
    return tr("watch_gs_method", lang, level=fmt.pct(1 - w.alpha, lang, 0), k=w.planned_looks,
              alpha=fmt.pct(w.alpha, lang, 0), spending=tr(f"watch_spending_{w.spending}", lang),
              spent=fmt.pct(float(latest["alpha_spent"].iloc[0]), lang, 2),
              day=fmt.date(w.day, lang), c=crit_text)


def watch_context(w: SaleWatch, params: CampaignParams) -> dict:
    """Everything the template shows, as display strings."""
    lang, cur = params.language, params.costs.currency
    kpi_rows = []
    for col in w.kpis.columns:
        label = tr("watch_baseline", lang, n=BASELINE_DAYS) if col == "baseline" else \
            fmt.date(col, lang)
        kpi_rows.append({"label": label, "sale": col != "baseline" and col >= str(
            params.sale.start), "values": [_kpi(k, w.kpis.at[k, col], cur, lang, col == "baseline")
                                           for k in w.kpis.index]})
    rows = []
    for r in w.intervals.itertuples(index=False):
        rows.append({
            "day": fmt.date(r.day, lang), "arm": params.arm(r.arm).label or r.arm,
            "metric": tr(f"watch_metric_{r.metric}", lang),
            "estimate": _effect(r.metric, r.estimate, cur, lang),
            "cs": _interval(r.metric, r.lower, r.upper, cur, lang),
            "naive": _interval(r.metric, r.naive_lower, r.naive_upper, cur, lang),
            "critical": fmt.num(r.critical_value, lang, 2) if math.isfinite(r.critical_value)
            else "–",
            "status": tr("watch_excludes_zero" if r.excludes_zero else "watch_includes_zero",
                         lang),
            "latest": r.day == w.day,
        })
    srm = w.srm
    return {
        "lang": lang,
        "heading": tr("watch_title", lang, name=params.display_name),
        "day_line": tr("watch_day", lang, day=fmt.date(w.day, lang),
                       start=fmt.date(params.sale.start, lang),
                       end=fmt.date(params.sale.end, lang)),
        "kpi_head": [tr(f"watch_kpi_{k}", lang) for k in w.kpis.index],
        "kpi_rows": kpi_rows,
        "kpi_note": tr("watch_kpi_note", lang, lead=LEAD_DAYS, n=BASELINE_DAYS),
        "latest": [r for r in rows if r["latest"]],
        "rows": rows,
        "gs_method": _method(w, lang) if not w.latest().empty else "",
        "srm_line": tr("watch_srm_ok" if srm.passed else "watch_srm_mismatch", lang,
                       p=fmt.pvalue(srm.p_value), n=fmt.num(sum(srm.counts), lang, 0)),
        "srm_rows": [{"arm": params.arm(a).label or a, "n": fmt.num(n, lang, 0),
                      "observed": fmt.pct(o, lang), "planned": fmt.pct(e, lang)}
                     for a, n, o, e in zip(srm.arms, srm.counts, srm.observed_shares,
                                           srm.expected_shares, strict=True)],
        "notes": [tr(k, lang) for k in w.notes],
    }


def watch_page(w: SaleWatch, params: CampaignParams) -> str:
    """The whole page (``watch.html.j2`` in the frame of ``base.html.j2``)."""
    ctx = watch_context(w, params)
    return render_framed("watch.html.j2", title=ctx["heading"], **ctx)


def write_watch_page(w: SaleWatch, params: CampaignParams, reports_root: str | Path) -> Path:
    """Write the page atomically to ``<reports_root>/<campaign_id>/watch/<day>.html``."""
    path = Path(reports_root) / params.campaign_id / "watch" / f"{w.day.isoformat()}.html"
    return atomic_write_text(path, watch_page(w, params))
