"""The shop-wide holdout page (``reports/<campaign_id>/holdout/<start>_<end>.html``), from a
:class:`~crm_experiments.analyses.holdout.HoldoutAnalysis` (live or stored: only its
``summary()`` and ``tables()`` are read). Money through :mod:`crm_experiments.report.format`
(Babel), sentences through the translation table; the template escapes every text (the
campaign name comes from the params)."""

from __future__ import annotations

from pathlib import Path

from crm_experiments.analyses.holdout import DRIFT_ALPHA, DRIFT_SMD
from crm_experiments.io.atomic import atomic_write_text
from crm_experiments.report import format as fmt
from crm_experiments.report.env import render_framed
from crm_experiments.report.i18n import TEXT, tr

#: key prefix of a drift category's label in the translation table, by breakdown
_CATEGORY_KEYS = {"lifecycle": "state_", "rfm": "rfm_"}


def _category(kind: str, value: str, lang: str) -> str:
    key = f"{_CATEGORY_KEYS.get(kind, '')}{value}"
    return tr(key, lang) if key in TEXT else str(value)


def _value(metric: str, value, cur: str, lang: str, signed: bool = False) -> str:
    if metric == "repurchase":
        return fmt.pct(value, lang, 2, signed=signed)
    return fmt.money(value, cur, lang, 2, signed=signed)


def _between(metric: str, lo, hi, cur: str, lang: str) -> str:
    return tr("watch_between", lang, lo=_value(metric, lo, cur, lang, True),
              hi=_value(metric, hi, cur, lang, True))


