"""HTML pages rendered from results: the evaluation report, the portal, and the pages of the
extra notebooks (CLV/churn, coupon uplift).

A page is rendered from a result's ``summary()`` and ``tables()`` only, so the live result
and its stored copy (``Evaluation.read(dir)``) give the same page. This module picks and
arranges rows for the templates (``templates/evaluation*.html.j2``, ``portal.html.j2``); the
templates translate (:func:`~.i18n.tr`) and format (the environment's filters); every text
from params or data is autoescaped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import pandas as pd

from crm_experiments.analyses.economics import COST_LINES, disagreement
from crm_experiments.report import charts, fonts
from crm_experiments.report.env import render, render_framed
from crm_experiments.report.i18n import TEXT, tr, type_key
from crm_experiments.stats.result import shown_interval

#: The evaluation report's sections, in page order (``templates/evaluation_<name>.html.j2``).
SECTIONS = ("header", "verdict", "money", "next_round", "effects", "did", "segments",
            "heterogeneity", "kpis", "before_after", "retention", "satisfaction", "cohorts",
            "reactivation", "reminders", "interactions", "lifecycle", "rfm", "tiers", "methods",
            "notes", "glossary")
#: Unit of each sale KPI (how its cells are formatted); others are counts.
KPI_UNITS = {"gmv": "money", "net_revenue": "money", "aov": "money", "refund_amount": "money",
             "paid_rate": "rate", "refund_rate": "rate", "shipped_same_day_rate": "rate",
             "not_shipped_rate": "rate", "returning_revenue_share": "rate"}
KPI_COLUMNS = ("sale", "weeks_before", "last_year")
#: The KPIs that are unknown (not 0 or 100%) when the data hold no shipping times.
SHIPPING_KPIS = ("shipped_same_day_rate", "not_shipped_rate")
#: Unit of each satisfaction metric; others are mean scores (two decimals).
SATISFACTION_UNITS = {"refund_rate": "rate", "positive_rate": "rate", "negative_rate": "rate",
                      "csat": "rate", "nps": "score1"}
#: Prefix of the translation keys of a segment column's values.
SEGMENT_VALUES = {"lifecycle_state": "state_", "tier": "tier_"}
#: The metric of the segment table.
SEGMENT_METRIC = "net_profit"
GLOSSARY = ("holdout", "incremental_profit", "roi", "interval", "p_value", "adjustment", "srm",
            "lifecycle", "dsr")
#: The verdict's fields the portal shows.
VERDICT_FIELDS = ("status", "best_arm", "incremental_profit", "incremental_profit_low",
                  "incremental_profit_high", "roi", "roi_low", "roi_high")
#: Titles (translation keys) of the pages beside ``report.html``, by notebook.
PAGE_TITLES = {"report": "report_title", "clv_churn": "page_clv_churn",
               "coupon_uplift": "page_coupon_uplift"}


def translator(lang: str):
    """``term(prefix, value)``: the translation of ``prefix + value`` in ``lang`` when the
    table has that key, else ``value`` as is (e.g. a segment value the table does not know)."""
    def term(prefix: str, value: object) -> str:
        key = f"{prefix}{value}"
        return tr(key, lang) if key in TEXT else str(value)
    return term


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    return frame.to_dict("records")


def _adjusted(row: dict) -> dict:
    """``row`` with ``lo``, ``hi``, ``p``, ``rel_lo``, ``rel_hi``: what the effect shows
    (:func:`~crm_experiments.stats.result.shown_interval`, per row, as the effects chart)."""
    shown = shown_interval(row)
    return {**row, "lo": shown.low, "hi": shown.high, "p": shown.p_value,
            "rel_lo": shown.rel_low, "rel_hi": shown.rel_high}


# --- the evaluation page -----------------------------------------------------------------
def evaluation_context(result) -> dict:
    """What the evaluation templates read, from ``result.summary()`` and ``result.tables()``
    (rows picked and arranged, charts drawn; nothing computed)."""
    s, t = result.summary(), result.tables()
    lang, cur = s["language"], s["currency"]
    term = translator(lang)
    labels = {a["name"]: a["label"] for a in s["arms"]}
    control = s["control_arm"]
    economics = t["economics"]
    decisions = [{"arm": r["arm"], "label": labels.get(r["arm"], r["arm"]),
                  "decision": s["decisions"][r["arm"]], "row": r,
                  "why": disagreement(s["decisions"][r["arm"]],
                                      r.get("prob_beats_holdout", math.nan), s["alpha"])}
                 for r in _records(economics) if r["arm"] in s["decisions"]]
    truth = {(r["arm"], r["metric"]): r["true_effect"] for r in _records(t.get("true_effects"))}
    ctype = s.get("campaign_type", "coupon")
    coverage = s.get("coverage") or {}
    records = _records(economics)
    adjusted = any(m.get("covariate") or m.get("covariate_groups")
                   for m in s["methods"]["metrics"])
    effects = [{**_adjusted(r), "true_effect": truth.get((r["arm"], r["metric"]), math.nan)}
               for r in _records(t["effects"])]
    segments = [_adjusted(r) for r in _records(t["segment_effects"])
                if r.get("metric") == SEGMENT_METRIC]
    design = _records(t.get("design"))
    context = {
        "s": s, "lang": lang, "cur": cur, "labels": labels, "term": term,
        # the wording of the campaign's type
        "k": lambda key: type_key(key, ctype),
        "costs_words": tr(f"costs_{ctype}", lang),
        "cost_columns": cost_columns(ctype, records),
        "recovered_orders": ctype == "payment_reminder",
        "verdict_row": next((r for r in records if r["arm"] == s["verdict"]["best_arm"]), None),
        "terms": lambda prefix, values: tr("list_separator", lang).join(
            term(prefix, v) for v in values),
        "segment_value": lambda col, value: (term(SEGMENT_VALUES[col], value)
                                             if col in SEGMENT_VALUES else str(value)),
        "sections": SECTIONS,
        "economics": _records(economics),
        "decisions": decisions,
        "design": design[0] if design else None,
        "control_share": next((a["planned_share"] for a in s["arms"] if a["control"]),
                              math.nan),
        "effects": effects,
        "adjustment": _records(t.get("adjustment")),
        "secondary": [_adjusted(r) for r in _records(t.get("secondary_effects"))],
        "effects_level": effects_level(s),
        "has_truth": bool(truth),
        "did": _records(t.get("did")),
        "segments": segments,
        "segment_metric": SEGMENT_METRIC,
        "heterogeneity": _records(t.get("heterogeneity")),
        "kpis": _kpis(t["kpis"], coverage, "note_no_shipping" in s["notes"]),
        "kpi_columns": [c for c in KPI_COLUMNS if c in t["kpis"].columns],
        "kpi_no_data": any(coverage.get(c) == "none" for c in KPI_COLUMNS),
        "kpi_partial": [c for c in KPI_COLUMNS if coverage.get(c) == "partial"],
        "cohort_no_data": coverage.get("cohort_ordinary") == "none",
        "before_after": _before_after(t["stickiness"], [a["name"] for a in s["arms"]]),
        "satisfaction": _satisfaction(t.get("satisfaction"), [a["name"] for a in s["arms"]]),
        **_cohorts(t.get("cohorts")),
        "reactivation": _records(t.get("reactivation")),
        # no sleeping or lost customer at the sale start (e.g. no history): nothing to wake
        "reactivation_empty": all(r["customers"] == 0 for r in _records(t.get("reactivation"))),
        **_interactions(t.get("interactions")),
        **_reminders(t.get("reminders")),
        "rfm": _shares(t.get("rfm"), "segment", s["arms"]),
        "tiers": _shares(t.get("tiers"), "tier", s["arms"]),
        "tier_migration": _migration(t.get("tier_migration"), s["arms"]),
        "segment_families": [tr("methods_family", lang, segment=term("segment_", k), m=n)
                             for k, n in s["methods"]["segment_families"].items()],
        # no entry for an adjustment that no metric got
        "glossary": [g for g in GLOSSARY if g != "adjustment" or adjusted],
        "charts": _charts(s, t, labels, control, lang),
    }
    return context


def cost_columns(ctype: str, records: list[dict]) -> list[dict]:
    """The money table's cost columns: the type's cost lines
    (:data:`~crm_experiments.analyses.economics.COST_LINES`), the coupon cost first also in
    another type when some arm has one; each with its title's translation key and the
    economics column saying whether it is recorded (``<line>_recorded``, absent = recorded)."""
    lines = list(COST_LINES.get(ctype, COST_LINES["coupon"]))
    if "coupon_cost" not in lines and any(_finite(r.get("coupon_cost")) and r["coupon_cost"] > 0
                                          for r in records):
        lines.insert(0, "coupon_cost")
    return [{"line": line, "title": type_key(line, ctype), "flag": f"{line}_recorded"}
            for line in lines]


def _kpis(frame: pd.DataFrame, coverage: dict, no_shipping: bool) -> list[dict]:
    """The KPI rows with, per window, the word that stands for a missing value: ``no_data``
    for a window the data do not reach, ``unknown`` for shipping rates without shipping
    times (else None: the value is shown)."""
    out = []
    for r in _records(frame):
        missing = {c: ("no_data" if coverage.get(c) == "none"
                       else "unknown" if no_shipping and r["kpi"] in SHIPPING_KPIS else None)
                   for c in KPI_COLUMNS}
        out.append({**r, "unit": KPI_UNITS.get(r["kpi"], "count"), "missing": missing})
    return out


def _before_after(stickiness: pd.DataFrame, arms: Sequence[str]) -> list[dict]:
    rows = {(r["group"], r["period"]): r for r in _records(stickiness)}
    return [{"group": g, "after": rows[(g, "after")], "before": rows.get((g, "before")),
             "no_data": rows.get((g, "before"), {}).get("coverage") == "none"}
            for g in [*arms, "all"] if (g, "after") in rows]


def _satisfaction(frame: pd.DataFrame | None, arms: Sequence[str]) -> list[dict]:
    records = _records(frame)
    if not records:
        return []
    cells = {(r["metric"], r["group"], r["period"]): r for r in records}
    return [{"metric": metric, "unit": SATISFACTION_UNITS.get(metric, "score"),
             "cells": [{"before": cells.get((metric, arm, "before")),
                        "after": cells.get((metric, arm, "after"))} for arm in arms]}
            for metric in dict.fromkeys(r["metric"] for r in records)]


def _cohorts(frame: pd.DataFrame | None) -> dict:
    records = _records(frame)
    if not records:
        return {"cohorts": [], "cohort_horizons": []}
    horizons = list(dict.fromkeys(int(r["horizon_days"]) for r in records))
    by = {(r["cohort"], int(r["horizon_days"])): r for r in records}
    rows = [{"cohort": c, "cells": [by.get((c, h)) for h in horizons]}
            for c in ("sale", "ordinary")]
    diff = [next((r for (c, hh), r in by.items() if hh == h and c not in ("sale", "ordinary")),
                 None) for h in horizons]
    rows.append({"cohort": "diff", "cells": [r if r is not None and _finite(r["rate"]) else None
                                             for r in diff]})
    return {"cohorts": rows, "cohort_horizons": horizons}


def _interactions(frame: pd.DataFrame | None) -> dict:
    """The activities' rows grouped by activity (``compared``: the row has estimates), and
    the participants each activity left out of the population."""
    records = [{**r, "compared": _finite(r.get("adjusted_estimate"))}
               for r in _records(frame)]
    kinds = list(dict.fromkeys(r["kind"] for r in records))
    groups = [{"kind": k, "rows": [r for r in records if r["kind"] == k]} for k in kinds]
    return {"interactions": groups,
            "interactions_outside": [{"kind": g["kind"], "n": g["rows"][0]["participants_outside"]}
                                     for g in groups if g["rows"][0]["participants_outside"]]}


def _reminders(frame: pd.DataFrame | None) -> dict:
    """The reminded and not-reminded rows of the ``reminders`` table, and its difference row."""
    records = _records(frame)
    groups = ("reminded", "not_reminded")
    return {"reminders": [r for g in groups for r in records if r["group"] == g],
            "reminders_diff": next((r for r in records if r["group"] not in groups), None)}


def _shares(frame: pd.DataFrame | None, category: str, arms: list[dict]) -> list[dict]:
    """Rows of an ``rfm`` / ``tiers`` table by category (those with a customer in some arm at
    some moment), each with per arm its ``before`` and ``after`` rows and per treatment arm
    its ``after`` row (the difference from the holdout)."""
    records = _records(frame)
    by = {(r["arm"], r["moment"], r[category]): r for r in records}
    used = [c for c in dict.fromkeys(r[category] for r in records)
            if any(r["customers"] > 0 for r in records if r[category] == c)]
    return [{"category": c,
             "cells": [{"before": by.get((a["name"], "before", c)),
                        "after": by.get((a["name"], "after", c))} for a in arms],
             "diffs": [{"arm": a["name"], "row": by.get((a["name"], "after", c))}
                       for a in arms if not a["control"]]} for c in used]


def _migration(frame: pd.DataFrame | None, arms: list[dict]) -> list[dict]:
    """Per arm: its ``tier_migration`` rows by direction, and whether it is the holdout."""
    by = {(r["arm"], r["direction"]): r for r in _records(frame)}
    return [{"arm": a["name"], "label": a["label"], "control": a["control"],
             "cells": [by.get((a["name"], d)) for d in ("up", "same", "down")]}
            for a in arms if (a["name"], "up") in by]


def effects_level(s: dict) -> float:
    """Confidence level of the intervals the effects table shows: the Bonferroni level of a
    corrected family, else ``1 - alpha``."""
    return s["methods"].get("interval_level") or 1 - s["alpha"]


def _charts(s: dict, t: dict[str, pd.DataFrame], labels: dict[str, str], control: str,
            lang: str) -> dict:
    # every chart key present (None: no data, e.g. no sale buyer to follow for retention)
    out: dict = {"migration": [], "profit": None, "effects": None, "retention": None,
                 "lifecycle": None}
    if not t["economics"].empty:
        out["profit"] = charts.profit_chart(t["economics"], currency=s["currency"], lang=lang)
    if not t["effects"].empty:
        out["effects"] = charts.effects_chart(t["effects"], labels=labels, lang=lang,
                                              level=effects_level(s))
    curve = t.get("retention_curve")
    if curve is not None and not curve.empty:
        out["retention"] = charts.retention_chart(curve, labels=labels, control=control,
                                                  lang=lang)
    if not t["lifecycle"].empty:
        out["lifecycle"] = charts.lifecycle_chart(t["lifecycle"], labels=labels, lang=lang)
    for arm in (a["name"] for a in s["arms"]):
        matrix = t.get(f"migration_{arm}")
        if matrix is not None and not matrix.empty:
            title = tr("chart_migration", lang, arm=labels.get(arm, arm))
            out["migration"].append((title, charts.migration_heatmap(matrix, title=title,
                                                                     lang=lang)))
    return out


def evaluation_page(result, *, nav: Iterable[tuple[str, str]] = ()) -> str:
    """The evaluation report of ``result`` (an :class:`~crm_experiments.analyses.campaign.
    Evaluation` or its stored copy) in the language of its summary."""
    context = evaluation_context(result)
    s = context["s"]
    title = f"{s['display_name']} · {tr('horizon', s['language'], h=s['horizon_days'])}"
    return render_framed("evaluation.html.j2", title=title, nav=nav, **context)


@dataclass(frozen=True)
class Section:
    """One section of the evaluation report, displayed as HTML in a notebook."""

    name: str
    html: str

    def _repr_html_(self) -> str:
        return self.html


def evaluation_sections(result) -> list[Section]:
    """The report's sections (the page's body, one by one) for a notebook; the first one
    carries the page's style sheet and fonts."""
    context = evaluation_context(result)
    def section(name: str, font_css: str = "", style: bool = False) -> Section:
        return Section(name, render("evaluation_section.html.j2", name=name, style=style,
                                    font_css=font_css, **context))
    out = [section(name, style=i == 0) for i, name in enumerate(SECTIONS)]
    css = fonts.font_face_css("".join(x.html for x in out))
    if css:
        out[0] = section(SECTIONS[0], font_css=css, style=True)
    return out


