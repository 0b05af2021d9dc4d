"""The next-round plan page (``templates/plan.html.j2``), rendered from a plan's ``summary()``
and ``tables()`` only (a live :class:`~crm_experiments.plan.decide.Plan` or its stored copy),
in one language; every word from :data:`~crm_experiments.report.i18n.TEXT`, every number
through the environment's filters. Nothing here computes a figure: it picks, labels and
formats what the plan holds.

Reasons are stored by the plan as ``{"key": TEXT key, "args": {...}}``; :func:`reason_text`
writes one in a language. Arguments are read by their names: ``arm`` / ``kind`` / ``primary``
are arm ids shown by their labels, ``*_kinds`` lists of them; ``*_key`` a TEXT key, ``*_keys``
a list of them; ``*_text`` text shown as it is (an id); ``*_pct`` a share, ``*_n`` a count or
plain amount; anything else an amount of money (per customer, two decimals).
"""

from __future__ import annotations

import json
import math

import pandas as pd

from crm_experiments.report.env import render_framed
from crm_experiments.report.format import money, num, pct
from crm_experiments.report.i18n import TEXT, tr, type_key

ARM_ARGS = ("arm", "kind", "primary")


def arm_label(arm: str | None, labels: dict[str, str], lang: str,
              campaign_type: str = "coupon") -> str:
    """The arm's label from the params, else the TEXT label of a known id (in the wording of
    ``campaign_type``), else the id."""
    if arm is None:
        return "–"
    if labels.get(arm):
        return str(labels[arm])
    key = type_key(f"plan_arm_{arm}", campaign_type)
    return tr(key, lang) if key in TEXT else str(arm)


