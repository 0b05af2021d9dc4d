"""One translation table for every label a report shows (English and Chinese).

>>> tr("verdict", "zh")
'结论'
>>> tr("no such key", "en")
'no such key'
"""

from __future__ import annotations

LANGUAGES = ("en", "zh")

TEXT: dict[str, tuple[str, str]] = {
    "report_title": ("Campaign evaluation", "活动效果评估"),
    "horizon": ("{h} days after the sale", "活动结束后 {h} 天"),
    "window": ("Evaluation window", "评估窗口"),
    "data_through": ("Data through", "数据截至"),
    "assigned": ("Customers in the test", "参与实验的客户"),
    "verdict": ("Verdict", "结论"),
    "summary": ("Executive summary", "摘要"),
    "money": ("Money per coupon arm", "各优惠券组的收益"),
    "arm": ("Arm", "实验组"),
    "customers": ("Customers", "客户数"),
    "incremental_profit": ("Incremental profit", "增量利润"),
    "incremental_revenue": ("Incremental revenue", "增量收入"),
    "incremental_orders": ("Incremental orders", "增量订单"),
    "total_cost": ("Campaign cost", "活动成本"),
    "coupon_cost": ("Coupon cost (redeemed)", "优惠券成本（已核销）"),
    "message_cost": ("Message cost", "短信/消息成本"),
    "fixed_cost": ("Fixed cost share", "固定成本分摊"),
    "roi": ("ROI", "投资回报率"),
    "cost_per_incremental_order": ("Cost per incremental order", "每增量订单成本"),
    "likely_between": ("likely between {lo} and {hi}", "大概率在 {lo} 到 {hi} 之间"),
    "status_profitable": (
        "{arm} paid off: it made {profit} extra profit after coupon and message costs "
        "({range}), an ROI of {roi}.",
        "{arm} 带来了正收益：扣除优惠券和短信成本后增量利润为 {profit}（{range}），投资回报率 {roi}。"),
    "status_loses_money": (
        "{arm} lost money: its extra sales did not pay for its costs; profit {profit} ({range}).",
        "{arm} 亏损：增量销售不足以覆盖成本，利润 {profit}（{range}）。"),
    "status_inconclusive": (
        "No clear result yet: the best arm, {arm}, made {profit} extra profit, but the range "
        "({range}) includes zero.",
        "尚无明确结论：表现最好的 {arm} 增量利润为 {profit}，但区间（{range}）包含零。"),
    "status_withheld": (
        "Verdict withheld: the arms' sizes do not match the planned split, so the comparison "
        "cannot be trusted until the assignment is checked.",
        "结论暂缓：各组人数与计划比例不符，在核查分组之前对比结果不可信。"),
    "srm_banner": (
        "Warning: sample ratio mismatch (p = {p}). The arms' sizes differ from the planned split "
        "more than chance allows; the assignment or the data export is likely broken.",
        "警告：样本比例不匹配（p = {p}）。各组人数与计划比例的差异超出随机范围，分组或数据导出可能有误。"),
    "srm_ok": ("Sample ratio check passed (chi-square p = {p}).",
               "样本比例检验通过（卡方检验 p = {p}）。"),
    "effects": ("Effect per customer against the holdout", "相对对照组的每客户效果"),
    "metric": ("Metric", "指标"),
    "effect": ("Effect", "效果"),
    "interval": ("95% interval", "95% 区间"),
    "relative": ("Relative", "相对变化"),
    "p_value": ("p-value", "p 值"),
    "holdout_mean": ("Holdout mean", "对照组均值"),
    "converted": ("Buyers (share of customers)", "购买率"),
    "orders": ("Orders per customer", "每客户订单数"),
    "revenue": ("Revenue per customer", "每客户收入"),
    "gross_profit": ("Gross profit per customer", "每客户毛利"),
    "net_profit": ("Net profit per customer", "每客户净利润"),
    "kpis": ("Sale KPIs (all customers, not causal)", "活动核心指标（全店，非因果）"),
    "kpi": ("KPI", "指标"),
    "sale": ("Sale window", "活动窗口"),
    "weeks_before": ("Weeks before", "活动前同长度"),
    "last_year": ("Same period last year", "去年同期"),
    "before_after": ("Before vs after (not causal)", "活动前后对比（非因果）"),
    "before": ("Last year", "去年同期"),
    "after": ("This year", "今年"),
    "repeat_purchase_rate": ("Repeat purchase rate", "重复购买率"),
    "arpu": ("ARPU per buyer", "活跃客户ARPU"),
    "retention": ("Retention after the sale", "活动后客户保持率"),
    "buyers": ("Buyers", "购买客户数"),
    "lifecycle": ("Lifecycle states", "客户生命周期"),
    "migration": ("Lifecycle migration, sale start to window end", "生命周期迁移（活动开始至窗口结束）"),
    "segments": ("Effect by segment", "分群效果"),
    "segment": ("Segment", "分群"),
    "methods": ("Methods", "方法说明"),
    "data_notes": ("Data notes", "数据说明"),
    "glossary": ("Glossary", "术语表"),
    "not_causal": ("Before/after comparisons are not causal: they also move with season, "
                   "traffic and everything else that changed. The holdout comparison above is.",
                   "前后对比并非因果效应：季节、流量等因素都会影响它。上方与对照组的对比才是因果效应。"),
    "gmv": ("GMV", "成交额"),
    "paid_orders": ("Paid orders", "付款订单"),
    "paid_rate": ("Paid rate", "付款率"),
    "net_revenue": ("Net revenue", "净收入"),
    "aov": ("Average order value", "客单价"),
    "refund_rate": ("Refund rate", "退款率"),
    "refund_amount": ("Refund amount", "退款金额"),
    "shipped_same_day_rate": ("Shipped the same day", "当日发货率"),
    "not_shipped_rate": ("Not shipped", "未发货率"),
    "new_buyers": ("New buyers", "新客"),
    "returning_buyers": ("Returning buyers", "老客"),
    "returning_revenue_share": ("Revenue share of returning buyers", "复购金额占比"),
    "no_purchase_yet": ("no purchase yet", "尚未购买"),
    "satisfaction": ("Satisfaction before vs after (pre-period → evaluation window)", "满意度：活动前 → 评估窗口"),
    "positive_rate": ("Positive reviews", "好评率"),
    "negative_rate": ("Negative reviews", "差评率"),
    "dsr_item": ("DSR item as described", "DSR 描述相符"),
    "dsr_service": ("DSR service", "DSR 服务态度"),
    "dsr_logistics": ("DSR logistics", "DSR 物流服务"),
    "csat": ("CSAT (share 4-5 of 5)", "满意度 CSAT（4-5 分占比）"),
    "csat_mean": ("CSAT mean score", "CSAT 平均分"),
    "nps": ("NPS (points)", "净推荐值 NPS"),
    "retention_curve": ("Sale buyers who came back, by days after the sale", "活动买家回购曲线（活动后天数）"),
    "cohorts": ("Buyers acquired in the sale vs in ordinary weeks: repurchase", "活动新客与平日新客的复购"),
    "cohort": ("Cohort", "客群"),
    "cohort_sale": ("Acquired in the sale", "活动期新客"),
    "cohort_ordinary": ("Acquired in ordinary weeks", "平日新客"),
    "cohort_diff": ("Difference", "差异"),
    "repurchase_within": ("Repurchase within {n} days", "{n} 天内复购"),
    "not_complete": ("follow-up not complete yet", "观察期未满"),
    "reactivation": ("Wake-up and reactivation of dormant customers", "沉睡与流失客户的唤醒"),
    "wake_up": ("Wake-up rate (sleeping)", "客户唤醒率（睡眠）"),
    "reactivation_rate": ("Reactivation rate (lost)", "客户激活率（流失）"),
    "contacted": ("Contacted (coupon arms)", "已触达（优惠券组）"),
    "holdout": ("Holdout (not contacted)", "对照组（未触达）"),
    "kpi_orders": ("Orders", "订单数"),
    "did": ("Cross-check: difference in differences (change from the pre-period)", "交叉验证：双重差分（相对活动前的变化）"),
    "did_note": ("Should agree with the holdout comparison above; a large gap points to a data problem.", "应与上方对照组比较一致；差异过大提示数据问题。"),
    "heterogeneity": ("Does the effect differ between segments?", "效果在分群间是否不同？"),
    "differs": ("yes (p = {p})", "是（p = {p}）"),
    "no_evidence": ("no evidence (p = {p})", "无证据（p = {p}）"),
    "next_round": ("Next round", "下一轮建议"),
    "design_text": ("A holdout of {share} ({n} customers) is enough to detect {effect} net profit per customer (this round's best effect) with {power} power, using the variance reduction this round achieved ({vr}). This round held out {current}.", "保留 {share} 的对照组（{n} 位客户）即可以 {power} 的检验力发现每客户 {effect} 的净利润效果（本轮最佳效果），已计入本轮实现的方差缩减（{vr}）。本轮对照组占比为 {current}。"),
    "design_unreachable": ("Even a holdout of {share} cannot detect {effect} per customer with 80% power at this size; plan more customers or a larger effect.", "在当前规模下，即使对照组占 {share} 也无法以 80% 检验力发现每客户 {effect} 的效果；需要更多客户或更大的效果。"),
    "true_effect": ("True effect (demo data only)", "真实效果（仅演示数据）"),
    "status_label_profitable": ("Profitable", "盈利"),
    "status_label_loses_money": ("Loses money", "亏损"),
    "status_label_inconclusive": ("Inconclusive", "尚无定论"),
    "status_label_withheld": ("Withheld (sample ratio mismatch)", "暂缓（样本比例异常）"),
}


def tr(key: str, lang: str = "en", **fmt: object) -> str:
    """The text of ``key`` in ``lang`` (``en`` or ``zh``), formatted with ``fmt``; an unknown
    key is returned as is."""
    pair = TEXT.get(key)
    text = key if pair is None else pair[1 if lang == "zh" else 0]
    return text.format(**fmt) if fmt else text