# --- navigation and the extra notebooks' pages ------------------------------------------
def page_title(stem: str, lang: str, campaign_type: str = "coupon") -> str:
    """The translated title of the page ``stem`` in a campaign of ``campaign_type`` (the
    uplift page of a campaign without coupons does not say coupon)."""
    return tr(type_key(PAGE_TITLES.get(stem, stem), campaign_type), lang)


def page_nav(stems: Iterable[str], lang: str,
             campaign_type: str) -> list[tuple[str, str]]:
    """The navigation bar of a report's pages: the report, the pages of ``stems`` (extra
    notebooks) and the portal, with translated titles and relative links."""
    nav = [(tr("report_title", lang), "report.html")]
    nav += [(page_title(stem, lang, campaign_type), f"{stem}.html") for stem in stems]
    nav.append((tr("page_portal", lang), "../../index.html"))
    return nav


def extra_page(stem: str, result, *, evaluation, nav: Iterable[tuple[str, str]] = ()) -> str:
    """The page of the extra notebook ``stem`` from its stored result, beside the campaign's
    ``evaluation`` (for the figures it shares)."""
    if stem == "clv_churn":
        from crm_experiments.report.clv_page import clv_page

        return clv_page(result, evaluation=evaluation, nav=nav)
    if stem == "coupon_uplift":
        from crm_experiments.report.uplift_page import uplift_page

        return uplift_page(result, evaluation=evaluation, nav=nav)
    raise ValueError(f"no page for the notebook '{stem}' (known: clv_churn, coupon_uplift)")


