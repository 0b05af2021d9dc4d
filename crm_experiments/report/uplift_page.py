"""The coupon-uplift page of a campaign, rendered from an
:class:`~crm_experiments.analyses.uplift.UpliftAnalysis` or its stored copy (``summary()`` and
``tables()`` only, so both give the same page).

What each coupon earned is the evaluation's money: the ``economics`` table of the
:class:`~crm_experiments.analyses.campaign.Evaluation` (or its stored copy) passed as
``evaluation``, the figures of the report. The analysis holds the same table, computed by the
same function from the same customers, and a notebook without the evaluation at hand shows
that one.
"""

from __future__ import annotations

from collections.abc import Sequence

from crm_experiments.models.sample import precision_factor
from crm_experiments.report import format as fmt
from crm_experiments.report import model_charts
from crm_experiments.report.clv_page import segment_label, value_label
from crm_experiments.report.env import render, render_framed
from crm_experiments.report.i18n import TEXT, tr, type_key


def feature_label(name: str, lang: str) -> str:
    """The translated name of a model feature (its column name when the table has none)."""
    key = f"feature_{name}"
    return tr(key, lang) if key in TEXT else str(name)


def _part(used: int, split: int, what: str, lang: str) -> str:
    what = tr(f"uplift_{what}", lang)
    if used >= split:
        return tr("uplift_part_all", lang, n=fmt.num(used, lang, 0), what=what)
    return tr("uplift_part_sample", lang, n=fmt.num(used, lang, 0),
              total=fmt.num(split, lang, 0), what=what)


def samples_text(s: dict) -> str:
    """Which customers trained and which evaluated the model (samples when capped)."""
    lang = s["language"]
    text = tr("uplift_samples", lang,
              train=_part(s["n_train"], s["n_train_split"], "training", lang),
              test=_part(s["n_test"], s["n_test_split"], "held_out", lang))
    if s["n_test"] < s["n_test_split"]:
        factor = precision_factor(s["n_test_split"], s["n_test"])
        text += " " + tr("uplift_sample_precision", lang, n=fmt.num(s["n_test"], lang, 0),
                         total=fmt.num(s["n_test_split"], lang, 0),
                         factor=fmt.num(factor, lang, 1))
    return text


def _type(s: dict) -> str:
    """The campaign's type (a result stored before types were recorded: coupon)."""
    return s.get("campaign_type") or "coupon"


def _recommendation(s: dict, labels: dict, lang: str) -> str:
    r = s["recommendation"]
    if r["kind"] == "everyone":
        return tr(type_key("uplift_recommend_everyone", _type(s)), lang,
                  arm=labels.get(r["arm"], r["arm"]))
    return tr(type_key(f"uplift_recommend_{r['kind']}", _type(s)), lang)


def _policy_label(row: dict, labels: dict, lang: str, ctype: str = "coupon") -> str:
    arm = row.get("policy_arm")
    key = type_key(f"uplift_policy_{row['policy_kind']}", ctype)
    if arm is None or (isinstance(arm, float) and arm != arm):
        return tr(key, lang)
    return tr(key, lang, arm=labels.get(arm, arm))


def uplift_context(result, evaluation=None) -> dict:
    """What the templates need: the summary, table rows, sentences and charts; the money
    from ``evaluation`` when given, else from the analysis' own (equal) economics."""
    s, t = result.summary(), result.tables()
    lang, labels = s["language"], s["arm_labels"]
    if evaluation is not None:
        money, cur = evaluation.tables()["economics"], evaluation.summary()["currency"]
    else:
        money, cur = t["economics"], s["currency"]
    seg = t["segment_effects"]
    arms = list(s["arms"])
    ctype = _type(s)
    return {
        "lang": lang, "s": s, "labels": labels, "cur": cur,
        "k": lambda key: type_key(key, ctype),
        "intro": tr("uplift_intro", lang, name=s["display_name"],
                    n=fmt.num(s["n_customers"], lang, 0), h=s["horizon_days"],
                    outcome=tr(f"uplift_outcome_{s['outcome']}", lang),
                    features=tr("pages_list_sep", lang).join(
                        feature_label(f, lang) for f in s["features"])),
        "samples": samples_text(s),
        "notes": [tr(n["key"], lang, feature=feature_label(n["feature"], lang))
                  for n in s.get("notes", [])],
        "money": money.to_dict("records"),
        "policy_intro": tr(type_key("uplift_policy_intro", ctype), lang,
                           n=fmt.num(s["n_test"], lang, 0),
                           arm=labels.get(s["best_single_arm"], s["best_single_arm"])),
        "policies": [{**r, "name": _policy_label(r, labels, lang, ctype)}
                     for r in t["policy_values"].to_dict("records")],
        "recommendation": _recommendation(s, labels, lang),
        "segments": [{**r, "segment_label": segment_label(r["segment"], lang),
                      "value_label": value_label(r["segment"], r["segment_value"], lang)}
                     for r in seg.to_dict("records")],
        "ranking": t["ranking"].to_dict("records"),
        "charts": {
            "qini": model_charts.qini_chart(t["curves"], arms=arms, outcome=s["outcome"],
                                            lang=lang, arm_labels=labels),
            "deciles": model_charts.decile_chart(t["deciles"], arms=arms, lang=lang,
                                                 arm_labels=labels),
        },
    }


def uplift_title(s: dict) -> str:
    lang = s["language"]
    return (f"{tr(type_key('page_coupon_uplift', _type(s)), lang)} · {s['display_name']} · "
            f"{tr('horizon', lang, h=s['horizon_days'])}")


def uplift_body(result, *, evaluation=None) -> str:
    """The page's content without the frame (a notebook displays it)."""
    return render("uplift_body.html.j2", **uplift_context(result, evaluation), standalone=True)


def uplift_page(result, *, evaluation, nav: Sequence[tuple[str, str]] = ()) -> str:
    """The whole page (``base.html.j2`` frame with ``nav`` links and the font of its Chinese);
    the money from ``evaluation`` (an Evaluation or its stored copy)."""
    ctx = uplift_context(result, evaluation)
    title = uplift_title(ctx["s"])
    return render_framed("uplift.html.j2", **ctx, standalone=False, title=title, nav=nav)
