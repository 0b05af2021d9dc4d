"""The money of a campaign, computed once: per treatment arm its costs, incremental revenue,
orders and profit with intervals, ROI and cost per incremental order.

Every page (report, portal, uplift page, plan) and MLflow show the values of
:func:`economics`; nothing else computes them.
"""

from __future__ import annotations

import pandas as pd

from crm_experiments.params import CampaignParams
from crm_experiments.stats.table import ComparisonResult


def economics(customers: pd.DataFrame, comparison: ComparisonResult,
              params: CampaignParams) -> pd.DataFrame:
    """Per treatment arm: costs, incremental revenue/orders/profit (totals over the arm) with
    intervals, ROI with interval, cost per incremental order.

    Incremental profit = (effect on net profit per customer) x customers in the arm - the arm's
    share of fixed costs. ROI = incremental profit / (coupon cost + message cost + fixed share).
    Costs are observed totals, treated as known; the interval comes from the effect's
    (adjusted) interval, scaled by the arm size. An arm without any recorded cost
    (``cost_recorded`` False: total cost 0) has no ROI and no cost per incremental order (NaN),
    not an infinite ROI or a cost of 0.
    """
    effects = {(e.arm, e.metric): e for e in comparison.effects}
    treated_n = customers[customers["arm"] != params.control_arm].groupby("arm").size()
    rows = {}
    for arm in params.treatment_arms:
        g = customers[customers["arm"] == arm]
        n = len(g)
        fixed = params.costs.fixed_cost * (n / treated_n.sum() if treated_n.sum() else 0.0)
        coupon_cost, message_cost = g["coupon_cost"].sum(), g["message_cost"].sum()
        total_cost = coupon_cost + message_cost + fixed
        profit = effects.get((arm, "net_profit"))
        revenue = effects.get((arm, "revenue"))
        orders = effects.get((arm, "orders"))
        inc = _scaled(profit, n, -fixed)
        inc_orders = orders.estimate * n if orders is not None else float("nan")
        rows[arm] = {
            "label": params.arm(arm).label or arm,
            "customers": n,
            "coupon_cost": coupon_cost,
            "message_cost": message_cost,
            "fixed_cost": fixed,
            "total_cost": total_cost,
            "incremental_revenue": _scaled(revenue, n)[0],
            "incremental_revenue_low": _scaled(revenue, n)[1],
            "incremental_revenue_high": _scaled(revenue, n)[2],
            "incremental_orders": inc_orders,
            "incremental_profit": inc[0],
            "incremental_profit_low": inc[1],
            "incremental_profit_high": inc[2],
            "roi": inc[0] / total_cost if total_cost else float("nan"),
            "roi_low": inc[1] / total_cost if total_cost else float("nan"),
            "roi_high": inc[2] / total_cost if total_cost else float("nan"),
            "cost_per_incremental_order": (total_cost / inc_orders
                                           if total_cost and inc_orders and inc_orders > 0
                                           else float("nan")),
            "cost_recorded": bool(total_cost > 0),
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
