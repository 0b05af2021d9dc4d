"""The CLV and churn page of a campaign, rendered from a
:class:`~crm_experiments.analyses.clv.CampaignCLV` or its stored copy (``summary()`` and
``tables()`` only, so both give the same page).

:func:`clv_body` is the page's content (what the notebook shows), :func:`clv_page` the whole
page in the frame of ``base.html.j2``. Sentences are put together here from the result's
facts and the translation table; numbers go through :mod:`crm_experiments.report.format`;
the templates escape every text.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from crm_experiments.models.sample import precision_factor
from crm_experiments.report import format as fmt
from crm_experiments.report import model_charts
from crm_experiments.report.env import render, render_framed
from crm_experiments.report.i18n import TEXT, tr

#: Segment columns whose values have labels in the translation table (key prefix).
VALUE_KEYS = {"lifecycle_state": "state_", "tier": "tier_", "gender": "gender_",
              "province": "province_"}


def segment_label(segment: str, lang: str) -> str:
    """The translated name of a segment column (its own name when the table has none)."""
    key = f"segment_{segment}"
    return tr(key, lang) if key in TEXT else str(segment)


def value_label(segment: str, value, lang: str) -> str:
    """The translated label of a segment value (the value itself when there is none)."""
    prefix = VALUE_KEYS.get(str(segment))
    key = f"{prefix}{value}" if prefix else ""
    return tr(key, lang) if key in TEXT else str(value)


def _money(value, currency: str, lang: str, digits: int = 2) -> str:
    return fmt.money(value, currency, lang, digits=digits)


def _sizes(sizes: Sequence[Sequence[int]], lang: str) -> str:
    return tr("pages_list_sep", lang).join(
        tr("clv_of_n", lang, n=fmt.num(n, lang, 0), total=fmt.num(total, lang, 0))
        for n, total in sizes)


def _sample_check_text(f: dict, lang: str) -> str:
    """The measured second-sample check of a ``clv_method_sample_precision`` note (its
    ``spend_refitted`` says which models were refitted); a note stored before the spend
    model's second sample was drawn among the repeat customers (no ``spend_refitted``) states
    none."""
    if f.get("spread_pct") is None:
        return tr("clv_method_sample_no_check", lang)
    if "spend_refitted" not in f:
        return ""
    return tr("clv_method_sample_check" if f["spend_refitted"]
              else "clv_method_sample_check_purchase", lang,
              n=fmt.num(f["n"], lang, 0), n_spend=fmt.num(f["spend_n"], lang, 0),
              repeat=fmt.num(f["repeat_customers"], lang, 0),
              a=fmt.money(f["mean_first"], f["currency"], lang, digits=2),
              b=fmt.money(f["mean_second"], f["currency"], lang, digits=2),
              pct=fmt.num(f["spread_pct"], lang, 1))


def note_text(note: dict, lang: str) -> str:
    """One note or method note of the result (a key and its facts) as a sentence."""
    key = note["key"]
    f = {k: v for k, v in note.items() if k != "key"}
    if key.startswith("clv_method_fit_sample_"):
        f = {"models": tr("pages_list_sep", lang).join(f["models"]),
             "sizes": _sizes(f["sizes"], lang), "seed": f["seed"],
             "date": fmt.date(f["date"], lang)}
    elif key == "clv_method_sample_precision":
        f = {"n": fmt.num(f["n"], lang, 0), "population": fmt.num(f["population"], lang, 0),
             "factor": fmt.num(f["factor"], lang, 1), "date": fmt.date(f["date"], lang),
             "check": _sample_check_text(f, lang)}
    elif key == "clv_method_welch":
        f = {"n": fmt.num(f["n"], lang, 0)}
    elif key == "clv_method_churn_sample":
        f = {"n": fmt.num(f["n"], lang, 0), "population": fmt.num(f["population"], lang, 0),
             "date": fmt.date(f["date"], lang), "seed": f["seed"],
             "factor": fmt.num(precision_factor(f["population"], f["n"]), lang, 1)}
    elif key == "clv_note_data_short":
        f = {"data_end": fmt.date(f["data_end"], lang), "window_end": fmt.date(f["window_end"],
                                                                                lang)}
    elif key == "clv_note_no_history":
        f = {"n": fmt.num(f["n"], lang, 0), "date": fmt.date(f["date"], lang)}
    elif key == "clv_note_segment_one_value":
        f = {"segment": segment_label(f["segment"], lang),
             "value": value_label(f["segment"], f["value"], lang)}
    return tr(key, lang, **f)


def _headline(s: dict, lang: str) -> list[str]:
    cur, labels = s["currency"], s["arm_labels"]
    lines = []
    for h in s["headline"]:
        lines.append(tr("clv_headline", lang, arm=labels.get(h["arm"], h["arm"]),
                        estimate=_money(h["estimate"], cur, lang),
                        low=_money(h["ci_low"], cur, lang), high=_money(h["ci_high"], cur, lang),
                        total=_money(h["total"], cur, lang, 0), n=fmt.num(h["n_arm"], lang, 0),
                        finding=tr(f"clv_finding_{h['finding']}", lang)))
    for c in s["change"]:
        lines.append(tr("clv_headline_change", lang, arm=labels.get(c["arm"], c["arm"]),
                        estimate=_money(c["estimate"], cur, lang),
                        low=_money(c["ci_low"], cur, lang), high=_money(c["ci_high"], cur, lang)))
    return lines


def _model_reason(m: dict, lang: str) -> str:
    others = tr("pages_list_sep", lang).join(
        f"{o['label']} {fmt.num(o['by_frequency_mae'], lang, 3)}" for o in m["others"])
    return tr("clv_model_reason", lang, model=m["label"],
              mae=fmt.num(m["by_frequency_mae"], lang, 3), others=others,
              predicted=fmt.num(m["holdout_predicted"], lang, 0),
              actual=fmt.num(m["holdout_actual"], lang, 0),
              error=fmt.num(m["holdout_error_pct"], lang, 1, signed=True))


def _churn_reason(c: dict, lang: str) -> str:
    best = c["best"]
    others = tr("pages_list_sep", lang).join(
        f"{tr(f'churn_scorer_{k}', lang)} {fmt.num(v, lang, 3)}"
        for k, v in c["brier"].items() if k != best)
    if c["best_by_auc"] == best:
        auc = tr("churn_reason_auc_best", lang, auc=fmt.num(c["auc"][best], lang, 3))
    else:
        auc = tr("churn_reason_auc_other", lang, auc=fmt.num(c["auc"][best], lang, 3),
                 other=tr(f"churn_scorer_{c['best_by_auc']}", lang),
                 other_auc=fmt.num(c["auc"][c["best_by_auc"]], lang, 3))
    sample = (tr("churn_reason_sample", lang, population=fmt.num(c["population"], lang, 0))
              if c["sampled"] else "")
    return tr("churn_reason", lang, brier=fmt.num(c["brier"][best], lang, 3), others=others,
              auc=auc,
              days=c["days"], cutoff=fmt.date(c["cutoff"], lang),
              n=fmt.num(c["customers"], lang, 0), rate=fmt.pct(c["churn_rate"], lang, 0),
              sample=sample)


def _churn_warning(w: dict, lang: str) -> str:
    return tr(w["key"], lang, share=fmt.pct(w["share"], lang, 0),
              auc=fmt.num(w["auc"], lang, 3), days=w["days"])


def _params_text(params: dict, lang: str) -> str:
    return tr("pages_list_sep", lang).join(f"{k} = {fmt.num(v, lang, 4)}"
                                           for k, v in params.items())


def clv_context(result) -> dict:
    """What the templates need: the summary, table rows, sentences and charts."""
    s, t = result.summary(), result.tables()
    lang = s["language"]
    labels = s["arm_labels"]
    models = t["clv_models"]
    model_labels = dict(zip(models["model"].astype(str), models["label"].astype(str),
                            strict=True))
    param_cols = [c for c in models.columns if c.startswith("param_")]
    model_rows = []
    for r in models.to_dict("records"):
        params = {c.removeprefix("param_"): r[c] for c in param_cols if not pd.isna(r[c])}
        model_rows.append({**r, "params_text": _params_text(params, lang)})
    segments = [(name.removeprefix("clv_by_"), frame) for name, frame in t.items()
                if name.startswith("clv_by_") and name != "clv_by_arm"]
    churn = s["churn"]
    charts = {
        "effect": model_charts.clv_effect_chart(t["clv_incremental"], currency=s["currency"],
                                                lang=lang, arm_labels=labels),
        "conditional": model_charts.conditional_chart(
            t["clv_holdout_by_frequency"], best=s["model"]["chosen"], lang=lang,
            model_labels=model_labels),
        "histogram": model_charts.histogram_chart(t["clv_frequency_histogram"], lang=lang),
    }
    if not t["clv_tracking"].empty:
        charts["tracking"] = model_charts.tracking_chart(
            t["clv_tracking"], calibration_end=s["calibration_end"], lang=lang,
            model_labels=model_labels)
    if churn is not None:
        charts["reliability"] = model_charts.reliability_chart(
            t["churn_reliability"], churn_days=churn["days"], lang=lang)
    return {
        "lang": lang, "s": s, "labels": labels, "cur": s["currency"],
        "headline": _headline(s, lang),
        "method_notes": [note_text(n, lang) for n in s["method_notes"]],
        "notes": [note_text(n, lang) for n in s["notes"]],
        "incremental": t["clv_incremental"].to_dict("records"),
        "window": t["clv_window_effect"].to_dict("records"),
        "model_reason": _model_reason(s["model"], lang),
        "models": model_rows,
        "churn_reason": _churn_reason(churn, lang) if churn else "",
        "churn_warnings": [_churn_warning(w, lang) for w in churn["warnings"]] if churn else [],
        "churn_scores": t["churn_scores"].to_dict("records"),
        "by_arm": t["clv_by_arm"].to_dict("records"),
        "segments": [{"name": name, "label": segment_label(name, lang),
                      "rows": [{**r, "value": value_label(name, r[name], lang)}
                               for r in frame.to_dict("records")]}
                     for name, frame in segments],
        "fitted": [{"label": f["label"], "params": _params_text(f["params"], lang),
                    "ll": f["log_likelihood"], "n": f["n_customers"]}
                   for f in (s["fitted"]["purchase"], s["fitted"]["spend"])],
        "charts": charts,
    }


def clv_title(s: dict) -> str:
    lang = s["language"]
    return (f"{tr('page_clv_churn', lang)} · {s['display_name']} · "
            f"{tr('horizon', lang, h=s['horizon_days'])}")


def clv_body(result, *, evaluation=None) -> str:
    """The page's content without the frame (a notebook displays it); ``evaluation`` is
    accepted for the pages' common signature: this page shows none of its figures."""
    return render("clv_body.html.j2", **clv_context(result), standalone=True)


def clv_page(result, *, evaluation=None, nav: Sequence[tuple[str, str]] = ()) -> str:
    """The whole page (``base.html.j2`` frame with ``nav`` links and the font of its Chinese)."""
    ctx = clv_context(result)
    title = clv_title(ctx["s"])
    return render_framed("clv.html.j2", **ctx, standalone=False, title=title, nav=nav)
