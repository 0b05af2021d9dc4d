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

Besides the interval, each arm gets two figures a manager can act on
(:func:`profit_posterior`, documented there): ``prob_beats_holdout``, the probability that the
arm's incremental profit is above 0, and ``expected_loss``, the money expected to be lost by
rolling it out, E[max(0, -profit)], over the whole arm. They come from a normal model with a
weak prior and the *unadjusted* standard error: they speak of this arm alone, while the
verdict's interval is adjusted for the family of comparisons (Holm), so the two can disagree;
:func:`disagreement` names when and the report says why.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy.stats import norm

from crm_experiments.params import CampaignParams
from crm_experiments.stats.result import shown_interval
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
    holdout_sd = (float(customers.loc[customers["arm"] == params.control_arm,
                                      "net_profit"].std(ddof=1))
                  if "net_profit" in customers else math.nan)
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
        prob, loss = profit_posterior(profit, n, fixed, holdout_sd)
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
            "prob_beats_holdout": prob,
            "expected_loss": loss,
            **({f"{line}_recorded": flag for line, flag in flags.items()}
               if kind != "coupon" else {} if main_recorded else {"coupon_cost_recorded": False}),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "arm"
    return frame


def _scaled(effect, n: int, shift: float = 0.0) -> tuple[float, float, float]:
    if effect is None:
        return (float("nan"),) * 3
    shown = shown_interval(effect)
    lo, hi = shown.low, shown.high
    return effect.estimate * n + shift, lo * n + shift, hi * n + shift


#: The prior's scale in standard deviations of the holdout's net profit per customer.
PRIOR_SD_UNITS = 1.0
#: Fallback prior scale in standard errors of the effect, when the holdout has no spread.
PRIOR_SE_UNITS = 10.0


def profit_posterior(effect, n: int, fixed: float = 0.0,
                     holdout_sd: float = math.nan) -> tuple[float, float]:
    """``(P(profit > 0), E[max(0, -profit)])`` of an arm's incremental profit, whole arm.

    Model: the per-customer effect on net profit ``d`` has the prior N(0, tau^2); the
    unadjusted estimate is ``d_hat ~ N(d, se^2)`` (``effect.estimate``, ``effect.se``). The
    posterior is N(w d_hat, w se^2) with ``w = tau^2 / (tau^2 + se^2)``, and the arm's
    profit ``n d - fixed`` is normal with mean ``m = n w d_hat - fixed`` and sd
    ``s = n sqrt(w) se``; then P = Phi(m / s) and the expected loss of rolling out is
    ``s phi(m/s) - m Phi(-m/s)`` (currency).

    The prior is weak: centred on no effect, with ``tau`` = one standard deviation of the
    holdout's net profit per customer (:data:`PRIOR_SD_UNITS`), i.e. a campaign moving every
    customer's profit by a whole sd of it is still plausible. With 200 customers in each
    group ``se^2 ~ 2 sd^2 / 200`` and ``w`` > 0.99: the data decide; only very small arms are
    pulled towards 0. Without a usable holdout sd, ``tau`` = 10 se (:data:`PRIOR_SE_UNITS`).
    The se is the unadjusted one on purpose: the probability is a statement about this arm;
    the Holm adjustment is a frequentist guarantee over the family, which has no place in one
    arm's posterior. NaN, NaN when the effect or its se is missing.
    """
    se = getattr(effect, "se", math.nan) if effect is not None else math.nan
    if effect is None or not (se is not None and math.isfinite(se) and se > 0) \
            or not math.isfinite(effect.estimate):
        return math.nan, math.nan
    tau = (PRIOR_SD_UNITS * holdout_sd if math.isfinite(holdout_sd) and holdout_sd > 0
           else PRIOR_SE_UNITS * se)
    w = tau ** 2 / (tau ** 2 + se ** 2)
    m = n * w * effect.estimate - fixed
    s = n * math.sqrt(w) * se
    if s <= 0:
        return math.nan, math.nan
    z = m / s
    return float(norm.cdf(z)), float(s * norm.pdf(z) - m * norm.cdf(-z))


def disagreement(decision: str, prob: float, alpha: float = 0.05) -> str | None:
    """Why the probability and the arm's decision seem to disagree, or None.

    ``"adjusted"``: the decision is ``test_again`` although P >= 1 - alpha or P <= alpha (the
    verdict's interval is two-sided and adjusted for the family; the probability is this arm
    alone). ``"prior"``: ``roll_out`` with P < 1 - alpha or ``stop`` with P > alpha (the weak
    prior pulls a small arm towards no effect; the interval has no prior). ``withheld`` and a
    missing probability: None (nothing is claimed).
    """
    if prob is None or not math.isfinite(prob):
        return None
    if decision == "test_again" and (prob >= 1 - alpha or prob <= alpha):
        return "adjusted"
    if (decision == "roll_out" and prob < 1 - alpha) or (decision == "stop" and prob > alpha):
        return "prior"
    return None
