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
        "{arm} paid off: it made {profit} extra profit after {costs} ({range}){roi}.",
        "{arm} 带来了正收益：扣除{costs}后增量利润为 {profit}（{range}）{roi}。"),
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
    "repurchased": ("Repurchasers (2+ orders, share of customers)", "复购率（2 单及以上）"),
    "retained": ("Retention of earlier buyers (share)", "老客留存率"),
    "secondary_effects": ("Other metrics (not part of the decision)", "其他指标（不参与决策）"),
    "secondary_effects_intro": (
        "Adjusted like the metrics above; their own family of {m} comparisons (Holm), so they "
        "do not change the decision. Retention: share of the customers who bought in the "
        "pre-period that bought again in the window; the order value is a ratio of sums "
        "(delta method).",
        "调整方式与上表相同；单独构成 {m} 个比较的族（Holm 校正），不影响决策。留存率：活动前期购买过的客户中"
        "在窗口内再次购买的比例；客单价为总和之比（delta 方法）。"),
    "note_no_aov": (
        "The average order value is left out of the other metrics: an arm has no order in the "
        "window.",
        "其他指标中省略客单价：某组在窗口内没有订单。"),
    "note_no_retention": (
        "Retention is left out of the other metrics: an arm has fewer than two customers who "
        "bought in the pre-period.",
        "其他指标中省略留存率：某组活动前期购买过的客户少于两位。"),
    "metric": ("Metric", "指标"),
    "effect": ("Effect", "效果"),
    "interval": ("95% interval", "95% 区间"),
    "interval_at": ("{level} interval", "{level} 区间"),
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
    # --- evaluation page (pages.evaluation_page) ------------------------------------------
    "page_clv_churn": ("CLV and churn", "客户价值与流失"),
    "page_coupon_uplift": ("Coupon uplift and targeting", "优惠券增量与精准投放"),
    "page_portal": ("All reports", "全部报告"),
    "decisions": ("Decision per coupon arm", "各优惠券组的决定"),
    "decision_roll_out": (
        "{arm}: roll out. It made {profit} extra profit after {costs} ({range}){roi}.",
        "{arm}：推广。扣除{costs}后，增量利润为 {profit}（{range}）{roi}。"),
    "decision_stop": (
        "{arm}: stop. Its extra sales did not pay for its costs: profit {profit} ({range}){roi}.",
        "{arm}：停止。增量销售不足以覆盖成本：利润 {profit}（{range}）{roi}。"),
    "decision_test_again": (
        "{arm}: test again. It made {profit} extra profit, but the range ({range}) includes "
        "zero{roi}.",
        "{arm}：再测一轮。增量利润为 {profit}，但区间（{range}）包含零{roi}。"),
    "decision_withheld": (
        "{arm}: no decision until the assignment is checked (sample ratio mismatch); profit "
        "{profit} ({range}).",
        "{arm}：在核查分组之前不做决定（样本比例异常）；利润 {profit}（{range}）。"),
    "decision_rule": (
        "The rule: roll out an arm when the whole {level} interval of its incremental profit "
        "({correction}) lies above zero, stop it when the interval lies below zero, otherwise "
        "test again; no decision while the sample-ratio check fails (p < {srm}).",
        "规则：某组增量利润的 {level} 区间（{correction}）整体高于零则推广，整体低于零则停止，"
        "否则再测一轮；样本比例检验未通过（p < {srm}）时不做决定。"),
    "decision_label_roll_out": ("Roll out", "推广"),
    "decision_label_stop": ("Stop", "停止"),
    "decision_label_test_again": ("Test again", "再测一轮"),
    "decision_label_withheld": ("Withheld", "暂缓"),
    "bayes_line": (
        "Probability it beats the holdout on profit: {prob}; expected loss if rolled out: "
        "{loss}.",
        "利润超过对照组的概率：{prob}；若推广，预期损失：{loss}。"),
    "bayes_why_adjusted": (
        "Why this differs from the decision: the probability speaks of this arm alone, while "
        "the decision needs the whole {level} interval ({correction}, covering every arm and "
        "metric compared) to lie on one side of zero, which asks for stronger evidence.",
        "为何与决定不同：该概率只针对本组，而决定要求整个 {level} 区间（{correction}，"
        "涵盖所有比较的组和指标）都落在零的同一侧，对证据的要求更高。"),
    "bayes_why_prior": (
        "Why this differs from the decision: the probability starts from a weak prior of no "
        "effect, which pulls a small arm's estimate towards zero; the decision's interval has "
        "no prior.",
        "为何与决定不同：该概率从“无效果”的弱先验出发，会把小样本组的估计拉向零；"
        "决定所用的区间不含先验。"),
    "bayes_model": (
        "Probability and expected loss: a normal model of each arm's effect on net profit per "
        "customer (its unadjusted estimate and standard error) with a weak prior centred on no "
        "effect (standard deviation: one standard deviation of the holdout's net profit per "
        "customer); the expected loss is the average shortfall below zero profit over the "
        "posterior.",
        "概率与预期损失：对各组每客户净利润效应建立正态模型（未校正的估计值与标准误），"
        "先验为以“无效果”为中心的弱先验（标准差取对照组每客户净利润的一个标准差）；"
        "预期损失为后验分布下利润低于零部分的平均值。"),
    "n_arm_holdout": ("Customers (arm / holdout)", "客户数（实验组 / 对照组）"),
    "all_assigned": ("All assigned customers", "全部实验客户"),
    "retention_days": ("Retention after the sale ({h} days)", "活动后 {h} 天客户保持率"),
    "rate": ("Rate (95% interval)", "比率（95% 区间）"),
    "segment_lifecycle_state": ("Lifecycle state", "生命周期状态"),
    "segment_tier": ("Member tier", "会员等级"),
    "segment_province": ("Province", "省份"),
    "segment_gender": ("Gender", "性别"),
    "state_new_one": ("New, one purchase", "1次购买新客"),
    "state_new_repeat": ("New, repeat", "重复购买新客"),
    "state_old_one": ("Old, one purchase", "1次购买老客"),
    "state_old_repeat": ("Old, repeat", "重复购买老客"),
    "state_silent": ("Silent", "沉默"),
    "state_sleeping": ("Sleeping", "睡眠"),
    "state_lost": ("Lost", "流失"),
    "state_no_purchase_yet": ("No purchase yet", "尚未购买"),
    "tier_regular": ("Regular", "普通会员"),
    "tier_senior": ("Senior", "高级会员"),
    "tier_vip": ("VIP", "VIP会员"),
    "tier_supreme_vip": ("Supreme VIP", "至尊VIP会员"),
    "moment_before": ("Sale start", "活动开始"),
    "moment_after": ("Window end", "窗口结束"),
    "chart_profit": ("Incremental profit per arm", "各组增量利润"),
    "chart_profit_x": ("Incremental profit ({currency}), 95% interval",
                       "增量利润（{currency}），95% 区间"),
    "chart_effects": ("Effect per arm and metric", "各组各指标的效果"),
    "chart_effects_x": ("Effect against the holdout (%), {level} interval as in the table",
                        "相对对照组的效果（%），与表中相同的 {level} 区间"),
    "chart_lifecycle": ("Lifecycle states per arm", "各组的生命周期分布"),
    "chart_lifecycle_x": ("Share of customers", "客户占比"),
    "chart_retention_x": ("Days after the sale", "活动后天数"),
    "chart_retention_y": ("Bought again (%)", "再次购买（%）"),
    "chart_migration": ("Lifecycle migration: {arm}", "生命周期迁移：{arm}"),
    "chart_migration_x": ("State at the window end", "窗口结束时的状态"),
    "chart_migration_y": ("State at the sale start", "活动开始时的状态"),
    "heterogeneity_note": (
        "Wald test of arm × segment interactions (OLS with HC2 errors, adjusted for the "
        "pre-period value).",
        "实验组 × 分群交互项的 Wald 检验（OLS，HC2 稳健标准误，已按活动前数值调整）。"),
    "methods_intro": (
        "Each coupon arm is compared with the randomised holdout ({control}) over the "
        "evaluation window, {start} to {end}; {n} customers were assigned.",
        "每个优惠券组都与随机对照组（{control}）在评估窗口（{start} 至 {end}）内比较；共 {n} 位客户参与分组。"),
    "methods_metrics": ("Test per metric:", "各指标的检验方法："),
    "methods_metric": ("{metric}: {method}", "{metric}：{method}"),
    "methods_covariate": ("covariate: {covariate}; variance reduced by {low} to {high}",
                          "协变量：{covariate}；方差降低 {low} 至 {high}"),
    "methods_covariate_one": ("covariate: {covariate}; variance reduced by {vr}",
                              "协变量：{covariate}；方差降低 {vr}"),
    "method_lin_ols_hc2": (
        "regression adjustment on the customer's values before the sale (Lin's estimator: "
        "OLS with treatment interactions, HC2 robust errors)",
        "按客户活动前的数值做回归调整（Lin 估计量：含处理交互项的 OLS，HC2 稳健标准误）"),
    "method_lin_ridge": (
        "regression adjustment fitted by ridge regression per arm, as covariates are many for "
        "the arm's size (penalty by generalised cross-validation; variance from the residuals)",
        "协变量相对于组规模较多，按组用岭回归做回归调整（惩罚项由广义交叉验证选择；方差由残差计算）"),
    "method_post_stratified": (
        "post-stratification: differences within strata weighted by the strata's shares "
        "(the arm is too small for a regression; t interval, Satterthwaite degrees of freedom)",
        "事后分层：按层内差异加权（权重为各层占比；该组太小无法回归；t 区间，Satterthwaite 自由度）"),
    "methods_covariates": (
        "adjusted on {groups} ({n} columns); variance reduced by {low} to {high}",
        "调整变量：{groups}（共 {n} 列）；方差降低 {low} 至 {high}"),
    "methods_covariates_one": (
        "adjusted on {groups} ({n} columns); variance reduced by {vr}",
        "调整变量：{groups}（共 {n} 列）；方差降低 {vr}"),
    "methods_covariates_missing": (
        "Declared for the adjustment but not in this shop's data (or the same for every "
        "customer), so not used: {groups}.",
        "已声明用于调整、但本店数据中没有（或所有客户取值相同），因此未使用：{groups}。"),
    "methods_strata": ("Strata for post-stratification: {column}.", "事后分层所用的层：{column}。"),
    "adjustment_table_intro": (
        "What the adjustment bought: the variance reduction against the unadjusted comparison, "
        "the customers an unadjusted test would have needed on top for the same precision, and "
        "the half-width of the interval shown in the effects table beside the unadjusted one "
        "at the same level (narrower by the square root of 1 minus the reduction).",
        "调整带来的收益：相对未调整比较的方差降低、未调整检验要达到同样精度还需增加的客户数，"
        "以及效果表中区间的半宽与同一置信水平下未调整区间半宽的对比（缩窄比例为 1 减方差降低后的平方根）。"),
    "adjustment_method": ("Method", "方法"),
    "variance_reduction": ("Variance reduction", "方差降低"),
    "extra_customers": ("As if more customers", "相当于增加客户"),
    "half_width": ("Interval ±", "区间 ±"),
    "half_width_unadjusted": ("Unadjusted ±", "未调整 ±"),
    "adjmethod_lin_ols_hc2": ("Lin, OLS", "Lin，OLS"),
    "adjmethod_lin_ridge": ("Lin, ridge", "Lin，岭回归"),
    "adjmethod_post_stratified": ("post-stratified", "事后分层"),
    "adjmethod_none": ("unadjusted", "未调整"),
    "covgroup_pre_period": ("pre-period purchases", "活动前购买"),
    "covgroup_history": ("purchase history", "历史购买记录"),
    "covgroup_lifecycle_state": ("lifecycle state", "生命周期状态"),
    "covgroup_tier": ("member tier", "会员等级"),
    "covgroup_gender": ("gender", "性别"),
    "method_cuped": ("CUPED adjustment for the customer's pre-period value",
                     "按客户活动前的数值做 CUPED 调整"),
    "method_welch_t": ("Welch's t interval for a difference in means", "均值差的 Welch t 区间"),
    "method_two_proportion_z_unpooled": ("two-proportion Wald interval (unpooled variance)",
                                         "两比例 Wald 区间（非合并方差）"),
    "method_delta_ratio": ("ratio of sums, delta method", "总和之比，delta 方法"),
    "covariate_pre_converted": ("bought in the pre-period", "活动前是否购买"),
    "covariate_pre_orders": ("orders in the pre-period", "活动前订单数"),
    "covariate_pre_revenue": ("revenue in the pre-period", "活动前收入"),
    "covariate_pre_gross_profit": ("gross profit in the pre-period", "活动前毛利"),
    "methods_relative": (
        "Relative effects get Fieller's interval, from the same variances and critical value as "
        "the absolute interval, so it excludes 0 exactly when the absolute test is significant; "
        "it is left blank when the control mean is not clearly different from 0.",
        "相对效果使用 Fieller 区间，方差和临界值与绝对区间相同，因此仅当绝对检验显著时才不包含 0；"
        "当对照组均值与 0 无明显差异时不给出该区间。"),
    "methods_correction_holm": (
        "Intervals and p-values are corrected for multiple comparisons with Holm's method over "
        "one family of {m} comparisons ({arms} arms × {metrics} metrics); intervals at the "
        "Bonferroni level ({level}).",
        "多重比较校正：在 {m} 个比较（{arms} 个组 × {metrics} 个指标）组成的一个族内用 Holm 方法校正 p 值，区间按 Bonferroni 水平（{level}）。"),
    "methods_correction_none": ("No multiple-comparison correction was applied.",
                                "未做多重比较校正。"),
    "methods_segments": (
        "Effects by segment: Holm's method within each segment column's own family ({families}).",
        "分群效果：在每个分群字段各自的族内用 Holm 方法校正（{families}）。"),
    "methods_family": ("{segment}: {m} comparisons", "{segment}：{m} 个比较"),
    "methods_segment_tests": ("Tests within a segment: {methods}.", "分群内的检验：{methods}。"),
    "list_separator": (", ", "、"),
    "methods_heterogeneity": (
        "Whether an effect differs between segments: Wald test of arm × segment interactions "
        "(OLS with HC2 errors, adjusted for the pre-period value).",
        "效果在分群间是否不同：实验组 × 分群交互项的 Wald 检验（OLS，HC2 稳健标准误，已按活动前数值调整）。"),
    "methods_did": (
        "Cross-check: difference in differences of each customer's change from the pre-period "
        "(OLS with HC2 errors), outside the corrected family.",
        "交叉验证：每位客户相对活动前变化的双重差分（OLS，HC2 稳健标准误），不在校正的族内。"),
    "methods_srm": (
        "Sample ratio check: chi-square test of the arm sizes against the planned split "
        "(alarm below p = {alpha}).",
        "样本比例检验：各组人数相对计划比例的卡方检验（p < {alpha} 时报警）。"),
    "methods_money": (
        "Incremental profit = effect on net profit per customer × customers in the arm − the "
        "arm's share of the fixed costs; ROI = incremental profit / campaign cost (coupons "
        "redeemed + messages + fixed share). Their intervals scale the effect's corrected "
        "interval.",
        "增量利润 = 每客户净利润效果 × 组内客户数 − 该组分摊的固定成本；投资回报率 = 增量利润 / 活动成本（已核销优惠券 + 消息 + 固定成本分摊）。其区间由效果的校正后区间换算而来。"),
    "methods_design": (
        "Next round: power of a difference in means (normal approximation) with the variance "
        "reduction this round achieved.",
        "下一轮建议：均值差的检验力（正态近似），计入本轮实现的方差缩减。"),
    # pre-registered capping of money outcomes (issue 18.2; analyses.campaign.apply_capping)
    "methods_capping": (
        "Capping, declared in the params before the analysis: revenue and gross profit per "
        "customer above their percentile {p} over all {n} assigned customers (every arm "
        "together) were set to it: {caps}. Net profit follows the capped gross profit (costs "
        "are not capped).",
        "截尾处理（分析前已在参数中声明）：每客户收入和毛利高于其在全部 {n} 位实验客户（各组合并）中第 {p} "
        "百分位数的部分被截至该值：{caps}。净利润随截尾后的毛利计算（成本不截尾）。"),
    "methods_cap_column": ("{metric} at {cap} ({n} customers capped)",
                           "{metric}截至 {cap}（{n} 位客户被截尾）"),
    "methods_capping_skipped": (
        "Not capped: {metrics}, whose percentile {p} is 0 (fewer than {share} of customers have "
        "a positive value; capping would erase it).",
        "未截尾：{metrics}，其第 {p} 百分位数为 0（有正值的客户少于 {share}，截尾会抹去该指标）。"),
    "methods_capping_money": (
        "The effects on money, and the incremental revenue, profit, ROI and verdict computed from "
        "them, are those of the capped values: an effect carried by the biggest spenders is "
        "understated (biased towards 0, a conservative figure) in exchange for narrower "
        "intervals. Effects by segment and the cross-checks use the uncapped values.",
        "金额类效果以及由此计算的增量收入、利润、投资回报率和结论均基于截尾后的数值：由最大额消费者带来的效果会被低估"
        "（偏向 0，属保守估计），换来更窄的区间。分群效果和交叉验证使用未截尾的数值。"),
    "methods_descriptive": (
        "KPIs, before/after figures, satisfaction, cohorts and reactivation rates are "
        "descriptive, not causal.",
        "核心指标、前后对比、满意度、客群复购和唤醒率均为描述性结果，并非因果效应。"),
    "note_no_satisfaction": ("No reviews or surveys table: satisfaction shows the refund rate "
                             "only.", "没有评价或问卷表：满意度仅显示退款率。"),
    "note_no_contacts": ("No contacts table: wake-up and reactivation rates need it.",
                         "没有触达表：唤醒率和激活率需要它。"),
    "gloss_holdout": ("Holdout", "对照组"),
    "gloss_holdout_text": (
        "customers picked at random to get no coupon and no message; what they bought is what "
        "everyone would have bought anyway.",
        "随机选出、不发券也不发消息的客户；他们的购买代表没有活动时本来会发生的购买。"),
    "gloss_incremental_profit": ("Incremental profit", "增量利润"),
    "gloss_incremental_profit_text": (
        "profit the campaign added: treated customers' net profit minus what the holdout says "
        "they would have made, after coupon, message and fixed costs.",
        "活动带来的额外利润：实验组客户的净利润减去对照组推算的原本利润，已扣除优惠券、消息和固定成本。"),
    "gloss_roi": ("ROI", "投资回报率"),
    "gloss_roi_text": (
        "incremental profit divided by what the campaign cost; 100% means the extra profit, "
        "after costs, equals the cost: every unit of money spent came back twice.",
        "增量利润除以活动成本；100% 表示扣除成本后的增量利润等于成本：每花一份钱带回两份。"),
    "gloss_interval": ("95% interval", "95% 区间"),
    "gloss_interval_text": (
        "the range the true effect very likely lies in; when it includes zero, the data cannot "
        "tell a gain from no effect.",
        "真实效果大概率所在的范围；区间包含零时，数据无法区分收益与无效果。"),
    "gloss_p_value": ("p-value", "p 值"),
    "gloss_p_value_text": (
        "how surprising the difference would be if the campaign did nothing; small (below "
        "0.05) means unlikely to be chance.",
        "若活动毫无作用，出现这么大差异的可能性；小于 0.05 表示不太可能是偶然。"),
    "gloss_adjustment": ("Regression adjustment", "回归调整"),
    "gloss_adjustment_text": (
        "a correction that uses what was known of each customer before the campaign "
        "(purchases, lifecycle state, tier) to make intervals narrower without bias.",
        "利用活动前已知的客户信息（购买、生命周期状态、会员等级）进行校正，在不引入偏差的情况下缩小区间。"),
    "gloss_srm": ("Sample ratio check", "样本比例检验"),
    "gloss_srm_text": (
        "checks that the arms have the sizes planned; a mismatch means the assignment or the "
        "export is broken.",
        "检查各组人数是否符合计划比例；不符说明分组或数据导出有问题。"),
    "gloss_lifecycle": ("Lifecycle states", "生命周期"),
    "gloss_lifecycle_text": (
        "active (new/old, one/repeat purchase), silent, sleeping, lost: by time since the last "
        "purchase, in steps of the base period.",
        "活跃（新/老客，一次/重复购买）、沉默、睡眠、流失：按距上次购买的时间，以基准周期为一档。"),
    "gloss_dsr": ("DSR", "DSR"),
    "gloss_dsr_text": (
        "the marketplace's 1-5 seller ratings: item as described, service, logistics.",
        "平台 1-5 分的店铺评分：描述相符、服务态度、物流服务。"),
    # --- portal (pages.portal_page) -------------------------------------------------------
    "portal_title": ("Campaign reports", "活动评估报告"),
    "portal_campaign": ("Campaign", "活动"),
    "portal_horizon": ("Horizon", "周期"),
    "portal_horizon_days": ("{h} days", "{h} 天"),
    "portal_best_arm": ("Best arm", "最佳组"),
    "portal_headline": ("Incremental profit (95% interval); ROI",
                        "增量利润（95% 区间）；投资回报率"),
    "portal_pages": ("Pages", "页面"),
    "portal_run": ("Run", "运行记录"),
    "portal_empty": ("No reports yet", "暂无报告"),
    "portal_arms": ("Arms", "分组"),
    "portal_plans": ("Next-round plans", "下一轮计划"),
    "portal_watches": ("Sale watch pages (daily, during a sale)", "活动实时监测页面（活动期间每日）"),
    "portal_plans_note": (
        "Drafts: a plan's params are evaluated only after someone moves them into "
        "params/campaigns/.",
        "草稿：计划的参数移入 params/campaigns/ 后才会被评估。"),
    "portal_plan": ("Plan", "计划"),
    "portal_plan_from": ("Learned from", "依据的活动"),
    "portal_plan_arms": ("Arms and planned shares", "分组与计划比例"),
    "portal_plan_draft": ("Draft params", "参数草稿"),
    # --- next-round plan (report.plan_page; reasons written by plan.decide) ---------------
    "plan_title": ("Next round: what to do and why", "下一轮计划：做什么、为什么"),
    "plan_display_name": ("{next_id}: next round planned from {campaigns}",
                          "{next_id}：依据 {campaigns} 规划的下一轮"),
    "plan_learned_from": ("Learned from: {sources}", "依据的评估：{sources}"),
    "plan_source": ("{campaign} ({h} days after the sale)", "{campaign}（活动结束后 {h} 天）"),
    "plan_params_file": ("Draft params of the next round: {path}", "下一轮参数草稿：{path}"),
    "plan_range": ("{value} ({low} … {high})", "{value}（{low} … {high}）"),
    "plan_evaluation_decision": ("Evaluation's decision", "评估的决定"),
    "plan_offers": ("Offers", "优惠方案"),
    "plan_offer": ("Offer", "方案"),
    "plan_decision": ("Decision", "决定"),
    "plan_decision_keep": ("Keep", "保留"),
    "plan_decision_drop": ("Drop", "停用"),
    "plan_decision_test": ("Test again", "再测一轮"),
    "plan_pooled_effect": ("Pooled net profit per customer", "合并后的每客户净利润"),
    "plan_pooled_interval": ("Pooled 95% interval", "合并后的 95% 区间"),
    "plan_k": ("Campaigns", "活动数"),
    "plan_why": ("Why", "原因"),
    "plan_offers_note": (
        "Figures of this plan: each offer's effect on net profit per customer (after coupon "
        "and message costs) pooled over the campaigns that tried it. {method} The interval is "
        "a plain 95% interval of the pooled effect, not adjusted over the offers.",
        "以下为本计划自己的数字：各方案在试过它的活动中对每客户净利润（扣除优惠券和消息成本后）的合并效果。"
        "{method}区间为合并效果的 95% 区间，未对多个方案做校正。"),
    "plan_method_pm": (
        "Random-effects meta-analysis (Paule-Mandel estimate of the between-campaign "
        "variance τ²).",
        "采用随机效应元分析（活动间方差 τ² 的 Paule-Mandel 估计）。"),
    "plan_method_single": (
        "With one campaign there is nothing to pool: the pooled effect is that campaign's "
        "estimate.",
        "只有一次活动时无需合并：合并效果即该活动的估计值。"),
    "plan_measured": ("What each evaluation measured", "各次评估的结果"),
    "plan_campaign": ("Campaign", "活动"),
    "plan_effect_family": ("Net profit per customer, 95% interval",
                           "每客户净利润，95% 区间"),
    "plan_profit_interval": ("Incremental profit, 95% interval", "增量利润，95% 区间"),
    "plan_roi_interval": ("ROI, 95% interval", "投资回报率，95% 区间"),
    "plan_measured_note": (
        "{campaign}: as its evaluation reported them. Profit, ROI and cost per incremental "
        "order include coupon, message and fixed costs; intervals are 95%, {correction} over "
        "the evaluation's {m} effects ({arms} arms × {metrics} metrics).",
        "{campaign}：与该次评估报告一致。增量利润、投资回报率和每增量订单成本均已扣除优惠券、消息和固定成本；"
        "区间为 95%（{correction}，针对该评估的 {m} 个效果：{arms} 个组 × {metrics} 个指标）。"),
    "plan_correction_holm": ("Holm-adjusted", "Holm 校正"),
    "plan_correction_bonferroni": ("Bonferroni-adjusted", "Bonferroni 校正"),
    "plan_correction_none": ("not adjusted", "未校正"),
    "plan_states": ("Customers by lifecycle state", "按生命周期状态的客户"),
    "plan_state": ("Lifecycle state", "生命周期状态"),
    "plan_action": ("Action", "动作"),
    "plan_action_target": ("Contact", "触达"),
    "plan_action_suppress": ("Do not contact", "不触达"),
    "plan_states_note": (
        "Contacted states are randomised across the arms below; the offer column is what to "
        "roll out to that state once the test is settled.",
        "被触达的状态在下列各组间随机分配；“方案”一列是测试有结论后对该状态推广的方案。"),
    "plan_holdout": ("Arms and holdout of the next round", "下一轮的分组与对照组"),
    "plan_share": ("Planned share", "计划比例"),
    "plan_customers": ("Customers (planned)", "计划客户数"),
    "plan_holdout_text": (
        "Hold out {share} ({n} of {total} customers): power {power} to detect {effect} net "
        "profit per customer (target {target}); smallest detectable effect {mde}.",
        "保留 {share} 的对照组（{total} 位客户中的 {n} 位）：以 {power} 的检验力发现每客户 {effect} "
        "的净利润效果（目标 {target}）；最小可检测效果为 {mde}。"),
    "plan_holdout_unreachable": (
        "Even a holdout of {share} ({n} of {total} customers) gives only {power} power for "
        "{effect} net profit per customer (target {target}); smallest detectable effect {mde}.",
        "即使保留 {share} 的对照组（{total} 位客户中的 {n} 位），发现每客户 {effect} 净利润效果的检验力也只有 "
        "{power}（目标 {target}）；最小可检测效果为 {mde}。"),
    "plan_holdout_same": (
        "The same as the evaluation of {campaign} recommends: this round has the same "
        "customers, and the holdout is sized by the same computation with the same inputs.",
        "与 {campaign} 评估的建议相同：本轮客户相同，对照组由同一计算、同样的输入确定。"),
    "plan_holdout_differs": (
        "The evaluation of {campaign} recommends a holdout for a round like its own; this "
        "plan's round differs, so both are shown:",
        "{campaign} 的评估针对与其相同的一轮给出对照组建议；本计划的一轮有所不同，因此两者并列如下："),
    "plan_holdout_no_evaluation": (
        "The evaluation of {campaign} holds no holdout recommendation to compare with.",
        "{campaign} 的评估没有可供比较的对照组建议。"),
    "plan_design_evaluation": ("Evaluation of {campaign}", "{campaign} 的评估"),
    "plan_design_plan": ("This plan", "本计划"),
    "plan_design_n_total": ("Customers in the round", "本轮客户数"),
    "plan_design_share": ("Holdout share", "对照组比例"),
    "plan_design_n_holdout": ("Held-out customers", "对照组客户数"),
    "plan_design_effect": ("Effect to detect (net profit per customer)",
                           "需检测的效果（每客户净利润）"),
    "plan_design_sd": ("Standard deviation of net profit per customer (holdout)",
                       "每客户净利润的标准差（对照组）"),
    "plan_design_vr": ("Variance reduction by the pre-period covariate",
                       "活动前协变量带来的方差缩减"),
    "plan_design_power": ("Power", "检验力"),
    "plan_design_mde": ("Smallest detectable effect", "最小可检测效果"),
    "plan_holdout_why_audience": (
        "The plan contacts {plan_n} customers instead of {evaluation_n}: it leaves out "
        "{states_keys}.",
        "本计划触达 {plan_n} 位客户，而非 {evaluation_n} 位：不触达{states_keys}。"),
    "plan_holdout_why_budget": (
        "The budget cuts the round from {evaluation_n} to {plan_n} customers.",
        "预算将本轮客户从 {evaluation_n} 位削减到 {plan_n} 位。"),
    "plan_holdout_why_pooled": (
        "The effect, the holdout's spread and the variance reduction are pooled over {k_n} "
        "campaigns instead of taken from the latest one.",
        "效果、对照组的离散程度和方差缩减取自 {k_n} 次活动的合并结果，而非仅最近一次。"),
    "plan_holdout_why_effect": (
        "The plan sizes the holdout for its primary offer's effect ({effect}); the evaluation "
        "for its best arm's ({evaluation_effect}).",
        "本计划按主推方案的效果（{effect}）确定对照组；该评估按其最佳组的效果（{evaluation_effect}）。"),
    "plan_holdout_why_inputs": (
        "The plan's inputs to the holdout computation differ from the evaluation's.",
        "本计划用于计算对照组的输入与该评估不同。"),
    "plan_holdout_why_level": (
        "The plan tests at alpha {alpha_pct} for {power_pct} power.",
        "本计划的显著性水平为 {alpha_pct}，目标检验力为 {power_pct}。"),
    "plan_primary_power": (
        "{primary} goes to {share} of the round, the other offers being tested again on the "
        "rest: {primary} alone against the holdout has power {power} for the same effect.",
        "{primary} 分配给本轮 {share} 的客户，其余客户用于再测其他方案：仅 {primary} 与对照组相比，"
        "对同一效果的检验力为 {power}。"),
    "plan_expected_profit": ("Expected extra profit of the plan", "计划的预期增量利润"),
    "plan_expected_profit_note": (
        "A figure of this plan: customers × share × pooled effect per contacted lifecycle "
        "state, minus the fixed cost ({fixed}); the interval is a 95% prediction interval for "
        "a new campaign (pooled variance plus the between-campaign variance τ²).",
        "本计划自己的数字：各被触达生命周期状态的客户数 × 分配比例 × 合并效果，减去固定成本（{fixed}）；"
        "区间为新一次活动的 95% 预测区间（合并方差加活动间方差 τ²）。"),
    "plan_notes": ("Notes", "说明"),
    "plan_arm_control": ("Holdout (no coupon, no message)", "对照组（无优惠券、无消息）"),
    "plan_arm_message_only": ("Message only", "仅发消息"),
    "plan_policy_active": ("active: keep contact frequency, little discounting",
                           "活跃客户：保持触达频率，少打折"),
    "plan_policy_silent": ("silent: keep contact, light incentives", "沉默客户：保持触达，轻度激励"),
    "plan_policy_sleeping": ("sleeping: limited contact, win back with big discounts",
                             "睡眠客户：有限触达，用大额优惠唤回"),
    "plan_policy_lost": ("lost: suppress contact, use only around big sales",
                         "流失客户：停止触达，仅在大促时使用"),
    "plan_reason_no_estimate": ("no usable estimate of {kind}", "{kind} 没有可用的估计"),
    "plan_reason_keep": (
        "pooled effect {estimate} per customer over {k_n} campaign(s), interval {low} … "
        "{high} above 0: it pays after coupon and message costs",
        "合并 {k_n} 次活动后每客户效果为 {estimate}，区间 {low} … {high} 高于 0：扣除优惠券和消息成本后仍有收益"),
    "plan_reason_drop": (
        "pooled effect {estimate} per customer over {k_n} campaign(s), interval {low} … "
        "{high} below 0: it loses money",
        "合并 {k_n} 次活动后每客户效果为 {estimate}，区间 {low} … {high} 低于 0：亏损"),
    "plan_reason_test": (
        "inconclusive: pooled effect {estimate} per customer over {k_n} campaign(s), interval "
        "{low} … {high} contains 0",
        "尚无定论：合并 {k_n} 次活动后每客户效果为 {estimate}，区间 {low} … {high} 包含 0"),
    "plan_reason_policy": ("policy ({policy_key})", "按触达策略（{policy_key}）"),
    "plan_reason_override_suppress": (
        "evidence overrides the policy ({policy_key}): {primary} loses {estimate} per customer "
        "here, corrected interval {low} … {high} below 0",
        "证据推翻了触达策略（{policy_key}）：{primary} 在此每客户效果为 {estimate}，校正区间 {low} … {high} 低于 0"),
    "plan_reason_override_target": (
        "evidence overrides the policy ({policy_key}): {primary} earns {estimate} per customer "
        "here, corrected interval {low} … {high} above 0",
        "证据推翻了触达策略（{policy_key}）：{primary} 在此每客户效果为 {estimate}，校正区间 {low} … {high} 高于 0"),
    "plan_reason_use_primary": (
        "policy ({policy_key}), but evidence says {primary} pays here ({estimate} per customer, "
        "corrected interval {low} … {high}) while {arm} is not shown to: use {primary}",
        "按触达策略（{policy_key}），但证据表明 {primary} 在此有收益（每客户 {estimate}，校正区间 "
        "{low} … {high}），而 {arm} 未被证明有收益：改用 {primary}"),
    "plan_note_no_proven": (
        "No offer is proven profitable yet: the best inconclusive one, {primary}, leads the "
        "next round so that it can be settled.",
        "尚无方案被证明盈利：表现最好但尚无定论的 {primary} 在下一轮主推，以便得出结论。"),
    "plan_note_all_lose": (
        "Every offer tried loses money: no coupon arm is planned; only a message-only arm is "
        "kept against the holdout.",
        "所有试过的方案都亏损：下一轮不安排优惠券组，只保留一个仅发消息的组与对照组比较。"),
    "plan_note_not_positive": (
        "The pooled effect of {primary} ({estimate}) is not positive; the holdout is sized to "
        "detect {effect} per customer.",
        "{primary} 的合并效果（{estimate}）不为正；对照组按每客户 {effect} 的效果确定。"),
    "plan_note_budget": (
        "Budget {budget_n} {currency}: the round is cut to {scale_pct} of its customers "
        "(expected cost {spend_n} {currency} at full size).",
        "预算 {budget_n} {currency}：本轮缩减为 {scale_pct} 的客户（全量时预计成本 {spend_n} {currency}）。"),
    "plan_note_decision_differs": (
        "{kind}: this plan says “{plan_key}” where the evaluation of {campaign_text} says "
        "“{evaluation_key}”. They answer different questions: the plan, whether the offer pays "
        "per customer after coupon and message costs, pooled over the campaigns, with a 95% "
        "interval not adjusted over the offers; the evaluation, whether this campaign's arm "
        "paid in total after its share of the fixed cost too, with intervals adjusted over all "
        "its effects.",
        "{kind}：本计划的决定是“{plan_key}”，而 {campaign_text} 的评估是“{evaluation_key}”。两者回答的问题不同："
        "本计划看该方案在扣除优惠券和消息成本后对每位客户是否有收益（多次活动合并，95% 区间未对多个方案校正）；"
        "评估看本次活动中该组在再扣除分摊的固定成本后总体是否有收益（区间对该评估的全部效果做了校正）。"),
    "plan_note_secondaries_cut": (
        "Too many offers to test again beside the holdout: {dropped_kinds} wait for a later "
        "round.",
        "与对照组并列再测的方案过多：{dropped_kinds} 留待以后的轮次。"),
    # --- CLV/churn and coupon-uplift pages (report.clv_page, report.uplift_page) ----------
    "pages_list_sep": (", ", "、"),
    "pages_heading": ("{page}: {name}", "{page}：{name}"),
    "clv_observation": ("CLV predicted from {date}", "CLV 自 {date} 起预测"),
    "clv_verdict_title": ("Verdict: the campaign's incremental 12-month CLV",
                          "结论：活动带来的 12 个月增量客户价值（CLV）"),
    "clv_verdict_intro": (
        "Net revenue per customer expected over the 12 months after {date} (sale end + {h} "
        "days), treated arm minus holdout control, discounted at {rate} a year; 95% {interval}.",
        "{date}（活动结束后 {h} 天）之后 12 个月内每位客户的预期净收入，实验组减对照组，按每年 {rate} "
        "折现；95% {interval}。"),
    "clv_interval_bootstrap": ("bootstrap interval over customers", "按客户自助法（bootstrap）区间"),
    "clv_interval_welch": ("Welch t interval", "Welch t 区间"),
    "clv_headline": (
        "{arm}: incremental 12-month CLV {estimate} per customer (95% interval {low} to {high}), "
        "{total} over its {n} customers: {finding}.",
        "{arm}：每位客户 12 个月增量 CLV 为 {estimate}（95% 区间 {low} 至 {high}），全组 {n} 位客户合计 "
        "{total}：{finding}。"),
    "clv_finding_lasting_value": ("lasting value", "带来持久价值"),
    "clv_finding_less_value": ("less future value", "未来价值降低"),
    "clv_finding_no_clear_effect": ("no clear lasting effect", "没有明确的持久效果"),
    "clv_headline_change": (
        "{arm}: change of the 12-month CLV from before the sale to after the window, treated "
        "minus control: {estimate} per customer ({low} to {high}); this removes any chance "
        "imbalance of the arms before the sale.",
        "{arm}：12 个月 CLV 从活动前到窗口结束后的变化，实验组减对照组：每位客户 {estimate}（{low} 至 "
        "{high}）；这消除了各组活动前的偶然差异。"),
    "clv_method_notes": ("Method note (large shop):", "方法说明（大店铺）："),
    "clv_of_n": ("{n} of {total}", "{total} 位中的 {n} 位"),
    "clv_method_fit_sample_calibration": (
        "Calibration (before the sale): {models} fitted on a seeded random sample of customers "
        "({sizes}), seed {seed}; parameters describe the population, CLV is predicted for every "
        "customer from his own history and the log-likelihoods are over all customers.",
        "校准期（活动前）：{models} 在固定种子的客户随机样本上拟合（{sizes}），种子 {seed}；参数描述的是总体，"
        "每位客户的 CLV 都按其自身历史预测，对数似然覆盖全部客户。"),
    "clv_method_fit_sample_window_end": (
        "Up to the window end ({date}): {models} fitted on a seeded random sample of customers "
        "({sizes}), seed {seed}; parameters describe the population, CLV is predicted for every "
        "customer from his own history and the log-likelihoods are over all customers.",
        "截至窗口结束（{date}）：{models} 在固定种子的客户随机样本上拟合（{sizes}），种子 {seed}；参数描述的是"
        "总体，每位客户的 CLV 都按其自身历史预测，对数似然覆盖全部客户。"),
    "clv_method_welch": (
        "Intervals of the incremental CLV and in-window revenue: Welch's t interval, not the "
        "bootstrap (the arms have {n} customers; at that size the bootstrap over customers gives "
        "the same normal interval up to its Monte Carlo noise, at a thousand times the cost).",
        "增量 CLV 和窗口内收入的区间：使用 Welch t 区间而非自助法（各组共 {n} 位客户；在这个规模下，按客户的"
        "自助法只会给出相同的正态区间加上蒙特卡洛噪声，计算量却是一千倍）。"),
    "clv_method_churn_sample": (
        "Churn scorers compared on a seeded random sample of {n} of the {population} customers "
        "with a purchase before {date} (seed {seed}); their AUC and Brier score carry standard "
        "errors about {factor} times those on all of them (the square root of {population} / "
        "{n}).",
        "流失评分方法在 {date} 前有购买的 {population} 位客户中按固定种子随机抽取的 {n} 位上比较（种子 {seed}）；其 AUC "
        "和 Brier 分数的标准误约为用全部客户时的 {factor} 倍（{population} / {n} 的平方根）。"),
    "clv_method_sample_precision": (
        "Precision of the sample (models fitted up to {date}): fitted on {n} of {population} "
        "customers, the fitted figures (parameters, mean CLV) carry a sampling standard error "
        "about {factor} times that of a fit on everyone (the square root of {population} / "
        "{n}). {check}",
        "样本的精度（截至 {date} 拟合的模型）：在 {population} 位客户中的 {n} 位上拟合，拟合得到的数值（参数、平均 "
        "CLV）的抽样标准误约为全量拟合的 {factor} 倍（{population} / {n} 的平方根）。{check}"),
    "clv_method_sample_check": (
        "Measured: each model refitted on a second random sample of the same size as its "
        "first and disjoint from it (the purchase model on {n} customers, the spend model on "
        "{n_spend} of the {repeat} customers with a repeat purchase, whom it is fitted on) "
        "gives a mean 12-month CLV of {b} for the customers of both purchase-model samples, "
        "against {a} from the first fits ({pct}% apart).",
        "实测：每个模型在与其第一个样本同样大小且不重叠的第二个随机样本上重新拟合（购买模型用 {n} 位客户，消费金额模型用 "
        "{repeat} 位有复购客户中的 {n_spend} 位，该模型只在有复购的客户上拟合），对两个购买模型样本的客户给出的平均 "
        "12 个月 CLV 为 {b}，第一次拟合为 {a}（相差 {pct}%）。"),
    "clv_method_sample_check_purchase": (
        "Measured: the purchase model refitted on a second random sample of {n} customers, "
        "disjoint from the first (the spend model was fitted on all {repeat} customers with a "
        "repeat purchase and is kept), gives a mean 12-month CLV of {b} for the customers of "
        "both samples, against {a} from the first fit ({pct}% apart).",
        "实测：购买模型在与第一个样本不重叠的第二个 {n} 位客户随机样本上重新拟合（消费金额模型已在全部 {repeat} 位有复购"
        "的客户上拟合，保持不变），对两个样本的客户给出的平均 12 个月 CLV 为 {b}，第一次拟合为 {a}（相差 {pct}%）。"),
    "clv_method_sample_no_check": (
        "The customers, or the customers with a repeat purchase the spend model is fitted on, "
        "are too few for a second, disjoint sample of the same size, so this is not measured "
        "here.",
        "客户（或拟合消费金额模型所用的有复购客户）数量不足以抽取第二个同样大小且不重叠的样本，因此此处未作实测。"),
    "clv_note_data_short": (
        "The data end on {data_end}, before the window end {window_end}: the holdout is shorter.",
        "数据截至 {data_end}，早于窗口结束日 {window_end}：验证期因此更短。"),
    "clv_note_no_history": (
        "{n} assigned customers had no purchase by {date}; their CLV is counted as 0 (the models "
        "describe customers after a first purchase).",
        "{n} 位参与实验的客户截至 {date} 尚无购买，其 CLV 记为 0（模型描述的是首次购买之后的客户）。"),
    "clv_note_model_warning": ("Model warning: {text}", "模型提示：{text}"),
    "clv_note_churn_skipped": ("Churn comparison skipped: {reason}", "未做流失比较：{reason}"),
    "clv_lasting_title": ("Lasting value vs pulled-forward purchases", "持久价值与提前的购买"),
    "clv_lasting_text": (
        "After the window: predicted 12-month CLV after the window; before the sale: the same "
        "prediction at the sale start (should be about 0: arms were randomised). The in-window "
        "revenue effect below is the short-term effect; a campaign that only pulls purchases "
        "forward shows it without a lasting CLV effect.",
        "窗口结束后：窗口结束后预测的 12 个月 CLV；活动前：活动开始时的同一预测（应接近 0：各组是随机分配的）。"
        "下方的窗口内收入效果是短期效果；只把购买提前的活动会有短期效果而没有持久的 CLV 效果。"),
    "clv_when": ("Predicted at", "预测时点"),
    "clv_when_after_window": ("After the window", "窗口结束后"),
    "clv_when_pre_sale": ("Before the sale", "活动前"),
    "clv_when_change": ("Change", "变化"),
    "clv_arm_mean": ("Arm mean", "实验组均值"),
    "clv_window_title": ("In-window net revenue per customer ({currency})",
                         "窗口内每位客户的净收入（{currency}）"),
    "clv_model_title": ("Which CLV model, and how well it predicts", "选用哪个 CLV 模型，预测效果如何"),
    "clv_model_reason": (
        "{model} predicts the holdout purchases best: per customer, grouped by calibration "
        "frequency, it is off by {mae} purchases on average ({others}); in total it predicts "
        "{predicted} repeat purchases against {actual} actual ({error}%).",
        "{model} 对验证期购买的预测最好：按校准期购买频次分组，每位客户平均偏差 {mae} 次购买（{others}）；"
        "总计预测 {predicted} 次重复购买，实际 {actual} 次（{error}%）。"),
    "clv_calibration_text": (
        "Calibration: purchases before {calibration_end}; holdout: to {observation_end} "
        "(includes the sale, so a model fitted on ordinary weeks under-predicts it). "
        "Log-likelihood summed over customers, time in {unit}.",
        "校准期：{calibration_end} 之前的购买；验证期：至 {observation_end}（包含活动期，因此用平常周拟合的"
        "模型会低估它）。对数似然为全部客户之和，时间单位为{unit}。"),
    "clv_unit_week": ("weeks", "周"),
    "clv_unit_day": ("days", "天"),
    "clv_model": ("Model", "模型"),
    "clv_parameters": ("Parameters", "参数"),
    "clv_log_likelihood": ("Log-likelihood", "对数似然"),
    "clv_fit_customers": ("Fitted on", "拟合客户数"),
    "clv_holdout_predicted": ("Holdout predicted", "验证期预测"),
    "clv_holdout_actual": ("Holdout actual", "验证期实际"),
    "clv_holdout_error": ("Error", "误差"),
    "clv_by_frequency_mae": ("Mean error by frequency", "按频次的平均误差"),
    "clv_by_title": ("CLV by arm and segment ({currency}, net revenue)",
                     "按实验组和分群的 CLV（{currency}，净收入）"),
    "clv_mean_months": ("{m}-month CLV (mean)", "{m} 个月 CLV（均值）"),
    "clv_total_months": ("{m}-month CLV (total)", "{m} 个月 CLV（合计）"),
    "clv_by_segment": ("By {segment}", "按{segment}"),
    "clv_fitted_title": ("Fitted models (used for the CLV above, data up to the window end)",
                         "拟合的模型（用于上方 CLV，数据截至窗口结束）"),
    "clv_fitted_model": ("{model}: {params}; log-likelihood {ll} over {n} customers",
                         "{model}：{params}；{n} 位客户的对数似然 {ll}"),
    "clv_notes": ("Notes", "备注"),
    "churn_title": ("Which churn scorer is best", "哪种流失评分方法最好"),
    "churn_heading": ("Churn", "流失"),
    "churn_not_compared": ("Churn scorers not compared (see the notes below).",
                           "未比较流失评分方法（见下方备注）。"),
    "churn_best": ("Best: {scorer}.", "最佳：{scorer}。"),
    "churn_reason": (
        "It has the lowest Brier score ({brier}; {others}) and {auc}; churn = no purchase in "
        "{days} days after {cutoff}, {n} customers, {rate} churned{sample}.",
        "它的 Brier 分数最低（{brier}；{others}），{auc}；流失 = {cutoff} 之后 {days} 天内没有购买，"
        "共 {n} 位客户，{rate} 流失{sample}。"),
    "churn_reason_auc_best": ("also the highest AUC ({auc})", "AUC 也最高（{auc}）"),
    "churn_reason_auc_other": ("an AUC of {auc} ({other} ranks best, {other_auc})",
                               "AUC 为 {auc}（{other} 排序最好，{other_auc}）"),
    "churn_reason_sample": (" (a seeded random sample of the {population} customers with a "
                            "purchase before the cutoff)",
                            "（截止日前有购买的 {population} 位客户中的固定种子随机样本）"),
    "churn_warning": ("Warning: {text}", "警告：{text}"),
    "churn_warning_p_alive": (
        "P(alive) is a poor churn score here: BG/NBD sets it to 1 for the {share} of customers "
        "without a repeat purchase, however long ago they bought (AUC of 1 - P(alive): {auc}). "
        "Use P(no purchase in {days} days) or the modified BG/NBD instead.",
        "P(alive) 在这里不适合作为流失评分：BG/NBD 对没有重复购买的 {share} 客户一律给出 1，无论其上次购买"
        "有多久（1 - P(alive) 的 AUC：{auc}）。请改用“{days} 天内不购买的概率”或修正的 BG/NBD。"),
    "churn_scorer": ("Scorer", "评分方法"),
    "churn_scorer_model": ("Purchase model: P(no purchase)", "购买模型：不购买的概率"),
    "churn_scorer_hiatus": ("Days since the last purchase", "距上次购买天数"),
    "churn_scorer_classifier": ("Classifier (logistic regression)", "分类器（逻辑回归）"),
    "churn_scorer_p_alive": ("1 - P(alive)", "1 - P(alive)"),
    "churn_population": ("Population", "总体"),
    "churn_rate": ("Churned", "流失率"),
    "churn_chart_title": ("Reliability: no purchase in {days} days", "校准曲线：{days} 天内不购买"),
    "churn_chart_x": ("Predicted churn probability (bin mean)", "预测流失概率（分箱均值）"),
    "churn_chart_y": ("Observed churn share", "实际流失占比"),
    "clv_chart_effect_title": ("Campaign effect on future value (95% interval)",
                               "活动对未来价值的影响（95% 区间）"),
    "clv_chart_effect_x": ("Incremental 12-month CLV per customer ({currency})",
                           "每位客户 12 个月增量 CLV（{currency}）"),
    "clv_chart_actual": ("Actual", "实际"),
    "clv_chart_calibration_frequency": ("Repeat purchases in the calibration period",
                                        "校准期内的重复购买次数"),
    "clv_chart_holdout_per_customer": ("Holdout purchases per customer", "每位客户验证期购买次数"),
    "clv_chart_conditional_title": ("Holdout check: predicted vs actual, by calibration frequency",
                                    "验证期检验：按校准期频次的预测与实际"),
    "clv_chart_holdout_arrow": ("holdout →", "验证期 →"),
    "clv_chart_cumulative": ("Cumulative repeat purchases", "累计重复购买次数"),
    "clv_chart_tracking_title": ("Tracking: the calibration cohort's repeat purchases",
                                 "跟踪：校准期客群的重复购买"),
    "clv_chart_histogram_title": ("Calibration frequency histogram", "校准期购买频次分布"),
    "uplift_outcome_net_profit": ("net profit", "净利润"),
    "uplift_intro": (
        "{name}: {n} customers, {h} days after the sale; outcome: {outcome} per customer. "
        "Features: {features}.",
        "{name}：{n} 位客户，活动结束后 {h} 天；结果指标：每位客户的{outcome}。特征：{features}。"),
    "uplift_samples": ("Model trained on {train} customers and evaluated on {test} customers.",
                       "模型使用{train}客户训练，在{test}客户上评估。"),
    "uplift_part_all": ("all {n} {what}", "全部 {n} 位{what}"),
    "uplift_part_sample": ("{n} of the {total} {what} (a seeded random sample, stratified by arm)",
                           "{total} 位{what}中的 {n} 位（按组分层、固定种子的随机样本）"),
    "uplift_sample_precision": (
        "The samples are drawn by hashing the pseudonymous ids with the seed (the same customers "
        "on every engine). On {n} of the {total} held-out customers, the intervals of the "
        "held-out figures (Qini, AUUC, policy values) are about {factor} times as wide as on all "
        "of them (the square root of {total} / {n}).",
        "样本按种子对匿名客户 ID 做哈希抽取（在任何引擎上都是同一批客户）。在 {total} 位留出客户中的 {n} 位上，留出数值"
        "（Qini、AUUC、策略价值）的区间宽度约为用全部留出客户时的 {factor} 倍（{total} / {n} 的平方根）。"),
    "uplift_training": ("training", "训练集"),
    "uplift_held_out": ("held-out", "留出"),
    "uplift_money_heading": ("The money", "收益"),
    "uplift_money_title": ("What each coupon earned vs the holdout", "每种优惠券相对对照组的收益"),
    "uplift_money_note": (
        "The evaluation report's figures: 95% intervals, Holm-adjusted over the campaign's "
        "family of effects; profit after coupon discounts, message costs and the arm's share of "
        "the fixed costs.",
        "与评估报告相同的数字：95% 区间，在活动的效果族内经 Holm 校正；利润已扣除优惠券折扣、消息成本和该组分摊的固定成本。"),
    "uplift_policy_title": ("Targeting the next round", "下一轮的精准投放"),
    "uplift_policy_intro": (
        "Incremental profit per customer vs sending no coupon, estimated on {n} held-out "
        "customers the model never saw. Best single coupon (the largest effect on net profit per "
        "customer in the whole test): {arm}.",
        "相对不发券的每位客户增量利润，在模型从未见过的 {n} 位留出客户上估计。最佳单一优惠券（整个实验中每位客户"
        "净利润效果最大）：{arm}。"),
    "uplift_policy": ("Policy", "投放策略"),
    "uplift_treated": ("Treated", "发券比例"),
    "uplift_value_dr": ("Doubly robust", "双重稳健估计"),
    "uplift_value_ipw": ("Inverse-propensity", "逆倾向加权估计"),
    "uplift_policy_learned": ("Learned policy (per customer)", "模型策略（逐客户）"),
    "uplift_policy_no_one": ("No one", "不发券"),
    "uplift_policy_everyone": ("Everyone: {arm}", "全部发：{arm}"),
    "uplift_policy_gain_over_everyone": ("Gain over everyone: {arm}", "相对全部发 {arm} 的增益"),
    "uplift_policy_gain_over_no_one": ("Gain over no one", "相对不发券的增益"),
    "uplift_recommendation": ("Recommendation:", "建议："),
    "uplift_recommend_learned": (
        "target the next round per customer (the learned policy's gain over the best single "
        "coupon is above 0 with 95% confidence).",
        "下一轮按客户精准投放（模型策略相对最佳单一优惠券的增益在 95% 置信度下大于 0）。"),
    "uplift_recommend_everyone": (
        "everyone gets {arm}. Per-customer targeting is not recommended: its gain over the best "
        "single coupon cannot be told apart from 0 on the held-out customers, so the target list "
        "gives everyone the same choice.",
        "全部客户发 {arm}。不建议逐客户精准投放：在留出客户上，其相对最佳单一优惠券的增益与 0 无法区分，"
        "因此目标名单给所有人同样的选择。"),
    "uplift_recommend_no_one": (
        "send no coupon. Per-customer targeting is not recommended: its gain over the best "
        "single coupon cannot be told apart from 0 on the held-out customers, and no single "
        "coupon earned more than the holdout.",
        "不发券。不建议逐客户精准投放：在留出客户上，其相对最佳单一优惠券的增益与 0 无法区分，且没有任何单一"
        "优惠券的收益高于对照组。"),
    "uplift_who_heading": ("Who responded", "谁有响应"),
    "uplift_segments_title": ("Net profit effect per customer by segment", "各分群每位客户的净利润效果"),
    "uplift_segment_value": ("Value", "取值"),
    "uplift_effect_holm": ("Effect [Holm interval]", "效果 [Holm 区间]"),
    "uplift_holm_p": ("Holm p", "Holm p 值"),
    "uplift_no_segments": ("No segment has enough customers per arm.", "没有分群在每组都有足够的客户。"),
    "uplift_ranking_title": ("Does the model rank customers by their response?",
                             "模型能否按响应对客户排序？"),
    "uplift_qini": ("Qini coefficient", "Qini 系数"),
    "uplift_ranking_note": (
        "Held-out customers; normalised by the perfect model as scikit-uplift's qini_auc_score / "
        "uplift_auc_score (0 = random); 95% bootstrap intervals.",
        "留出客户；与 scikit-uplift 的 qini_auc_score / uplift_auc_score 一样按完美模型归一化（0 = 随机）；"
        "95% 自助法区间。"),
    "uplift_chart_qini": ("Qini curves", "Qini 曲线"),
    "uplift_chart_deciles": ("Uplift by predicted decile", "按预测十分位的增量"),
    "uplift_chart_model": ("Model", "模型"),
    "uplift_chart_random": ("Random", "随机"),
    "uplift_chart_qini_title": ("Qini curve: {arm}", "Qini 曲线：{arm}"),
    "uplift_chart_share_targeted": ("Share of held-out customers targeted", "投放的留出客户占比"),
    "uplift_chart_incremental": ("Incremental {outcome}", "增量{outcome}"),
    "uplift_chart_observed": ("Observed", "实际"),
    "uplift_chart_predicted": ("Predicted", "预测"),
    "uplift_chart_decile_title": ("Uplift by predicted decile: {arm}", "按预测十分位的增量：{arm}"),
    "uplift_chart_decile_x": ("Decile (1 = highest predicted uplift)", "十分位（1 = 预测增量最高）"),
    "feature_lifecycle_state": ("lifecycle state", "生命周期状态"),
    "feature_tier": ("member tier", "会员等级"),
    "feature_pre_orders": ("orders in the pre-period", "活动前订单数"),
    "feature_pre_revenue": ("revenue in the pre-period", "活动前收入"),
    "feature_pre_gross_profit": ("gross profit in the pre-period", "活动前毛利"),
    "feature_pre_converted": ("bought in the pre-period", "活动前是否购买"),
    "feature_gender": ("gender", "性别"),
    "feature_province": ("province", "省份"),
    "feature_tenure_days": ("days since the first order", "首单至今天数"),
    "gender_F": ("Female", "女"),
    "gender_M": ("Male", "男"),
    "gender_unknown": ("Unknown", "未知"),
    "province_Guangdong": ("Guangdong", "广东"),
    "province_Zhejiang": ("Zhejiang", "浙江"),
    "province_Jiangsu": ("Jiangsu", "江苏"),
    "province_Shandong": ("Shandong", "山东"),
    "province_Shanghai": ("Shanghai", "上海"),
    "province_Beijing": ("Beijing", "北京"),
    "province_Sichuan": ("Sichuan", "四川"),
    "province_Henan": ("Henan", "河南"),
    "province_Fujian": ("Fujian", "福建"),
    "province_Hubei": ("Hubei", "湖北"),
    "province_Hebei": ("Hebei", "河北"),
    "province_Hunan": ("Hunan", "湖南"),
    "province_Anhui": ("Anhui", "安徽"),
    "province_Liaoning": ("Liaoning", "辽宁"),
    "province_Shaanxi": ("Shaanxi", "陕西"),
    "province_Chongqing": ("Chongqing", "重庆"),
    "province_Jiangxi": ("Jiangxi", "江西"),
    "province_Guangxi": ("Guangxi", "广西"),
    "province_Yunnan": ("Yunnan", "云南"),
    "province_Tianjin": ("Tianjin", "天津"),
    "province_Shanxi": ("Shanxi", "山西"),
    "province_Heilongjiang": ("Heilongjiang", "黑龙江"),
    "province_Guizhou": ("Guizhou", "贵州"),
    "province_Jilin": ("Jilin", "吉林"),
    "province_Inner Mongolia": ("Inner Mongolia", "内蒙古"),
    "province_Xinjiang": ("Xinjiang", "新疆"),
    "province_Gansu": ("Gansu", "甘肃"),
    "province_Hainan": ("Hainan", "海南"),
    "province_Ningxia": ("Ningxia", "宁夏"),
    "province_Qinghai": ("Qinghai", "青海"),
    "province_Tibet": ("Tibet", "西藏"),
    # --- participants vs non-participants of interactive activities (evaluation_interactions)
    "interactions": ("Participants vs non-participants of interactive activities "
                     "(observational, not causal)", "互动活动参与者与未参与者对比（观察性，非因果）"),
    "interactions_flag": (
        "Observational, not causal: customers chose to take part, and those who take part are "
        "the ones who buy anyway. The adjusted difference compares participants with "
        "non-participants reweighted to match their recency, frequency and spend before the "
        "sale; whatever else drives both taking part and buying (interest in the sale, visits "
        "made in order to buy) is still in it. Read it as an association, not as the "
        "activity's effect: only a randomised test of the activity measures that.",
        "观察性结果，并非因果效应：是否参与由客户自己决定，而参与的往往正是本来就会购买的客户。"
        "调整后差异将参与者与经过加权、在活动前的最近购买、购买频次和消费金额上与之相当的未参与者比较；"
        "其他同时影响参与和购买的因素（对大促的兴趣、为购买而来的访问）仍然包含在内。"
        "请把它看作相关关系，而非活动的效果：只有对活动做随机实验才能衡量其效果。"),
    "interactions_scope": (
        "Participants: customers with at least one such activity from {start} to {end}, among "
        "those who bought before the sale. Outcomes over the evaluation window, {wstart} to "
        "{wend}.",
        "参与者：在活动前有过购买的客户中，{start} 至 {end} 期间至少参与一次该活动的客户。"
        "结果指标取评估窗口（{wstart} 至 {wend}）。"),
    "activity": ("Activity", "互动活动"),
    "activity_sign_in": ("Sign-in", "签到"),
    "activity_lottery": ("Lottery", "抽奖"),
    "activity_vote": ("Vote", "投票"),
    "interactions_counts": ("Participants / non-participants", "参与者 / 未参与者"),
    "participants_mean": ("Participants", "参与者"),
    "non_participants_mean": ("Non-participants", "未参与者"),
    "raw_difference": ("Raw difference (95% interval)", "原始差异（95% 区间）"),
    "adjusted_difference": ("Adjusted difference (95% interval)", "调整后差异（95% 区间）"),
    "balance_smd": ("Largest standardised difference of the covariates, before → after "
                    "weighting", "协变量最大标准化差异（加权前 → 加权后）"),
    "not_balanced": ("not balanced", "未达平衡"),
    "too_few_participants": ("too few to compare (fewer than {n} participants or "
                             "non-participants)", "人数过少，不做比较（参与者或未参与者少于 {n} 人）"),
    "interactions_outside": ("Left out, as they had not bought before the sale:",
                             "因活动前未曾购买而未纳入比较的参与者："),
    "interactions_reading": (
        "The adjusted difference gives the non-participants weights so that their recency, "
        "frequency and spend match the participants'; below 0.1 in the last column the "
        "groups are alike in those. A large gap between the raw and the adjusted difference "
        "shows how much of the raw one was who takes part.",
        "调整后差异对未参与者加权，使其最近购买、购买频次和消费金额与参与者一致；最后一列低于 0.1 "
        "表示两组在这些方面相当。原始差异与调整后差异相差越大，说明原始差异中由“谁来参与”造成的部分越多。"),
    "methods_interactions": (
        "Interactive activities ({kinds}), observational: {method}; the propensity to take "
        "part from a logistic regression on the customer's purchases in the {days} days before "
        "the sale ({covariates}); differences by {interval}, {level} intervals that treat the weights as known; balance "
        "by standardised mean differences (below {threshold} after weighting). Outside the "
        "campaign's family, no multiple-comparison correction.",
        "互动活动（{kinds}），观察性分析：{method}；参与倾向由逻辑回归估计，协变量为客户活动前 {days} "
        "天内的购买情况（{covariates}）；差异用{interval}估计，{level} 区间（视权重为已知）；用标准化均值差检查平衡"
        "（加权后低于 {threshold}）。不在活动的比较族内，未做多重比较校正。"),
    "method_ipw_att": ("inverse-probability weighting for the effect on participants (ATT)",
                       "针对参与者效果（ATT）的逆概率加权"),
    "interval_wls_hc1": ("weighted least squares with HC1 robust errors",
                         "加权最小二乘（HC1 稳健标准误）"),
    "covariate_recency_days": ("days since the last purchase", "距上次购买天数"),
    "covariate_frequency": ("number of purchases", "购买次数"),
    "covariate_log_monetary": ("spend (log)", "消费金额（对数）"),
    "covariate_no_history": ("no purchase at all", "无任何购买"),
    "note_no_interactions": ("No interactions table: participants vs non-participants of "
                             "interactive activities (sign-in, lottery, vote) need it.",
                             "没有互动表：互动活动（签到、抽奖、投票）参与者与未参与者的对比需要它。"),
    "note_no_activities": ("The interactions table has no sign-in, lottery or vote during the "
                           "sale: there is no activity to compare.",
                           "互动表中活动期间没有签到、抽奖或投票记录：没有可比较的活动。"),
    "note_interactions_no_history": (
        "No customer bought before the sale in the data: participants of interactive "
        "activities are compared with customers who bought before it, so there is no one to "
        "compare.",
        "数据中没有客户在活动前购买过：互动活动参与者只与活动前有过购买的客户比较，因此没有可比较的客户。"),
    # --- payment reminders, RFM segments, member tiers (issue 16.5; analyses.descriptive
    # campaign_reminders, analyses.segments; templates evaluation_reminders / _rfm / _tiers)
    "reminders": ("Payment reminders: unpaid orders recovered (observational, not causal)",
                  "催付：未付款订单的挽回（观察性，非因果）"),
    "reminders_flag": (
        "Observational, not causal: reminders were not sent or withheld at random among unpaid "
        "orders, so the difference mixes the reminder's effect with which orders were reminded "
        "and when. The campaign's effect, reminders included, is the comparison with the "
        "holdout above.",
        "观察性结果，并非因果效应：催付并非在未付款订单中随机发送或不发送，因此差异中混杂了催付的效果"
        "与哪些订单、在何时被催付。活动（含催付）的效果见上文与对照组的比较。"),
    "reminders_scope": (
        "Orders the campaign's customers created from {start} to {end}. Reminded: a Wangwang "
        "message within 24 hours of the order while it was unpaid; recovered = paid after the "
        "message. Not reminded: still unpaid 30 minutes after the order; recovered = paid "
        "later.",
        "活动客户在 {start} 至 {end} 期间创建的订单。已催付：订单未付款期间、下单后 24 小时内收到旺旺消息；"
        "挽回 = 消息之后付款。未催付：下单 30 分钟后仍未付款；挽回 = 之后付款。"),
    "reminders_group": ("Orders", "订单"),
    "reminders_reminded": ("Reminded", "已催付"),
    "reminders_not_reminded": ("Not reminded", "未催付"),
    "reminders_difference": ("Difference, reminded − not reminded", "差异（已催付 − 未催付）"),
    "unpaid_orders": ("Unpaid orders", "未付款订单"),
    "recovered_orders": ("Paid later", "之后付款"),
    "recovery_rate": ("Recovered (95% interval)", "挽回率（95% 区间）"),
    "reminders_reading": (
        "Wilson intervals for each rate; the difference with Newcombe's interval and the "
        "Agresti-Caffo test.",
        "各比率为 Wilson 区间；差异为 Newcombe 区间和 Agresti-Caffo 检验。"),
    "note_no_reminder_contacts": (
        "No contacts table: payment-reminder recovery needs the Wangwang reminders sent.",
        "没有触达表：催付挽回分析需要已发送的旺旺催付消息。"),
    "note_no_unpaid": (
        "No order of the campaign's customers was left unpaid during the sale: there is no "
        "payment reminder to evaluate.",
        "活动期间活动客户没有未付款订单：没有可评估的催付。"),
    "note_no_reminders": (
        "The contacts hold no Wangwang message of this campaign sent within 24 hours of an "
        "unpaid order during the sale: payment-reminder recovery is not shown.",
        "触达表中没有本活动在促销期间、未付款订单下单后 24 小时内发送的旺旺消息：不显示催付挽回。"),
    "rfm": ("RFM segments per arm, sale start → window end", "各组 RFM 分群（活动开始 → 窗口结束）"),
    "rfm_scope": (
        "Recency, frequency and spend over the 365 days before each date, scored 1–5 among "
        "all the shop's buyers of that year; the segment follows the recency and frequency "
        "scores. Share of each arm's customers at the sale start → at the window end.",
        "按每个日期前 365 天内的最近购买、购买频次和消费金额，在当年店铺全部购买客户中评 1–5 分；"
        "分群依据最近购买和购买频次得分。表中为各组客户在活动开始时 → 窗口结束时所占比例。"),
    "diff_vs_holdout": ("{arm} − holdout at the window end (95% interval)",
                        "{arm} − 对照组，窗口结束时（95% 区间）"),
    "shares_reading": (
        "Arms were assigned at random, so a difference at the window end is the campaign's "
        "effect on the share of customers in that group (Newcombe interval); at the sale start "
        "the arms differ only by chance. A breakdown outside the campaign's family of effects: "
        "not corrected for multiple comparisons.",
        "各组为随机分配，因此窗口结束时的差异即活动对该类客户占比的效果（Newcombe 区间）；活动开始时各组"
        "只有随机差异。此为活动效果族之外的细分，未做多重比较校正。"),
    "rfm_champions": ("Champions", "重要价值客户"),
    "rfm_loyal": ("Loyal", "忠诚客户"),
    "rfm_new": ("New", "新客户"),
    "rfm_promising": ("Promising", "潜力新客"),
    "rfm_potential_loyal": ("Potential loyal", "潜在忠诚客户"),
    "rfm_cant_lose": ("Can't lose", "不能流失的客户"),
    "rfm_at_risk": ("At risk", "流失风险客户"),
    "rfm_about_to_sleep": ("About to sleep", "即将沉睡客户"),
    "rfm_hibernating": ("Hibernating", "沉睡客户"),
    "rfm_needs_attention": ("Needs attention", "需要关注"),
    "rfm_none": ("No purchase in the 365 days", "365 天内无购买"),
    "tiers": ("Member tiers per arm, sale start → window end",
              "各组会员等级（活动开始 → 窗口结束）"),
    "tiers_scope": (
        "Each customer's tier from their cumulative spend before each date, by the thresholds "
        "of the tiers the customers table names (the table does not say when it was recorded, "
        "so both dates follow the same rule). Share of each arm's customers at the sale start "
        "→ at the window end.",
        "每位客户的等级按各日期之前的累计消费和客户表所用等级的门槛计算（客户表未注明记录时间，"
        "因此两个日期按同一规则计算）。表中为各组客户在活动开始时 → 窗口结束时所占比例。"),
    "tier": ("Tier", "等级"),
    "tier_none": ("No purchase yet", "尚未购买"),
    "tier_silver": ("Silver", "银卡会员"),
    "tier_gold": ("Gold", "金卡会员"),
    "tier_platinum": ("Platinum", "白金会员"),
    "tier_diamond": ("Diamond", "钻石会员"),
    "tier_migration": ("Tier moves, sale start → window end", "等级变动（活动开始 → 窗口结束）"),
    "direction_up": ("Moved up", "升级"),
    "direction_same": ("Same tier", "等级不变"),
    "direction_down": ("Moved down", "降级"),
    "moved_up_vs_holdout": ("Moved up: arm − holdout (95% interval)",
                            "升级：本组 − 对照组（95% 区间）"),
    "note_no_tier": (
        "The customers table records no member tier: tiers and their migration are not shown.",
        "客户表没有记录会员等级：不显示会员等级及其变动。"),
    "note_tier_scheme_unknown": (
        "The customers table names member tiers whose spend thresholds the report does not "
        "know (it knows regular / senior / VIP / supreme VIP and regular / silver / gold / "
        "platinum / diamond): tier migration is not shown.",
        "客户表中的会员等级名称不属于已知的消费门槛方案（普通/高级/VIP/至尊VIP，或普通/银卡/金卡/白金/钻石）："
        "不显示会员等级变动。"),
    # --- parts skipped or failed, model fallbacks (issue 16, "degrade, never drop") ---
    "skipped_heading": ("{page}: not in this report", "{page}：本报告未包含"),
    "skipped_intro": ("This part was skipped because the shop's data do not allow it:",
                      "由于店铺数据不满足条件，已跳过这一部分："),
    "failed_intro": ("This part failed with an error; the rest of the report is complete. "
                     "The error:", "这一部分运行出错；报告的其余部分完整。错误："),
    "skipped_rest": ("The evaluation and the other pages were computed as usual.",
                     "活动评估和其他页面照常计算。"),
    "skip_reason_other": ("{message}", "{message}"),
    "skip_clv_no_purchase_model": (
        "no purchase model (BG/NBD, modified BG/NBD, Pareto/NBD) could be fitted to the order "
        "history ({reason}).",
        "订单历史无法拟合任何购买模型（BG/NBD、修正 BG/NBD、Pareto/NBD）（{reason}）。"),
    "skip_clv_no_spend_model": (
        "the spend model (Gamma-Gamma) could not be fitted, even with a penalizer ({reason}).",
        "即使加入惩罚项，也无法拟合消费金额模型（Gamma-Gamma）（{reason}）。"),
    "skip_uplift_small_arms": (
        "too few customers to learn who responds: the model needs at least {minimum} customers "
        "in every group, and {arms} have fewer.",
        "客户太少，无法学习谁会响应：模型要求每组至少 {minimum} 位客户，而 {arms} 不足。"),
    "skip_uplift_no_features": (
        "the customer table has no column to learn from: {features} are empty or hold one "
        "value only.",
        "客户表中没有可用于建模的列：{features} 为空或只有一个取值。"),
    "clv_method_gg_penalizer": (
        "The Gamma-Gamma spend model (fitted up to {date}) did not converge without a penalty; "
        "it was fitted with penalizer_coef = {penalizer:g}, which shrinks its estimates a "
        "little.",
        "Gamma-Gamma 消费金额模型（拟合至 {date}）在无惩罚时不收敛，改用 penalizer_coef = "
        "{penalizer:g} 拟合，估计值会略有收缩。"),
    "clv_note_refit_fallback": (
        "The chosen purchase model could not be refitted at the window end ({reason}); the "
        "predictions use {model}, the next best in the validation.",
        "所选购买模型无法在窗口结束时重新拟合（{reason}）；预测改用验证中次优的 {model}。"),
    "clv_note_churn_model_left_out": (
        "The purchase model's churn scores are left out of the churn comparison ({reason}); "
        "the hiatus rule and the classifier need no purchase model and are compared.",
        "购买模型的流失评分未纳入比较（{reason}）；沉寂规则和分类器不依赖购买模型，照常比较。"),
    "uplift_note_feature_empty": (
        "Feature left out: {feature} (no values in the data).",
        "未使用的特征：{feature}（数据中没有取值）。"),
    "uplift_note_feature_constant": (
        "Feature left out: {feature} (the same value for every customer).",
        "未使用的特征：{feature}（所有客户取值相同）。"),
    "uplift_note_feature_missing": (
        "Feature left out: {feature} (not in the data).",
        "未使用的特征：{feature}（数据中没有该列）。"),
    # --- evaluation: claim nothing not computed; wording by campaign type (issue 16) -------
    # a key + "_message" is the wording of a message-only campaign (pages.evaluation_context)
    "money_message": ("Money per arm", "各实验组的收益"),
    "decisions_message": ("Decision per arm", "各实验组的决定"),
    "contacted_message": ("Contacted (treatment arms)", "已触达（实验组）"),
    "methods_intro_message": (
        "Each arm is compared with the randomised holdout ({control}) over the evaluation "
        "window, {start} to {end}; {n} customers were assigned.",
        "每个实验组都与随机对照组（{control}）在评估窗口（{start} 至 {end}）内比较；共 {n} 位客户参与分组。"),
    "methods_money_message": (
        "Incremental profit = effect on net profit per customer × customers in the arm − the "
        "arm's share of the fixed costs; ROI = incremental profit / campaign cost (messages + "
        "fixed share). Their intervals scale the effect's corrected interval.",
        "增量利润 = 每客户净利润效果 × 组内客户数 − 该组分摊的固定成本；投资回报率 = 增量利润 / 活动成本（消息 + 固定成本分摊）。其区间由效果的校正后区间换算而来。"),
    "gloss_holdout_text_message": (
        "customers picked at random to get no message; what they bought is what everyone "
        "would have bought anyway.",
        "随机选出、不发消息的客户；他们的购买代表没有活动时本来会发生的购买。"),
    "gloss_incremental_profit_text_message": (
        "profit the campaign added: treated customers' net profit minus what the holdout says "
        "they would have made, after message and fixed costs.",
        "活动带来的额外利润：实验组客户的净利润减去对照组推算的原本利润，已扣除消息和固定成本。"),
    "costs_coupon": ("coupon, message and fixed costs", "优惠券、消息和固定成本"),
    "costs_message": ("message and fixed costs", "消息和固定成本"),
    "roi_clause": (", an ROI of {roi}", "，投资回报率 {roi}"),
    "roi_clause_no_cost": ("; no cost was recorded, so there is no ROI",
                           "；未记录成本，无法计算投资回报率"),
    "no_cost_recorded": ("no cost recorded", "未记录成本"),
    # the total of an arm whose main cost is not recorded but other costs are (e.g. messages)
    "cost_at_least": ("at least {amount} (not every cost recorded)",
                      "至少 {amount}（部分成本未记录）"),
    # campaign types (params.campaign_type): a key + "_<type>" is that type's wording; a
    # type without its own key takes the key + "_message" (no coupon words) when there is one
    "costs_shop_discount": ("discount, message and fixed costs", "优惠、消息和固定成本"),
    "costs_payment_reminder": ("reminder and fixed costs", "催付消息和固定成本"),
    "costs_member_day": ("member benefit, discount, message and fixed costs",
                         "会员权益、优惠、消息和固定成本"),
    "discount_cost": ("Discounts on its orders", "订单优惠金额"),
    "benefit_cost": ("Member benefits", "会员权益成本"),
    "message_cost_payment_reminder": ("Reminder cost", "催付消息成本"),
    "paid_orders_recovered": ("Paid orders recovered vs holdout", "相对对照组多付款的订单"),
    "methods_money_shop_discount": (
        "Incremental profit = effect on net profit per customer × customers in the arm − the "
        "arm's share of the fixed costs (net profit already pays the discounts: gross profit "
        "counts the margin on the list price); ROI = incremental profit / campaign cost "
        "(discounts recorded on the arm's orders in the window, orders.discount, which includes "
        "any other promotion's discount on those orders, + messages + fixed share). Their intervals scale the effect's corrected interval.",
        "增量利润 = 每客户净利润效果 × 组内客户数 − 该组分摊的固定成本（净利润已扣除优惠：毛利按原价计算毛利率）；"
        "投资回报率 = 增量利润 / 活动成本（评估窗口内该组订单记录的优惠金额 orders.discount，"
        "包括这些订单上其他促销的优惠，+ 消息 + 固定成本分摊）。其区间由效果的校正后区间换算而来。"),
    "methods_money_payment_reminder": (
        "Paid orders recovered = effect on paid orders per customer × customers in the arm: an "
        "order counts only once it is paid, so the comparison with the holdout measures the "
        "orders the reminders got paid (and any other purchase they prompted). Incremental "
        "profit = effect on net profit per customer × customers in the arm − the arm's share of "
        "the fixed costs; ROI = incremental profit / campaign cost (reminder messages + fixed "
        "share). Their intervals scale the effect's corrected interval.",
        "多付款的订单 = 每客户已付款订单效果 × 组内客户数：订单付款后才计入，因此与对照组的比较衡量的就是催付带来的付款订单"
        "（以及它促成的其他购买）。增量利润 = 每客户净利润效果 × 组内客户数 − 该组分摊的固定成本；"
        "投资回报率 = 增量利润 / 活动成本（催付消息 + 固定成本分摊）。其区间由效果的校正后区间换算而来。"),
    "methods_money_member_day": (
        "Incremental profit = effect on net profit per customer × customers in the arm − the "
        "arm's share of the fixed costs; net profit subtracts the benefit's cost (benefit_cost "
        "of the params) from every member who bought in the window. ROI = incremental profit / "
        "campaign cost (benefits + discounts recorded on the arm's orders, orders.discount, + "
        "messages + fixed share). Their intervals scale the effect's "
        "corrected interval.",
        "增量利润 = 每客户净利润效果 × 组内客户数 − 该组分摊的固定成本；评估窗口内每位购买的会员，其净利润已扣除权益成本"
        "（参数中的 benefit_cost）。投资回报率 = 增量利润 / 活动成本（会员权益 + 该组订单记录的优惠金额 "
        "orders.discount + 消息 + 固定成本分摊）。其区间由效果的校正后区间换算而来。"),
    "gloss_holdout_text_shop_discount": (
        "customers picked at random not to get the shop discount; what they bought is what "
        "everyone would have bought anyway.",
        "随机选出、不享受店铺优惠的客户；他们的购买代表没有活动时本来会发生的购买。"),
    "gloss_holdout_text_payment_reminder": (
        "customers picked at random to get no payment reminder; what they paid is what would "
        "have been paid anyway.",
        "随机选出、不催付的客户；他们的付款代表不催付时本来会发生的付款。"),
    "gloss_holdout_text_member_day": (
        "members picked at random not to get the member-day benefits; what they bought is what "
        "everyone would have bought anyway.",
        "随机选出、不享受会员日权益的会员；他们的购买代表没有活动时本来会发生的购买。"),
    "gloss_incremental_profit_text_shop_discount": (
        "profit the campaign added: treated customers' net profit minus what the holdout says "
        "they would have made, after discounts, message and fixed costs.",
        "活动带来的额外利润：实验组客户的净利润减去对照组推算的原本利润，已扣除优惠、消息和固定成本。"),
    "gloss_incremental_profit_text_payment_reminder": (
        "profit the reminders added: reminded customers' net profit minus what the holdout says "
        "they would have made, after reminder and fixed costs.",
        "催付带来的额外利润：被催付客户的净利润减去对照组推算的原本利润，已扣除催付消息和固定成本。"),
    "gloss_incremental_profit_text_member_day": (
        "profit the campaign added: treated members' net profit minus what the holdout says "
        "they would have made, after benefit, discount, message and fixed costs.",
        "活动带来的额外利润：实验组会员的净利润减去对照组推算的原本利润，已扣除会员权益、优惠、消息和固定成本。"),
    "note_no_cost_message": (
        "No cost is recorded for an arm (no contact of the campaign in the contacts table, or "
        "none with a cost, and no fixed cost): its ROI and cost per incremental order are not "
        "defined.",
        "有实验组没有记录成本（触达表中没有该活动的触达或触达没有成本，也没有固定成本）：其投资回报率和每增量订单成本无法计算。"),
    "note_no_cost_shop_discount": (
        "The discounts are not recorded (no order has a discount value in orders.discount) or "
        "an arm has no cost at all: its ROI and cost per incremental order are not defined.",
        "未记录优惠金额（没有订单在 orders.discount 中有优惠值）或有实验组没有任何成本：其投资回报率和每增量订单成本无法计算。"),
    "note_no_cost_payment_reminder": (
        "The reminders' cost is not recorded (no contact of the campaign in the contacts table, "
        "or none with a cost): an arm's ROI and cost per incremental order are not defined.",
        "未记录催付成本（触达表中没有该活动的触达或触达没有成本）：实验组的投资回报率和每增量订单成本无法计算。"),
    # the plan page of a campaign without coupons (plan.decide.plan_type)
    "plan_arm_control_message": ("Holdout (no treatment)", "对照组（不做处理）"),
    "plan_offers_note_message": (
        "Figures of this plan: each offer's effect on net profit per customer (after the "
        "campaign's costs) pooled over the campaigns that tried it. {method} The interval is a "
        "plain 95% interval of the pooled effect, not adjusted over the offers.",
        "以下为本计划自己的数字：各方案在试过它的活动中对每客户净利润（扣除活动成本后）的合并效果。{method}"
        "区间为合并效果的 95% 区间，未对多个方案做校正。"),
    "plan_measured_note_message": (
        "{campaign}: as its evaluation reported them. Profit, ROI and cost per incremental "
        "order include the campaign's costs and fixed costs; intervals are 95%, {correction} "
        "over the evaluation's {m} effects ({arms} arms × {metrics} metrics).",
        "{campaign}：与该次评估报告一致。增量利润、投资回报率和每增量订单成本均已扣除活动成本和固定成本；"
        "区间为 95%（{correction}，针对该评估的 {m} 个效果：{arms} 个组 × {metrics} 个指标）。"),
    "plan_reason_keep_message": (
        "pooled effect {estimate} per customer over {k_n} campaign(s), interval {low} … {high} "
        "above 0: it pays after the campaign's costs",
        "合并 {k_n} 次活动后每客户效果为 {estimate}，区间 {low} … {high} 高于 0：扣除活动成本后仍有收益"),
    "plan_note_all_lose_message": (
        "Every offer tried loses money: none is planned; only a message-only arm is kept "
        "against the holdout.",
        "所有试过的方案都亏损：下一轮不安排这些方案，只保留一个仅发消息的组与对照组比较。"),
    "plan_note_decision_differs_message": (
        "{kind}: this plan says “{plan_key}” where the evaluation of {campaign_text} says "
        "“{evaluation_key}”. They answer different questions: the plan, whether the offer pays "
        "per customer after the campaign's costs, pooled over the campaigns, with a 95% "
        "interval not adjusted over the offers; the evaluation, whether this campaign's arm "
        "paid in total after its share of the fixed cost too, with intervals adjusted over all "
        "its effects.",
        "{kind}：本计划的决定是“{plan_key}”，而 {campaign_text} 的评估是“{evaluation_key}”。两者回答的问题不同："
        "本计划看该方案在扣除活动成本后对每位客户是否有收益（多次活动合并，95% 区间未对多个方案校正）；"
        "评估看本次活动中该组在再扣除分摊的固定成本后总体是否有收益（区间对该评估的全部效果做了校正）。"),
    # the uplift page and its title without coupon words (any type but coupon)
    "page_coupon_uplift_message": ("Uplift and targeting", "增量与精准投放"),
    "uplift_money_title_message": ("What each arm earned vs the holdout",
                                   "各实验组相对对照组的收益"),
    "uplift_money_note_message": (
        "The evaluation report's figures: 95% intervals, Holm-adjusted over the campaign's "
        "family of effects; profit after the campaign's costs and the arm's share of the fixed "
        "costs.",
        "与评估报告相同的数字：95% 区间，在活动的效果族内经 Holm 校正；利润已扣除活动成本和该组分摊的固定成本。"),
    "uplift_policy_intro_message": (
        "Incremental profit per customer vs treating no one, estimated on {n} held-out "
        "customers the model never saw. Best single arm (the largest effect on net profit per "
        "customer in the whole test): {arm}.",
        "相对不做任何处理的每位客户增量利润，在模型从未见过的 {n} 位留出客户上估计。最佳单一实验组"
        "（整个实验中每位客户净利润效果最大）：{arm}。"),
    "uplift_treated_message": ("Treated", "处理比例"),
    "uplift_policy_no_one_message": ("No one", "都不处理"),
    "uplift_policy_gain_over_no_one_message": ("Gain over no one", "相对都不处理的增益"),
    "uplift_recommend_learned_message": (
        "target the next round per customer (the learned policy's gain over the best single "
        "arm is above 0 with 95% confidence).",
        "下一轮按客户精准投放（模型策略相对最佳单一实验组的增益在 95% 置信度下大于 0）。"),
    "uplift_recommend_everyone_message": (
        "everyone gets {arm}. Per-customer targeting is not recommended: its gain over the best "
        "single arm cannot be told apart from 0 on the held-out customers, so the target list "
        "gives everyone the same choice.",
        "全部客户采用 {arm}。不建议逐客户精准投放：在留出客户上，其相对最佳单一实验组的增益与 0 无法区分，"
        "因此目标名单给所有人同样的选择。"),
    "uplift_recommend_no_one_message": (
        "treat no one. Per-customer targeting is not recommended: its gain over the best single "
        "arm cannot be told apart from 0 on the held-out customers, and no single arm earned "
        "more than the holdout.",
        "都不处理。不建议逐客户精准投放：在留出客户上，其相对最佳单一实验组的增益与 0 无法区分，且没有任何单一"
        "实验组的收益高于对照组。"),
    "note_no_cost_member_day": (
        "The benefit's cost is not recorded for an arm (no benefit_cost in its params) or the "
        "arm has no cost at all: its ROI and cost per incremental order are not defined.",
        "有实验组未记录会员权益成本（参数中没有 benefit_cost）或没有任何成本：其投资回报率和每增量订单成本无法计算。"),
    "note_no_cost": (
        "No cost is recorded for an arm (no coupon redeemed, no message cost, no fixed cost): "
        "its ROI and cost per incremental order are not defined.",
        "有实验组没有记录任何成本（无核销优惠券、无消息成本、无固定成本）：其投资回报率和每增量订单成本无法计算。"),
    "no_data": ("no data", "无数据"),
    "unknown": ("unknown", "未知"),
    "kpi_coverage_none": ("No orders in the data before {date}: windows before that show “no "
                          "data”.", "数据中 {date} 之前没有订单：此前的窗口显示“无数据”。"),
    "kpi_coverage_partial": ("The data start on {date}, inside the window “{window}”: its "
                             "figures cover only part of it.",
                             "数据从 {date} 开始，在“{window}”窗口之内：其数值只覆盖部分时段。"),
    "note_no_shipping": ("No order has a shipping time (shipped_at): the shipping rates are "
                         "unknown.", "没有订单记录发货时间（shipped_at）：发货相关比率未知。"),
    "note_no_design": (
        "Next-round design not estimable: the holdout's net profit per customer has no spread "
        "(e.g. no buyer in the holdout), there is no effect to plan for, or too few customers "
        "(under 30), so no holdout size can be computed.",
        "无法估计下一轮设计：对照组每位客户的净利润没有波动（例如对照组无人购买）、没有可据以"
        "规划的效应，或客户太少（不足 30 位），因此无法计算对照组规模。"),
    "note_effect_no_spread": (
        "Not estimable: a metric has the same value for every customer of both groups (e.g. no "
        "revenue in the window); its difference is shown without interval or p-value.",
        "无法估计：某指标在两组所有客户中取值相同（例如窗口内没有收入）；其差值不附置信区间和 "
        "p 值。"),
    "note_segments_too_small": (
        "Effects by segment and the heterogeneity test are left out: no segment value has at "
        "least 30 customers in every group.",
        "省略分群效应和异质性检验：没有任何分群取值在每组中至少有 30 位客户。"),
    "note_relative_zero_control": (
        "Relative effects not estimable for metrics where the holdout's mean is 0 (e.g. no "
        "buyer in the holdout): only the absolute differences are shown.",
        "对照组均值为 0 的指标（例如对照组无人购买）无法估计相对效应：仅显示绝对差值。"),
    "note_no_did": (
        "No assigned customer bought in the pre-period: the difference-in-differences "
        "cross-check is left out (it would repeat the holdout comparison).",
        "活动前期没有任何实验客户购买：省略双重差分交叉验证（它会与对照组比较完全相同）。"),
    "methods_no_history": (
        "Not adjusted for past purchases: every customer has the same value of {covariates} "
        "(no purchase history before the sale), so the metrics these would adjust use the "
        "plain comparison.",
        "未按历史购买调整：所有客户的{covariates}取值相同（活动前没有购买记录），因此相应指标使用未调整的比较。"),
    "reactivation_none": ("No customer was sleeping or lost at the sale start in the data: "
                          "there is no one to wake up or reactivate.",
                          "数据中活动开始时没有睡眠或流失客户：没有可唤醒或激活的客户。"),
    "methods_heterogeneity_plain": (
        "Whether an effect differs between segments: Wald test of arm × segment interactions "
        "(OLS with HC2 errors).",
        "效果在分群间是否不同：实验组 × 分群交互项的 Wald 检验（OLS，HC2 稳健标准误）。"),
    "heterogeneity_note_plain": (
        "Wald test of arm × segment interactions (OLS with HC2 errors).",
        "实验组 × 分群交互项的 Wald 检验（OLS，HC2 稳健标准误）。"),
    # real shops end to end (issue 16): segments an import cannot tell apart
    "tier_unknown": ("unknown", "未知"),
    "clv_note_segment_one_value": (
        "No CLV by {segment}: every assigned customer has the same value ({value}).",
        "未按{segment}列出 CLV：所有参与实验的客户取值相同（{value}）。"),
    "note_no_coupon_cost": (
        "No coupon redemption is recorded (no coupons table, no order with a coupon id): the "
        "coupons' cost is unknown, so the campaign cost, ROI and cost per incremental order "
        "are not shown. A coupons table (or the orders' coupon ids) gives them.",
        "没有记录优惠券核销（没有优惠券表，也没有带优惠券编号的订单）：优惠券成本未知，因此不显示活动成本、"
        "投资回报率和每增量订单成本。提供优惠券表（或订单的优惠券编号）即可计算。"),
    "roi_clause_no_coupon_cost": ("; the coupons' cost is not recorded, so there is no ROI",
                                  "；未记录优惠券成本，无法计算投资回报率"),
    # --- sale watch page (report.watch_page) ------------------------------------------------
    "watch_title": ("Sale watch: {name}", "活动实时监测：{name}"),
    "watch_day": ("Data through {day} (sale {start} to {end})",
                  "数据截至 {day}（活动期 {start} 至 {end}）"),
    "watch_intervals_today": ("Arms vs the holdout, cumulative since the sale start",
                              "各实验组与对照组比较（自活动开始累计）"),
    "watch_metric": ("Metric", "指标"),
    "watch_metric_converted": ("Conversion (share of customers who bought)",
                               "转化率（购买客户占比）"),
    "watch_metric_revenue": ("Net revenue per customer", "每客户净收入"),
    "watch_estimate": ("Difference vs holdout", "与对照组的差"),
    "watch_cs": ("Interval for daily looks", "可每日查看的区间"),
    "watch_critical": ("Critical value |z|", "临界值 |z|"),
    "watch_no_variation": ("none yet (no variation)", "暂无（尚无差异可计算）"),
    "watch_naive": ("Fixed-sample interval (not for daily looks)", "固定样本区间（不可每日查看）"),
    "watch_status": ("Status", "状态"),
    "watch_between": ("{lo} to {hi}", "{lo} 至 {hi}"),
    "watch_excludes_zero": ("differs from the holdout", "与对照组有差异"),
    "watch_includes_zero": ("no clear difference yet", "尚无明确差异"),
    "watch_gs_method": (
        "Group-sequential {level} intervals planned for {k} daily looks, one per sale day: the "
        "{alpha} chance of a false difference is spent over the sale by the Lan-DeMets "
        "{spending} (t = sale days elapsed / {k}; {spent} spent by {day}), and each day's "
        "critical value (on {day}: {c}) comes from the joint distribution of the daily z "
        "statistics, estimated from the customers' cumulative outcomes. Checking every day and "
        "acting on the first day an interval excludes 0 keeps that chance at {alpha}. A day's "
        "interval uses only the data up to that day. The fixed-sample Welch interval is "
        "narrower but valid only for a single look.",
        "分组序贯 {level} 区间，按 {k} 次每日查看（每个活动日一次）设计：误判差异的总概率 {alpha} 按 "
        "Lan-DeMets {spending}在活动期间分配（t = 已过活动天数 / {k}；截至 {day} 已分配 {spent}），"
        "每天的临界值（{day}：{c}）来自每日 z 统计量的联合分布，由客户的累计结果估计。每天查看并在区间首次"
        "不含 0 的那天采取行动，误判概率仍为 {alpha}。每天的区间只使用截至当天的数据。固定样本 Welch "
        "区间更窄，但只对单次查看有效。"),
    "watch_spending_pocock": ("Pocock-type spending function α·log(1 + (e − 1)·t)",
                              "Pocock 型消耗函数 α·log(1 + (e − 1)·t) "),
    "watch_spending_obrien_fleming": (
        "O'Brien-Fleming-type spending function 2 − 2Φ(z(1 − α/2) / √t)",
        "O'Brien-Fleming 型消耗函数 2 − 2Φ(z(1 − α/2) / √t) "),
    "watch_srm": ("Sample ratio check", "样本比例检查"),
    "watch_srm_ok": ("Arm sizes match the plan (chi-square p = {p}, {n} customers).",
                     "各组人数符合计划（卡方检验 p = {p}，共 {n} 位客户）。"),
    "watch_srm_mismatch": (
        "Sample ratio mismatch (chi-square p = {p}, {n} customers): assignment or tracking is "
        "broken; do not trust the comparisons.",
        "样本比例异常（卡方检验 p = {p}，共 {n} 位客户）：分组或追踪有误，请勿信任比较结果。"),
    "watch_observed_share": ("Observed share", "实际占比"),
    "watch_planned_share": ("Planned share", "计划占比"),
    "watch_kpis": ("Shop KPIs per day against the baseline", "每日店铺指标与基线对比"),
    "watch_day_col": ("Day", "日期"),
    "watch_baseline": ("Baseline (average day of {n})", "基线（{n} 天日均）"),
    "watch_kpi_note": (
        "From {lead} days before the sale start; * = a sale day. Baseline: the average day of "
        "the {n} days before these (orders and money per day; rates over the {n} days).",
        "从活动开始前 {lead} 天起；* = 活动日。基线：此前 {n} 天的日均值（订单与金额为日均；比率按 {n} 天整体计算）。"),
    "watch_kpi_paid_orders": ("Paid orders", "已付款订单"),
    "watch_kpi_gmv": ("GMV", "成交额"),
    "watch_kpi_net_revenue": ("Net revenue", "净收入"),
    "watch_kpi_aov": ("Average order value", "客单价"),
    "watch_kpi_paid_rate": ("Paid rate", "付款率"),
    "watch_kpi_refund_rate": ("Refund rate", "退款率"),
    "watch_by_day": ("Intervals day by day", "逐日区间"),
    "watch_note_not_started": ("The sale has not started: intervals begin on its first day.",
                               "活动尚未开始：区间从活动第一天开始计算。"),
    "watch_note_no_holdout": ("The holdout has fewer than 2 customers: no interval against it.",
                              "对照组少于 2 位客户：无法与之比较区间。"),
    # --- shop-wide holdout page (report.holdout_page) --------------------------------------
    "holdout_title": ("Shop-wide holdout: what all CRM work earned ({name})",
                      "全店对照组：全部 CRM 活动的收益（{name}）"),
    "holdout_period": ("Period {start} to {end}; measured to {to}. {n_h} customers held out "
                       "({share} declared), {n_e} exposed to CRM.",
                       "期间 {start} 至 {end}；数据截至 {to}。对照组 {n_h} 位客户（设定比例 "
                       "{share}），接触 CRM 的客户 {n_e} 位。"),
    "holdout_headline": ("All CRM work in the period: net profit after contact costs {total} "
                         "({lo} to {hi}), {per} per exposed customer.",
                         "本期全部 CRM 活动：扣除触达成本后的净利润 {total}（{lo} 至 {hi}），"
                         "每位接触客户 {per}。"),
    "holdout_truth_line": ("Generator's true net profit per exposed customer: {truth} ({inside}).",
                           "生成器的真实值（每位接触客户净利润）：{truth}（{inside}）。"),
    "holdout_truth_inside": ("inside the interval", "在区间内"),
    "holdout_inconclusive": (
        "The interval includes zero: this holdout cannot yet tell whether all CRM work paid "
        "off (see the holdout size below).",
        "区间包含零：该对照组尚无法判断全部 CRM 活动是否盈利（见下方对照组规模）。"),
    "holdout_truth_outside": ("outside the interval", "在区间外"),
    "holdout_effects": ("Exposed minus holdout, per customer", "接触组减对照组（每客户）"),
    "holdout_totals": ("Cumulative incremental money (per-customer effect x exposed customers)",
                       "累计增量金额（每客户效果 × 接触客户数）"),
    "holdout_total": ("Total", "合计"),
    "holdout_groups": ("The two groups in the period (means per customer)",
                       "两组在本期的情况（每客户均值）"),
    "holdout_group": ("Group", "组别"),
    "holdout_group_exposed": ("Exposed to CRM", "接触 CRM"),
    "holdout_group_holdout": ("Held out", "对照组"),
    "holdout_metric_revenue": ("Net revenue", "净收入"),
    "holdout_metric_gross_profit": ("Gross profit", "毛利"),
    "holdout_metric_net_profit": ("Net profit after contact costs", "扣除触达成本后的净利润"),
    "holdout_metric_repurchase": ("Repurchase (2+ purchases)", "复购率（2 次及以上购买）"),
    "holdout_col_contacts": ("Contacts", "触达次数"),
    "holdout_col_contact_cost": ("Contact cost", "触达成本"),
    "holdout_col_coupon_cost": ("Coupon cost (in gross profit)", "优惠券成本（已计入毛利）"),
    "holdout_method": (
        "The groups are split at random by a hash of the pseudonymous customer id, so the "
        "comparison is causal (intention to treat). Population: customers with a purchase "
        "before the period start. Money: Lin's regression adjustment on the pre-period value "
        "(HC2 errors), repurchase on the pre-period purchase count; Welch or two proportions "
        "where the adjustment cannot be fitted; relative changes with Fieller's interval. "
        "{level} intervals, each on its own (net profit is the question; the others explain "
        "it). Coupon costs are inside gross profit (margin on list price); contact costs of "
        "every campaign in the period are subtracted.",
        "两组按假名客户 ID 的哈希随机划分，因此比较是因果性的（意向处理）。总体：期初之前有购买"
        "的客户。金额指标：以期前同一指标做 Lin 回归调整（HC2 标准误），复购率以期前购买次数调整；"
        "无法拟合调整时用 Welch 或两比例检验；相对变化用 Fieller 区间。{level} 区间，各自独立"
        "（核心问题是净利润，其他指标用于解释）。优惠券成本已计入毛利（按标价计毛利率）；扣除"
        "本期所有活动的触达成本。"),
    "holdout_drift": ("Drift check: balance of the groups over time", "漂移检查：两组随时间的均衡性"),
    "holdout_drift_note": (
        "Chi-square test of the groups' shares of lifecycle states and RFM segments; flagged "
        "when p < {alpha} and a share differs by more than {smd} standard deviations. At the "
        "start this checks the split; later the CRM work itself moves the exposed group.",
        "对两组的生命周期状态与 RFM 分群占比做卡方检验；当 p < {alpha} 且某一占比相差超过 {smd} "
        "个标准差时标记。期初检验的是分组本身；之后 CRM 活动本身会改变接触组。"),
    "holdout_moment": ("Moment", "时点"),
    "holdout_kind": ("Breakdown", "维度"),
    "holdout_kind_lifecycle": ("Lifecycle state", "生命周期状态"),
    "holdout_kind_rfm": ("RFM segment", "RFM 分群"),
    "holdout_chi2": ("Chi-square p", "卡方 p 值"),
    "holdout_max_smd": ("Largest standardised difference", "最大标准化差异"),
    "holdout_balanced": ("balanced", "均衡"),
    "holdout_unbalanced": ("out of balance", "不均衡"),
    "holdout_design": ("Holdout size", "对照组规模"),
    "holdout_design_current": (
        "With {share} held out, the smallest net profit per customer this holdout detects at "
        "{power} power is {mde}.",
        "当前对照组占 {share}，以 {power} 的检验力可检测的每客户净利润最小为 {mde}。"),
    "holdout_design_recommend": (
        "To detect {target} per customer at {power} power, hold out {share} of customers.",
        "要以 {power} 的检验力检测每客户 {target}，对照组应占客户的 {share}。"),
    "holdout_design_unreachable": (
        "Even half of the customers held out would not detect {target} per customer at {power} "
        "power.",
        "即使一半客户作为对照组，也无法以 {power} 的检验力检测每客户 {target}。"),
    "holdout_design_method": (
        "Two-sample z power (statsmodels) from the observed standard deviation of net profit "
        "per customer ({sd}) and the adjustment's variance reduction ({vr}).",
        "基于每客户净利润的观测标准差（{sd}）与调整带来的方差缩减（{vr}），按双样本 z 检验计算"
        "检验力（statsmodels）。"),
    "holdout_note_partial": ("The data end on {day}: the figures cover the period up to then.",
                             "数据截至 {day}：各项数字只覆盖到该日。"),
    "holdout_note_no_contacts": (
        "No contacts table: contact costs are unknown (counted as 0) and whether the holdout "
        "was kept out of every campaign cannot be checked.",
        "没有触达表：触达成本未知（按 0 计），也无法核查对照组是否被所有活动排除。"),
    "holdout_note_contaminated": (
        "Holdout members were reached anyway: {contacted} contacted and {assigned} assigned to "
        "a campaign in the period. They stay in the holdout (intention to treat), which "
        "understates the effect; exclude them with `crm-exp lists --holdout`.",
        "部分对照组客户仍被触达：本期 {contacted} 位被触达，{assigned} 位被分入活动。他们仍计入"
        "对照组（意向处理），会低估效果；请用 `crm-exp lists --holdout` 排除。"),
    "holdout_note_too_few": ("The holdout has {n} customers with a purchase before the start: "
                             "at least 2 are needed to compare; no effect is estimated.",
                             "对照组中期初前有购买的客户只有 {n} 位：至少需要 2 位才能比较；"
                             "未估计效果。"),
    "holdout_note_no_design": ("Net profit has no spread: no holdout size can be recommended.",
                               "净利润没有波动：无法推荐对照组规模。"),
    "holdout_note_no_target": ("The observed effect on net profit is 0: declare "
                               "shop_holdout.min_detectable_profit to get a recommended share.",
                               "观测到的净利润效果为 0：请设定 shop_holdout.min_detectable_profit "
                               "以获得推荐比例。"),
    "holdout_note_unbalanced_start": (
        "The groups were out of balance at the period start: the split may not be random "
        "(ids that are not pseudonymous, or a salt reused on a selected list).",
        "期初两组即不均衡：分组可能并非随机（ID 不是假名，或盐值用于已筛选的名单）。"),
    "portal_holdouts": ("Shop-wide holdout", "全店对照组"),
}


def type_key(key: str, campaign_type: str) -> str:
    """The key of ``key``'s wording in a campaign of ``campaign_type``: ``key_<type>`` when
    the table has it, else for any type but coupon ``key_message`` (the wording without
    coupon words) when it has that, else ``key``."""
    for candidate in (f"{key}_{campaign_type}",
                      f"{key}_message" if campaign_type != "coupon" else None):
        if candidate and candidate in TEXT:
            return candidate
    return key


def tr(key: str, lang: str = "en", **fmt: object) -> str:
    """The text of ``key`` in ``lang`` (``en`` or ``zh``), formatted with ``fmt``; an unknown
    key is returned as is."""
    pair = TEXT.get(key)
    text = key if pair is None else pair[1 if lang == "zh" else 0]
    return text.format(**fmt) if fmt else text