def skipped_page(stem: str, part: dict, lang: str, *,
                 nav: Iterable[tuple[str, str]] = (), campaign_type: str) -> str:
    """The short page that stands in for the extra notebook ``stem`` when it was skipped or
    failed. ``part``: ``status`` (``skipped`` / ``failed``), ``key`` and ``facts`` (a text of
    the translation table and its values) or ``error`` and ``message`` (a failure's)."""
    page = page_title(stem, lang, campaign_type)
    if part.get("key") in TEXT:
        reason = tr(part["key"], lang, **part.get("facts", {}))
    else:
        reason = tr("skip_reason_other", lang, message=part.get("message", ""))
    error = part.get("error", "") if part.get("status") == "failed" else ""
    return render_framed("skipped.html.j2", lang=lang, title=tr("skipped_heading", lang,
                                                                page=page),
                         nav=nav, page=page, status=part.get("status", "skipped"),
                         reason=reason, error=error)


def render_page(result, *, evaluation=None, nav: Iterable[tuple[str, str]] = ()) -> str:
    """The page of any analysis result (live or stored), as the report shows it: the
    evaluation report, the CLV/churn page or the coupon-uplift page (its money from
    ``evaluation`` when given, else the analysis' own copy of the same economics)."""
    kind = getattr(result, "kind", None) or result.KIND
    if kind == "campaign_evaluation":
        return evaluation_page(result, nav=nav)
    stems = {"clv_churn": "clv_churn", "coupon_uplift": "coupon_uplift"}
    if kind not in stems:
        raise ValueError(f"no page for a '{kind}' result (known: campaign_evaluation, "
                         f"{', '.join(stems)})")
    return extra_page(stems[kind], result, evaluation=evaluation, nav=nav)