def _join(items: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def _arg(name: str, value, lang: str, currency: str, labels: dict[str, str],
         campaign_type: str = "coupon") -> str:
    if name in ARM_ARGS:
        return arm_label(value, labels, lang, campaign_type)
    if name.endswith("_kinds"):
        return _join([arm_label(v, labels, lang, campaign_type) for v in value], lang)
    if name.endswith("_keys"):
        return _join([tr(v, lang) for v in value], lang)
    if name.endswith("_key"):
        return tr(value, lang)
    if name.endswith("_text"):
        return str(value)
    if name.endswith("_pct"):
        return pct(value, lang, 0)
    if name.endswith("_n"):
        return num(value, lang, 0)
    return money(value, currency, lang, 2)


def reason_text(reason: dict, lang: str, currency: str, labels: dict[str, str],
                campaign_type: str = "coupon") -> str:
    """One stored reason written in ``lang`` (see the module docstring for its arguments), in
    the wording of ``campaign_type`` (:func:`~crm_experiments.report.i18n.type_key`)."""
    args = {name: _arg(name, value, lang, currency, labels, campaign_type)
            for name, value in (reason.get("args") or {}).items()}
    args.setdefault("currency", currency)
    return tr(type_key(reason["key"], campaign_type), lang, **args)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [] if frame is None or frame.empty else frame.to_dict(orient="records")


def _stored_reason(row: dict) -> dict:
    return {"key": row["reason_key"], "args": json.loads(row["reason_args"] or "{}")}


def _design_text(d: dict, lang: str, currency: str) -> dict:
    """The holdout sentence's key and its formatted arguments but the share, which the
    template formats (it is a shared figure when it equals the evaluation's)."""
    key = "plan_holdout_text" if d.get("reachable", True) else "plan_holdout_unreachable"
    return {"key": key, "share": d["holdout_share"], "args": {
        "n": num(d["n_holdout"], lang, 0), "total": num(d["n_total"], lang, 0),
        "power": pct(d["power"], lang, 1), "effect": money(d["effect"], currency, lang, 2),
        "target": pct(d["target_power"], lang, 0), "mde": money(d["mde"], currency, lang, 2)}}


def _method_key(k) -> str:
    return "plan_method_pm" if k is not None and k > 1 else "plan_method_single"


def plan_page(plan, *, lang: str, currency: str, display_name: str,
              labels: dict[str, str] | None = None, params_path: str | None = None) -> str:
    """The plan page in ``lang``. ``plan``: anything with the plan's ``summary()`` and
    ``tables()``; ``labels``: arm / kind id -> label (over the labels the plan holds);
    ``display_name``: the next round's name; ``params_path``: where its draft params are."""
    s, t = plan.summary(), plan.tables()
    labels = {**(s.get("labels") or {}), **(labels or {})}
    ctype = s.get("campaign_type") or "coupon"

    def label(arm):
        return arm_label(arm, labels, lang, ctype)

    def why(reason):
        return reason_text(reason, lang, currency, labels, ctype)

    kinds = [{**r, "label": label(r["kind"]), "why": why(_stored_reason(r))}
             for r in _records(t.get("kinds"))]
    measured = [{**r, "label": r["label"] if isinstance(r.get("label"), str) and r["label"]
                 else label(r["arm"])} for r in _records(t.get("campaign_arms"))]
    states = [{**r, "name": tr(f"state_{r['state']}", lang),
               "offer": label(r["arm_kind"]) if isinstance(r["arm_kind"], str) else "–",
               "why": why(_stored_reason(r))} for r in _records(t.get("states"))]
    arms = [{**r, "label": label(r["name"])} for r in _records(t.get("next_arms"))]
    sources = s.get("sources") or []
    notes = []
    for src in sources:
        correction = src.get("correction") or "none"
        notes.append(tr(type_key("plan_measured_note", ctype), lang,
                        campaign=src["campaign_id"],
                        correction=tr(f"plan_correction_{correction}", lang),
                        m=num(src.get("family_size"), lang, 0),
                        arms=num(src.get("family_arms"), lang, 0),
                        metrics=num(src.get("family_metrics"), lang, 0)))
    k_max = max((r["k"] for r in kinds), default=None)
    design, evaluation = s.get("design"), s.get("evaluation_design")
    rows = []
    if design and evaluation and not s.get("holdout_same"):
        for key, field, kind in (("plan_design_n_total", "n_total", "n"),
                                 ("plan_design_share", "holdout_share", "pct"),
                                 ("plan_design_n_holdout", "n_holdout", "n"),
                                 ("plan_design_effect", "effect", "money"),
                                 ("plan_design_sd", "sd", "money"),
                                 ("plan_design_vr", "variance_reduction", "pct"),
                                 ("plan_design_power", "power", "pct"),
                                 ("plan_design_mde", "mde", "money")):
            rows.append({"name": tr(key, lang), "kind": kind, "field": field,
                         "evaluation": evaluation.get(field), "plan": design.get(field)})
    primary_power = s.get("primary_power")
    primary_power_text = None
    if design and primary_power is not None and math.isfinite(primary_power):
        share = next((a["planned_share"] for a in arms if a["name"] == s.get("primary")), None)
        primary_power_text = tr("plan_primary_power", lang, primary=label(s.get("primary")),
                                share=pct(share, lang, 1), power=pct(primary_power, lang, 1))
    e = s["expected_profit"]
    context = {
        "currency": currency, "display_name": display_name, "params_path": params_path,
        "sources": [tr("plan_source", lang, campaign=src["campaign_id"],
                       h=num(src["horizon_days"], lang, 0)) for src in sources],
        "sep": "、" if lang == "zh" else ", ",
        "kinds": kinds, "measured": measured, "measured_notes": notes, "states": states,
        "offers_note": tr(type_key("plan_offers_note", ctype), lang,
                          method=tr(_method_key(k_max), lang)),
        "arms": arms,
        "design_text": _design_text(design, lang, currency) if design else None,
        "holdout_same": bool(s.get("holdout_same")),
        "latest": s.get("latest"),
        "has_evaluation_design": evaluation is not None,
        "holdout_notes": [why(r) for r in s.get("holdout_notes") or []],
        "design_rows": rows, "primary_power_text": primary_power_text,
        "expected": e,
        "expected_note": tr("plan_expected_profit_note", lang,
                            fixed=money(e.get("fixed_cost"), currency, lang, 0)),
        "reasons": [why(r) for r in s.get("reasons") or []],
    }
    return render_framed("plan.html.j2", lang=lang, title=display_name, **context)
