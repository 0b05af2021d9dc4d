"""The money of a campaign, computed once: per treatment arm its costs, incremental revenue,
orders and profit with intervals, ROI and cost per incremental order.

Every page (report, portal, uplift page, plan) and MLflow show the values of
:func:`economics`; nothing else computes them.

The cost lines follow the campaign's type (:data:`COST_LINES`): a coupon campaign's redeemed
face value, a shop discount's discounts recorded on the arm's orders, a member day's benefit
cost per buying member, the contact costs of messages and payment reminders; each with the
arm's share of the fixed cost. A line whose source the shop does not record (no contacts
table, no discount on any order, no ``benefit_cost`` for the arm) is flagged
``<line>_recorded`` False, counts 0 and leaves the arm's ROI undefined when it is the type's
main cost (the first of its lines).
"""

from __future__ import annotations

import pandas as pd

from crm_experiments.params import CampaignParams
from crm_experiments.stats.table import ComparisonResult

#: Per campaign type, its cost lines besides the fixed cost (columns of the per-customer
#: table), the main one first. A coupon campaign keeps the table it always had (no flags;
#: ``coupon_cost_recorded`` False only when the data record no coupon redemption).
COST_LINES = {
    "coupon": ("coupon_cost", "message_cost"),
    "message": ("message_cost",),
    "shop_discount": ("discount_cost", "message_cost"),
    "payment_reminder": ("message_cost",),
    "member_day": ("benefit_cost", "discount_cost", "message_cost"),
}


def economics(customers: pd.DataFrame, comparison: ComparisonResult,
              params: CampaignParams, *,
              recorded: dict[str, bool] | None = None) -> pd.DataFrame:
    """Per treatment arm: costs, incremental revenue/orders/profit (totals over the arm) with
    intervals, ROI with interval, cost per incremental order.

    Incremental profit = (effect on net profit per customer) x customers in the arm - the arm's
    share of fixed costs. ROI = incremental profit / total cost (coupons, the type's cost
    lines, messages, fixed share).
    Costs are observed totals, treated as known; the interval comes from the effect's
    (adjusted) interval, scaled by the arm size. An arm without any recorded cost
    (``cost_recorded`` False: total cost 0, or the type's main cost line not recorded) has no
    ROI and no cost per incremental order (NaN), not an infinite ROI or a cost of 0.

    ``recorded``: per cost line (``coupon_cost``, ``message_cost``, ``discount_cost``) whether
    the shop's data record it (default: all); ``benefit_cost`` is recorded for an arm with a
    ``benefit_cost``. Types other than coupon get a ``<line>_recorded`` column per line of
    :data:`COST_LINES`, a coupon campaign whose coupon cost is not recorded
    ``coupon_cost_recorded`` (False);
    shop discounts and member days a ``discount_cost`` column (total = coupons + the type's
    lines + messages + fixed share), member days a ``benefit_cost`` column.
    """
    kind = params.type
    lines = COST_LINES[kind]
    recorded = recorded or {}
    effects = {(e.arm, e.metric): e for e in comparison.effects}
    treated_n = customers[customers["arm"] != params.control_arm].groupby("arm").size()
    rows = {}
    for arm in params.treatment_arms:
        g = customers[customers["arm"] == arm]
        n = len(g)
        fixed = params.costs.fixed_cost * (n / treated_n.sum() if treated_n.sum() else 0.0)
        coupon_cost, message_cost = g["coupon_cost"].sum(), g["message_cost"].sum()
        extra = {line: float(g[line].sum()) for line in ("discount_cost", "benefit_cost")
                 if line in lines and line in g}
        flags = {line: (params.arm(arm).benefit_cost is not None if line == "benefit_cost"
                        else bool(recorded.get(line, True))) for line in lines}
        total_cost = coupon_cost + message_cost + sum(extra.values()) + fixed
        main_recorded = flags[lines[0]]
        profit = effects.get((arm, "net_profit"))
        revenue = effects.get((arm, "revenue"))
        orders = effects.get((arm, "orders"))
        inc = _scaled(profit, n, -fixed)
        inc_orders = orders.estimate * n if orders is not None else float("nan")
        costed = bool(total_cost > 0 and main_recorded)
        rows[arm] = {
            "label": params.arm(arm).label or arm,
            "customers": n,
            "coupon_cost": coupon_cost,
            "message_cost": message_cost,
            **extra,
            "fixed_cost": fixed,
            "total_cost": total_cost,
            "incremental_revenue": _scaled(revenue, n)[0],
            "incremental_revenue_low": _scaled(revenue, n)[1],
            "incremental_revenue_high": _scaled(revenue, n)[2],
            "incremental_orders": inc_orders,
            "incremental_profit": inc[0],
            "incremental_profit_low": inc[1],
            "incremental_profit_high": inc[2],
            "roi": inc[0] / total_cost if costed else float("nan"),
            "roi_low": inc[1] / total_cost if costed else float("nan"),
            "roi_high": inc[2] / total_cost if costed else float("nan"),
            "cost_per_incremental_order": (total_cost / inc_orders
                                           if costed and inc_orders and inc_orders > 0
                                           else float("nan")),
            "cost_recorded": costed,
            **({f"{line}_recorded": flag for line, flag in flags.items()}
               if kind != "coupon" else {} if main_recorded else {"coupon_cost_recorded": False}),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "arm"
    return frame


def _scaled(effect, n: int, shift: float = 0.0) -> tuple[float, float, float]:
    if effect is None:
        return (float("nan"),) * 3
    lo = getattr(effect, "ci_low_adjusted", None)
    hi = getattr(effect, "ci_high_adjusted", None)
    lo = effect.ci_low if lo is None or pd.isna(lo) else lo
    hi = effect.ci_high if hi is None or pd.isna(hi) else hi
    return effect.estimate * n + shift, lo * n + shift, hi * n + shift