# --- the portal ------------------------------------------------------------------------
def portal_page(entries: Iterable[dict], plans: Iterable[dict] = (),
                watches: Iterable[dict] = (), *, holdouts: Iterable[dict] = ()) -> str:
    """``reports/index.html``: one row per stored evaluation summary (as the runner publishes
    it: the result's summary plus ``_href``, ``pages``, ``mlflow_run_url`` ...) with its arms
    by label, one row per next-round plan (``plan.json`` plus ``_href``), and the sale watch
    pages (``campaign_id``, ``day``, ``href``: :func:`.render.write_index`) and the shop-wide
    holdout pages (``campaign_id``, ``period``, ``href``), bilingual."""
    rows = []
    for e in entries:
        v = {k: (e.get("verdict") or {}).get(k) for k in VERDICT_FIELDS}
        labels = {a.get("name"): a.get("label") for a in e.get("arms", [])}
        best = v.get("best_arm")
        base = PurePosixPath(e.get("_href", "report.html")).parent
        rows.append({
            "href": e.get("_href", ""),
            "name": e.get("display_name") or e.get("campaign_id", ""),
            "horizon": int(e.get("horizon_days") or 0),
            "window_start": e.get("window_start"), "window_end": e.get("window_end"),
            "data_end": e.get("data_end"),
            "status": str(v.get("status")),
            "best_arm": e.get("best_arm_label") or labels.get(best) or best,
            "verdict": v, "currency": e.get("currency", "CNY"),
            "lang": e.get("language", "en"),
            "pages": [(PurePosixPath(p).stem, (base / p).as_posix()) for p in e.get("pages", [])],
            "run_url": e.get("mlflow_run_url"), "run_id": e.get("mlflow_run_id"),
            "arms": [a.get("label") or a.get("name") for a in e.get("arms", [])],
            # page titles in the campaign's wording (no coupon words without coupons)
            "titles": {stem: type_key(key, e.get("campaign_type") or "coupon")
                       for stem, key in PAGE_TITLES.items()},
        })
    plan_rows = [{
        "href": p.get("_href", ""),
        "name": p.get("display_name") or p.get("next_id", ""),
        "campaigns": list(p.get("campaigns") or []),
        "arms": [(a.get("label") or a.get("name"), a.get("planned_share"))
                 for a in p.get("arms") or []],
        "expected": p.get("expected_profit") or {},
        "draft": p.get("draft_params"),
        "currency": p.get("currency", "CNY"), "lang": p.get("language", "en"),
    } for p in plans]
    title = f"{tr('portal_title', 'en')} · {tr('portal_title', 'zh')}"
    return render_framed("portal.html.j2", lang="en", title=title, rows=rows,
                         plans=plan_rows, page_titles=PAGE_TITLES, watches=list(watches),
                         holdouts=list(holdouts))
