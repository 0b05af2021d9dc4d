"""HTML fragments of the evaluation report, built from an :class:`~crm_experiments.analyses.campaign.Evaluation`.

This layer formats only: every number comes from the evaluation. All text from data or params
(campaign names, arm labels, segment values) is HTML-escaped.
"""

from __future__ import annotations

import html
import math

import pandas as pd

from crm_experiments.report.i18n import tr

CURRENCY_SIGNS = {"CNY": "¥", "RMB": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

STYLE = """
<style>
.crm-report { font-family: -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei',
  'Noto Sans CJK SC', sans-serif; max-width: 980px; }
.crm-verdict { font-size: 1.25em; padding: 0.8em 1em; border-radius: 6px; margin: 0.6em 0; }
.crm-profitable { background: #e6f4ea; border-left: 6px solid #1e8e3e; }
.crm-loses_money { background: #fce8e6; border-left: 6px solid #d93025; }
.crm-inconclusive { background: #fef7e0; border-left: 6px solid #f9ab00; }
.crm-withheld, .crm-banner { background: #fce8e6; border-left: 6px solid #d93025; }
.crm-banner { padding: 0.8em 1em; font-weight: bold; margin: 0.6em 0; }
.crm-table { border-collapse: collapse; margin: 0.5em 0 1em 0; }
.crm-table th, .crm-table td { border-bottom: 1px solid #ddd; padding: 4px 10px;
  text-align: right; }
.crm-table th:first-child, .crm-table td:first-child { text-align: left; }
.crm-muted { color: #666; font-size: 0.92em; }
</style>
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def money(value: float, currency: str = "CNY", digits: int = 0) -> str:
    """``¥12,345`` / ``-¥1,234``; NaN -> ``–``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    sign = "-" if value < 0 else ""
    return f"{sign}{CURRENCY_SIGNS.get(currency, currency + ' ')}{abs(value):,.{digits}f}"


def pct(value: float, digits: int = 1, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value * 100:{'+' if signed else ''}.{digits}f}%"


def num(value: float, digits: int = 2, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:{'+' if signed else ''},.{digits}f}"


def pvalue(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def table(frame: pd.DataFrame) -> str:
    """A plain HTML table; cells are escaped unless they are already formatted HTML strings
    produced by this module (caller passes strings)."""
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f'<table class="crm-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def arm_label(ev, arm: str) -> str:
    return ev.params.arm(arm).label or arm if arm in ev.params.arm_names else arm


def header(ev) -> str:
    lang, p = ev.params.language, ev.params
    start, end = ev.window[0].date(), (ev.window[1] - pd.Timedelta(days=1)).date()
    parts = [
        STYLE,
        '<div class="crm-report">',
        f"<h1>{esc(tr('report_title', lang))}: {esc(p.display_name)}</h1>",
        f"<p class='crm-muted'>{esc(tr('horizon', lang, h=ev.horizon_days))} · "
        f"{esc(tr('window', lang))}: {start} – {end} · {esc(tr('data_through', lang))}: "
        f"{ev.data_end:%Y-%m-%d} · {esc(tr('assigned', lang))}: {ev.n_assigned:,}</p>",
    ]
    if not ev.comparison.srm.passed:
        parts.append(f'<div class="crm-banner">'
                     f'{esc(tr("srm_banner", lang, p=pvalue(ev.comparison.srm.p_value)))}</div>')
    parts.append("</div>")
    return "\n".join(parts)


def verdict(ev) -> str:
    """The verdict box: one sentence, money first, uncertainty in words."""
    lang, v, cur = ev.params.language, ev.verdict, ev.params.costs.currency
    arm = esc(arm_label(ev, v.best_arm)) if v.best_arm else "–"
    rng = tr("likely_between", lang, lo=money(v.incremental_profit_low, cur),
             hi=money(v.incremental_profit_high, cur))
    text = tr(f"status_{v.status}", lang, arm=arm, profit=money(v.incremental_profit, cur),
              range=esc(rng), roi=pct(v.roi))
    return (f'<div class="crm-report"><h2>{esc(tr("summary", lang))}</h2>'
            f'<div class="crm-verdict crm-{esc(v.status)}"><b>{esc(tr("verdict", lang))}:</b> '
            f"{text}</div></div>")


def money_table(ev) -> str:
    lang, cur = ev.params.language, ev.params.costs.currency
    rows = []
    for arm, r in ev.economics.iterrows():
        rows.append({
            tr("arm", lang): arm_label(ev, arm),
            tr("customers", lang): f"{int(r['customers']):,}",
            tr("incremental_profit", lang): money(r["incremental_profit"], cur),
            tr("interval", lang): f"{money(r['incremental_profit_low'], cur)} … "
                                  f"{money(r['incremental_profit_high'], cur)}",
            tr("roi", lang): f"{pct(r['roi'], 0)} ({pct(r['roi_low'], 0)} … {pct(r['roi_high'], 0)})",
            tr("incremental_revenue", lang): money(r["incremental_revenue"], cur),
            tr("total_cost", lang): money(r["total_cost"], cur),
            tr("coupon_cost", lang): money(r["coupon_cost"], cur),
            tr("message_cost", lang): money(r["message_cost"], cur),
            tr("cost_per_incremental_order", lang): money(r["cost_per_incremental_order"], cur, 2),
        })
    return (f'<div class="crm-report"><h3>{esc(tr("money", lang))}</h3>'
            f"{table(pd.DataFrame(rows))}</div>")


def effects_table(ev) -> str:
    lang, cur = ev.params.language, ev.params.costs.currency
    frame = ev.comparison.to_frame()
    rows = []
    for r in frame.itertuples():
        is_rate, is_count = r.metric == "converted", r.metric == "orders"
        if is_rate:
            def fmt(x):
                return pct(x, 2, signed=True)
        elif is_count:
            def fmt(x):
                return num(x, 3, signed=True)
        else:
            def fmt(x):
                return (("+" if x > 0 else "") + money(x, cur, 2)) if math.isfinite(x) else "–"
        lo = getattr(r, "ci_low_adjusted", r.ci_low)
        hi = getattr(r, "ci_high_adjusted", r.ci_high)
        p_adj = getattr(r, "p_value_adjusted", r.p_value)
        rows.append({
            tr("arm", lang): arm_label(ev, r.arm),
            tr("metric", lang): tr(r.metric, lang),
            tr("holdout_mean", lang): pct(r.mean_control, 2) if is_rate
            else num(r.mean_control, 3) if is_count else money(r.mean_control, cur, 2),
            tr("effect", lang): fmt(r.estimate),
            tr("interval", lang): f"{fmt(lo)} … {fmt(hi)}",
            tr("relative", lang): f"{pct(r.rel_estimate, 1, True)} "
                                  f"({pct(r.rel_ci_low, 1, True)} … {pct(r.rel_ci_high, 1, True)})",
            tr("p_value", lang): pvalue(p_adj),
        })
        if ev.true_effects:
            true = ev.true_effects.get((r.arm, r.metric), float("nan"))
            rows[-1][tr("true_effect", lang)] = fmt(true)
    srm = ev.comparison.srm
    srm_line = "" if not srm.passed else \
        f"<p class='crm-muted'>{esc(tr('srm_ok', lang, p=pvalue(srm.p_value)))}</p>"
    return (f'<div class="crm-report"><h3>{esc(tr("effects", lang))}</h3>'
            f"{table(pd.DataFrame(rows))}{srm_line}</div>")


def kpi_table(ev) -> str:
    lang, cur = ev.params.language, ev.params.costs.currency
    money_rows = {"gmv", "net_revenue", "aov", "refund_amount"}
    rate_rows = {"paid_rate", "refund_rate", "shipped_same_day_rate", "not_shipped_rate",
                 "returning_revenue_share"}
    rows = []
    for kpi, r in ev.kpis.iterrows():
        def f(x, kpi=kpi):
            if kpi in money_rows:
                return money(x, cur)
            if kpi in rate_rows:
                return pct(x)
            return f"{int(x):,}" if math.isfinite(x) else "–"
        rows.append({tr("kpi", lang): tr("kpi_orders" if kpi == "orders" else kpi, lang),
                     **{tr(c, lang): f(r[c]) for c in ev.kpis.columns}})
    return (f'<div class="crm-report"><h3>{esc(tr("kpis", lang))}</h3>'
            f"{table(pd.DataFrame(rows))}</div>")


def before_after_table(ev) -> str:
    lang, cur = ev.params.language, ev.params.costs.currency
    rows = []
    s = ev.stickiness
    for group in [*ev.params.arm_names, "all"]:
        if (group, "after") not in s.index:
            continue
        a, b = s.loc[(group, "after")], s.loc[(group, "before")] if (group, "before") in s.index \
            else None
        def both(col, f, a=a, b=b):
            return f"{f(b[col]) if b is not None else '–'} → {f(a[col])}"
        rows.append({
            tr("arm", lang): arm_label(ev, group) if group != "all" else "all",
            tr("buyers", lang): both("buyers", lambda x: f"{int(x):,}"),
            tr("repeat_purchase_rate", lang): both("repeat_purchase_rate", pct),
            tr("arpu", lang): both("arpu", lambda x: money(x, cur)),
            tr("retention", lang) + f" ({ev.horizon_days}d)": both("retention", pct),
        })
    return (f'<div class="crm-report"><h3>{esc(tr("before_after", lang))}</h3>'
            f"<p class='crm-muted'>{esc(tr('before', lang))} → {esc(tr('after', lang))}. "
            f"{esc(tr('not_causal', lang))}</p>{table(pd.DataFrame(rows))}</div>")


def segment_table(ev, metric: str = "net_profit") -> str:
    lang, cur = ev.params.language, ev.params.costs.currency
    f = ev.segment_effects
    if f.empty:
        return ""
    f = f[f["metric"] == metric]
    rows = []
    for r in f.itertuples():
        lo = getattr(r, "ci_low_adjusted", r.ci_low)
        hi = getattr(r, "ci_high_adjusted", r.ci_high)
        rows.append({
            tr("segment", lang): f"{r.segment}: {tr(str(r.segment_value), lang)}",
            tr("arm", lang): arm_label(ev, r.arm),
            "n": f"{int(r.n_arm):,} / {int(r.n_control):,}",
            tr("effect", lang): money(r.estimate, cur, 2),
            tr("interval", lang): f"{money(lo, cur, 2)} … {money(hi, cur, 2)}",
            tr("p_value", lang): pvalue(getattr(r, "p_value_adjusted", r.p_value)),
        })
    return (f'<div class="crm-report"><h3>{esc(tr("segments", lang))}: {esc(tr(metric, lang))}'
            f"</h3>{table(pd.DataFrame(rows))}</div>")


METHODS = {
    "en": (
        "Each coupon arm is compared with the randomised holdout over the evaluation window. "
        "Differences in means use Welch's t interval; conversion uses the two-proportion Wald "
        "interval (unpooled variance). Money metrics are adjusted for each customer's "
        "pre-period value (CUPED / Lin's regression adjustment with HC2 robust errors), which "
        "narrows intervals without biasing them. Relative effects use the delta method. "
        "Intervals and p-values are corrected for several arms and metrics with Holm's method "
        "(intervals at Bonferroni level). The sample ratio check is a chi-square test of the arm "
        "sizes against the planned split (alarm below p = {srm_alpha}). Incremental profit = "
        "effect on net profit per customer x customers in the arm - fixed costs; ROI = "
        "incremental profit / campaign cost (coupons redeemed + messages + fixed share). "
        "Before/after figures are descriptive, not causal."),
    "zh": (
        "每个优惠券组都与随机对照组在评估窗口内比较。均值差使用 Welch t 区间；购买率使用两比例 Wald 区间"
        "（非合并方差）。金额类指标用每位客户活动前的数值做调整（CUPED / Lin 回归调整，HC2 稳健标准误），"
        "在不引入偏差的情况下缩小区间。相对效果使用 delta 方法。多个组和指标的区间与 p 值用 Holm 方法校正"
        "（区间按 Bonferroni 水平）。样本比例检验为各组人数相对计划比例的卡方检验（p < {srm_alpha} 报警）。"
        "增量利润 = 每客户净利润效果 × 组内客户数 − 固定成本；投资回报率 = 增量利润 / 活动成本"
        "（已核销优惠券 + 消息 + 固定成本分摊）。前后对比仅为描述，并非因果。"),
}


def methods(ev) -> str:
    lang = ev.params.language
    text = METHODS["zh" if lang == "zh" else "en"].format(srm_alpha=ev.params.srm_alpha)
    notes = "".join(f"<li>{esc(n)}</li>" for n in ev.notes)
    notes_html = (f"<h3>{esc(tr('data_notes', lang))}</h3><ul>{notes}</ul>" if notes else "")
    return (f'<div class="crm-report"><h3>{esc(tr("methods", lang))}</h3>'
            f"<p class='crm-muted'>{esc(text)}</p>{notes_html}</div>")


def lifecycle_heading(ev) -> str:
    lang = ev.params.language
    return (f'<div class="crm-report"><h3>{esc(tr("lifecycle", lang))}</h3>'
            f"<p class='crm-muted'>{esc(tr('migration', lang))}</p></div>")


def satisfaction_table(ev) -> str:
    """Rows: satisfaction metrics; columns: arms, each 'before → after' with the after interval."""
    lang, s = ev.params.language, ev.satisfaction
    if s.empty:
        return ""
    rate = {"refund_rate", "positive_rate", "negative_rate", "csat"}
    def fmt(metric, x):
        return pct(x) if metric in rate else num(x, 1 if metric == "nps" else 2)
    rows = []
    for metric in dict.fromkeys(s["metric"]):
        row = {tr("metric", lang): tr(metric, lang)}
        for arm in ev.params.arm_names:
            b = s[(s.metric == metric) & (s.group == arm) & (s.period == "before")]
            a = s[(s.metric == metric) & (s.group == arm) & (s.period == "after")]
            if a.empty:
                row[arm_label(ev, arm)] = "–"
                continue
            a = a.iloc[0]
            before = fmt(metric, b.iloc[0]["value"]) if not b.empty else "–"
            row[arm_label(ev, arm)] = (f"{before} → {fmt(metric, a['value'])} "
                                       f"({fmt(metric, a['ci_low'])} … {fmt(metric, a['ci_high'])})")
        rows.append(row)
    return (f'<div class="crm-report"><h3>{esc(tr("satisfaction", lang))}</h3>'
            f"{table(pd.DataFrame(rows))}<p class='crm-muted'>{esc(tr('not_causal', lang))}</p></div>")


def cohort_table(ev) -> str:
    lang, c = ev.params.language, ev.cohorts
    if c.empty:
        return ""
    names = {"sale": tr("cohort_sale", lang), "ordinary": tr("cohort_ordinary", lang)}
    rows = []
    for cohort in ("sale", "ordinary"):
        row = {tr("cohort", lang): names[cohort]}
        for r in c[c.cohort == cohort].itertuples():
            key = tr("repurchase_within", lang, n=int(r.horizon_days))
            row[key] = (f"{pct(r.rate)} ({pct(r.ci_low)} … {pct(r.ci_high)}), n = {int(r.eligible):,}"
                        if r.eligible else tr("not_complete", lang))
        rows.append(row)
    diff = {tr("cohort", lang): tr("cohort_diff", lang)}
    for r in c[~c.cohort.isin(["sale", "ordinary"])].itertuples():
        key = tr("repurchase_within", lang, n=int(r.horizon_days))
        diff[key] = ("–" if not math.isfinite(r.rate) else
                     f"{pct(r.rate, 1, True)} ({pct(r.ci_low, 1, True)} … {pct(r.ci_high, 1, True)})")
    rows.append(diff)
    return (f'<div class="crm-report"><h3>{esc(tr("cohorts", lang))}</h3>'
            f"{table(pd.DataFrame(rows))}</div>")


def reactivation_table(ev) -> str:
    lang, r = ev.params.language, ev.reactivation
    if r.empty:
        return ""
    rows = []
    for (group, state), x in r.iterrows():
        rows.append({
            tr("arm", lang): tr(group, lang),
            tr("metric", lang): tr("wake_up" if state == "sleeping" else "reactivation_rate", lang),
            tr("customers", lang): f"{int(x['customers']):,}",
            tr("buyers", lang): f"{int(x['bought']):,}",
            tr("effect", lang): f"{pct(x['rate'], 2)} ({pct(x['ci_low'], 2)} … {pct(x['ci_high'], 2)})",
        })
    return (f'<div class="crm-report"><h3>{esc(tr("reactivation", lang))}</h3>'
            f"{table(pd.DataFrame(rows))}</div>")


def retention_heading(ev) -> str:
    return f'<div class="crm-report"><h3>{esc(tr("retention_curve", ev.params.language))}</h3></div>'


def did_table(ev) -> str:
    lang, cur = ev.params.language, ev.params.costs.currency
    if ev.did.empty:
        return ""
    rows = [{tr("arm", lang): arm_label(ev, r.arm), tr("metric", lang): tr(r.metric, lang),
             tr("effect", lang): money(r.estimate, cur, 2),
             tr("interval", lang): f"{money(r.ci_low, cur, 2)} … {money(r.ci_high, cur, 2)}"}
            for r in ev.did.itertuples()]
    return (f'<div class="crm-report"><h3>{esc(tr("did", lang))}</h3>'
            f"{table(pd.DataFrame(rows))}<p class='crm-muted'>{esc(tr('did_note', lang))}</p></div>")


def heterogeneity_lines(ev) -> str:
    lang, h = ev.params.language, ev.heterogeneity
    if h.empty:
        return ""
    items = "".join(
        f"<li>{esc(arm_label(ev, r.arm))} · {esc(r.segment)}: "
        f"{esc(tr('differs' if r.p_value < ev.params.alpha else 'no_evidence', lang, p=pvalue(r.p_value)))}</li>"
        for r in h.itertuples())
    return (f'<div class="crm-report"><h3>{esc(tr("heterogeneity", lang))}</h3><ul>{items}</ul>'
            f"<p class='crm-muted'>Wald test of arm x segment interactions, OLS with HC2 errors, "
            f"adjusted for the pre-period value.</p></div>")


def next_round(ev) -> str:
    lang, d, cur = ev.params.language, ev.design, ev.params.costs.currency
    if d is None:
        return ""
    current = next(a.planned_share for a in ev.params.arms if a.name == ev.params.control_arm)
    if d.reachable:
        text = tr("design_text", lang, share=pct(d.holdout_share), n=f"{d.n_holdout:,}",
                  effect=money(d.effect, cur, 2), power=pct(d.power, 0),
                  vr=pct(d.variance_reduction, 0), current=pct(current, 0))
    else:
        text = tr("design_unreachable", lang, share=pct(d.holdout_share, 0),
                  effect=money(d.effect, cur, 2))
    return (f'<div class="crm-report"><h3>{esc(tr("next_round", lang))}</h3>'
            f"<p>{esc(text)}</p></div>")


GLOSSARY = {
    "en": (
        ("Holdout", "customers picked at random to get no coupon and no message; what they bought is what everyone would have bought anyway."),
        ("Incremental profit", "profit the campaign added: treated customers' net profit minus what the holdout says they would have made, after coupon, message and fixed costs."),
        ("ROI", "incremental profit divided by what the campaign cost; 100% means every yuan spent came back twice."),
        ("95% interval", "the range the true effect very likely lies in; when it includes zero, the data cannot tell a gain from no effect."),
        ("p-value", "how surprising the difference would be if the campaign did nothing; small (below 0.05) means unlikely to be chance."),
        ("CUPED", "a correction that uses each customer's purchases before the campaign to make intervals narrower without bias."),
        ("Sample ratio check", "checks that the arms have the sizes planned; a mismatch means the assignment or the export is broken."),
        ("Lifecycle states", "active (new/old, one/repeat purchase), silent, sleeping, lost: by time since the last purchase, in 3-month steps."),
        ("DSR", "the marketplace's 1-5 seller ratings: item as described, service, logistics."),
    ),
    "zh": (
        ("对照组", "随机选出、不发券也不发消息的客户；他们的购买代表没有活动时本来会发生的购买。"),
        ("增量利润", "活动带来的额外利润：实验组客户的净利润减去对照组推算的原本利润，已扣除优惠券、消息和固定成本。"),
        ("投资回报率", "增量利润除以活动成本；100% 表示每花一元带回两元。"),
        ("95% 区间", "真实效果大概率所在的范围；区间包含零时，数据无法区分收益与无效果。"),
        ("p 值", "若活动毫无作用，出现这么大差异的可能性；小于 0.05 表示不太可能是偶然。"),
        ("CUPED", "利用客户活动前的购买数据进行校正，在不引入偏差的情况下缩小区间。"),
        ("样本比例检验", "检查各组人数是否符合计划比例；不符说明分组或数据导出有问题。"),
        ("生命周期", "活跃（新/老客，一次/重复购买）、沉默、睡眠、流失：按距上次购买的时间，以 3 个月为一档。"),
        ("DSR", "平台 1-5 分的店铺评分：描述相符、服务态度、物流服务。"),
    ),
}


def glossary(ev) -> str:
    lang = "zh" if ev.params.language == "zh" else "en"
    items = "".join(f"<dt><b>{esc(term)}</b></dt><dd>{esc(text)}</dd>"
                    for term, text in GLOSSARY[lang])
    return (f'<div class="crm-report"><h3>{esc(tr("glossary", lang))}</h3>'
            f'<dl class="crm-muted">{items}</dl></div>')