def holdout_context(summary: dict, tables: dict) -> dict:
    """Everything the template shows, as display strings."""
    lang, cur = summary.get("language", "en"), summary.get("currency", "CNY")
    effects, totals = tables["effects"], tables["totals"]
    rows = [{
        "metric": tr(f"holdout_metric_{r.metric}", lang),
        "estimate": _value(r.metric, r.estimate, cur, lang, True),
        "interval": _between(r.metric, r.ci_low, r.ci_high, cur, lang),
        "relative": fmt.pct(r.rel_estimate, lang, 1, signed=True),
        "rel_interval": tr("watch_between", lang, lo=fmt.pct(r.rel_ci_low, lang, 1, True),
                           hi=fmt.pct(r.rel_ci_high, lang, 1, True)),
        "p": fmt.pvalue(r.p_value), "method": r.method,
    } for r in effects.itertuples(index=False)]
    total_rows = [{
        "metric": tr(f"holdout_metric_{r.metric}", lang),
        "total": fmt.money(r.total, cur, lang, 0, signed=True),
        "interval": tr("watch_between", lang,
                       lo=fmt.money(r.total_low, cur, lang, 0, signed=True),
                       hi=fmt.money(r.total_high, cur, lang, 0, signed=True)),
    } for r in totals.itertuples(index=False)]
    group_rows = [{
        "group": tr(f"holdout_group_{r.group}", lang), "customers": fmt.num(r.customers, lang, 0),
        "revenue": fmt.money(r.revenue, cur, lang, 2),
        "gross_profit": fmt.money(r.gross_profit, cur, lang, 2),
        "contacts": fmt.num(r.contacts, lang, 2),
        "contact_cost": fmt.money(r.contact_cost, cur, lang, 2),
        "coupon_cost": fmt.money(r.coupon_cost, cur, lang, 2),
        "net_profit": fmt.money(r.net_profit, cur, lang, 2),
        "repurchase": fmt.pct(r.repurchase, lang, 2),
    } for r in tables["groups"].itertuples(index=False)]
    drift_rows = [{
        "moment": fmt.date(r.date, lang), "kind": tr(f"holdout_kind_{r.kind}", lang),
        "p": fmt.pvalue(r.p_value), "smd": fmt.num(r.max_abs_smd, lang, 3),
        "worst": _category(r.kind, r.worst_category, lang),
        "status": tr("holdout_unbalanced" if r.flagged else "holdout_balanced", lang),
        "flagged": bool(r.flagged),
    } for r in tables["drift"].itertuples(index=False)]

    headline = truth_line = None
    profit = effects[effects["metric"] == "net_profit"]
    profit_total = totals[totals["metric"] == "net_profit"]
    if not profit.empty and not profit_total.empty:
        p, t = profit.iloc[0], profit_total.iloc[0]
        headline = tr("holdout_headline", lang, total=fmt.money(t.total, cur, lang, 0, True),
                      lo=fmt.money(t.total_low, cur, lang, 0, True),
                      hi=fmt.money(t.total_high, cur, lang, 0, True),
                      per=fmt.money(p.estimate, cur, lang, 2, True))
        if t.total_low <= 0 <= t.total_high:
            headline += " " + tr("holdout_inconclusive", lang)
        truth = (summary.get("truth") or {}).get("net_profit")
        if truth is not None:
            inside = p.ci_low <= truth <= p.ci_high
            truth_line = tr("holdout_truth_line", lang, truth=fmt.money(truth, cur, lang, 2, True),
                            inside=tr("holdout_truth_inside" if inside else
                                      "holdout_truth_outside", lang))
    d = summary.get("design") or {}
    design = []
    power = fmt.pct(d.get("power"), lang, 0)
    if d.get("mde_current") is not None:
        design.append(tr("holdout_design_current", lang,
                         share=fmt.pct(d.get("current_share"), lang, 1), power=power,
                         mde=fmt.money(d["mde_current"], cur, lang, 2)))
    if d.get("recommended_share") is not None:
        key = "holdout_design_recommend" if d.get("reachable") else "holdout_design_unreachable"
        design.append(tr(key, lang, target=fmt.money(d.get("target"), cur, lang, 2),
                         power=power, share=fmt.pct(d["recommended_share"], lang, 1)))
    if design:
        design.append(tr("holdout_design_method", lang, sd=fmt.money(d.get("sd"), cur, lang, 2),
                         vr=fmt.pct(d.get("variance_reduction"), lang, 1)))
    return {
        "lang": lang,
        "heading": tr("holdout_title", lang, name=summary.get("display_name", "")),
        "period": tr("holdout_period", lang, start=fmt.date(summary["start"], lang),
                     end=fmt.date(summary["end"], lang), to=fmt.date(summary["measured_to"], lang),
                     n_h=fmt.num(summary["n_holdout"], lang, 0),
                     share=fmt.pct(summary["share"], lang, 1),
                     n_e=fmt.num(summary["n_exposed"], lang, 0)),
        "headline": headline, "truth_line": truth_line,
        "notes": [tr(k, lang, **(v or {})) for k, v in summary.get("notes", [])],
        "rows": rows, "total_rows": total_rows, "group_rows": group_rows,
        "drift_rows": drift_rows, "design": design,
        "method": tr("holdout_method", lang,
                     level=fmt.pct(1 - float(summary.get("alpha", 0.05)), lang, 0)),
        "drift_note": tr("holdout_drift_note", lang, alpha=f"{DRIFT_ALPHA:g}",
                         smd=f"{DRIFT_SMD:g}"),
    }


def holdout_page(summary: dict, tables: dict) -> str:
    """The whole page (``holdout.html.j2`` in the frame of ``base.html.j2``)."""
    ctx = holdout_context(summary, tables)
    return render_framed("holdout.html.j2", title=ctx["heading"], **ctx)


def holdout_path(reports_root: str | Path, summary: dict) -> Path:
    """``<reports_root>/<campaign_id>/holdout/<start>_<end>.html``."""
    return (Path(reports_root) / summary["campaign_id"] / "holdout"
            / f"{summary['start']}_{summary['end']}.html")


def write_holdout_page(result, reports_root: str | Path) -> Path:
    """Write the page of ``result`` (a holdout analysis or its stored copy) atomically."""
    summary, tables = result.summary(), result.tables()
    return atomic_write_text(holdout_path(reports_root, summary), holdout_page(summary, tables))
