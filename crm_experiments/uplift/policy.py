"""Per-arm money, the next-round targeting policy, and what a policy is worth.

* :func:`arm_money`: each arm vs the control from the randomised data (the statistics layer's
  :func:`~crm_experiments.stats.table.compare_arms`, Holm over the family): incremental profit
  per customer and in total, ROI and cost per incremental order, all with intervals (for a
  generic table, ``crm-exp uplift``; not a campaign's money, see :func:`arm_money`).
* :func:`recommend`: for each customer the arm (the control, i.e. no coupon, included) with the
  highest estimated incremental profit ``effect - cost``; optionally under a budget (total
  cost) or a cap on the number of customers treated, filled greedily by gain per cost.
* :func:`policy_values`: the value of a policy per customer **relative to treating no one**,
  estimated on held-out randomised customers by inverse-propensity weighting (IPW) and doubly
  robust (AIPW) scores, with normal intervals, next to "everyone gets arm X" and "no one";
  plus the gain of the policy over the best single arm and over no one (paired intervals).

With ``Gamma_a(i) = mu_a(x_i) + 1[T_i = a] (y_i - mu_a(x_i)) / e_a - cost_a`` (``mu`` = 0
for IPW) a policy ``pi`` is worth ``mean_i Gamma_pi(i)(i) - Gamma_control(i)`` per customer.
``mu`` must come from models that never saw the held-out rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from crm_experiments.stats.result import shown_interval
from crm_experiments.stats.table import compare_arms


def arm_money(df: pd.DataFrame, *, arm: str, control: str, profit: str,
              orders: str | None = None, cost_columns: Sequence[str] = (),
              cost_per_treated: Mapping[str, float] | None = None,
              covariates: Mapping[str, str] | None = None, alpha: float = 0.05,
              source: str = "table") -> pd.DataFrame:
    """One row per treatment arm: incremental profit per customer and in total, ROI and cost
    per incremental order, with Holm-adjusted (Bonferroni-simultaneous) intervals.

    For a per-customer table that comes without a comparison of its own (``crm-exp uplift``).
    A campaign's money is computed once, by :func:`crm_experiments.analyses.economics.economics`
    (its family of effects, fixed costs included); its pages never show these figures.

    ``profit`` is the outcome in money; ``cost_per_treated[arm]`` is subtracted from it for
    every customer of the arm (use it when the outcome does not include the campaign's costs).
    The arm's cost is the sum of ``cost_columns`` over the arm plus ``cost_per_treated`` x
    customers; ROI = incremental profit / cost.
    """
    cost_per_treated = {str(k): float(v) for k, v in (cost_per_treated or {}).items()}
    used = [arm, profit, *([orders] if orders else []), *cost_columns,
            *(c for c in (covariates or {}).values() if c in df.columns)]
    work = df[list(dict.fromkeys(used))].copy()  # only the columns used, not the whole table
    labels = work[arm].astype(str)
    per = labels.map(cost_per_treated).astype("float64").fillna(0.0)
    work["_profit"] = pd.to_numeric(work[profit], errors="coerce") - per
    metrics = ["_profit"] + ([orders] if orders else [])
    covs = {}
    for m, col in (covariates or {}).items():
        key = "_profit" if m == profit else m
        if key in metrics and col in work.columns and work[col].nunique() > 1:
            covs[key] = col
    cmp = compare_arms(work, arm=arm, control=control, metrics=metrics, covariates=covs,
                       alpha=alpha, correction="holm", source=source)
    eff = {(e.arm, e.metric): e for e in cmp.effects}
    rows = []
    for a in cmp.arms:
        g = work[labels == a]
        n = len(g)
        cost = float(sum(g[c].sum() for c in cost_columns)) + cost_per_treated.get(a, 0.0) * n
        e = eff[(a, "_profit")]
        shown = shown_interval(e)  # the interval the evaluation's pages show
        lo, hi = shown.low, shown.high
        row = {"arm": a, "customers": n, "control_customers": e.n_control,
               "profit_per_customer": e.estimate, "profit_per_customer_low": lo,
               "profit_per_customer_high": hi, "p_value_adjusted": shown.p_value,
               "incremental_profit": e.estimate * n, "incremental_profit_low": lo * n,
               "incremental_profit_high": hi * n, "cost": cost,
               "roi": e.estimate * n / cost if cost else np.nan,
               "roi_low": lo * n / cost if cost else np.nan,
               "roi_high": hi * n / cost if cost else np.nan, "method": e.method}
        if orders:
            o = eff[(a, orders)]
            shown = shown_interval(o)
            inc = np.array([o.estimate, shown.low, shown.high]) * n
            row.update({"incremental_orders": inc[0], "incremental_orders_low": inc[1],
                        "incremental_orders_high": inc[2]})
            # cost per incremental order: decreasing in the number of orders, so the interval
            # swaps ends; unbounded when the orders interval reaches 0
            row["cost_per_incremental_order"] = cost / inc[0] if inc[0] > 0 else np.inf
            row["cost_per_incremental_order_low"] = cost / inc[2] if inc[2] > 0 else np.inf
            row["cost_per_incremental_order_high"] = cost / inc[1] if inc[1] > 0 else np.inf
        rows.append(row)
    return pd.DataFrame(rows)


def recommend(effects: np.ndarray, arms: Sequence[str], control: str, *,
              cost_per_treated: Mapping[str, float] | None = None,
              budget: float | None = None,
              max_treated: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(arm per customer, expected incremental profit per customer)``.

    ``effects[:, j]`` is the estimated effect of ``arms[j]`` vs the control on profit; the
    gain of an arm is ``effect - cost_per_treated[arm]``; the control's gain is 0. Without a
    constraint each customer gets the arm with the highest gain (the control when no gain is
    positive). ``budget`` caps the total ``cost_per_treated`` spent; ``max_treated`` caps the
    number (>= 1) or share (< 1) of customers treated; customers are then served greedily by
    gain per cost (by gain when costs are 0), each with their own best arm.

    >>> arm, gain = recommend(np.array([[1.0, 2.0], [-1.0, -0.5]]), ["a", "b"], "ctl")
    >>> arm.tolist(), gain.tolist()
    (['b', 'ctl'], [2.0, 0.0])
    """
    effects = np.asarray(effects, dtype=float)
    cost = np.array([float((cost_per_treated or {}).get(a, 0.0)) for a in arms])
    gain = effects - cost
    j = np.argmax(gain, axis=1)
    best = gain[np.arange(len(gain)), j]
    treat = best > 0
    n = len(gain)
    if budget is not None or max_treated is not None:
        c = cost[j]
        priority = np.where(c > 0, best / np.where(c > 0, c, 1.0), best)
        order = np.argsort(-priority, kind="mergesort")
        order = order[treat[order]]
        keep = np.ones(order.size, dtype=bool)
        if budget is not None:
            keep &= np.cumsum(c[order]) <= budget
        if max_treated is not None:
            cap = int(max_treated if max_treated >= 1 else round(max_treated * n))
            keep &= np.arange(order.size) < cap
        treat = np.zeros(n, dtype=bool)
        treat[order[keep]] = True
    arm = np.where(treat, np.asarray(arms, dtype=object)[j], control)
    return arm.astype(object), np.where(treat, best, 0.0)


def _scores(y, treatment, mu, arms_all, propensity, cost) -> np.ndarray:
    """``Gamma[:, k]`` for each arm (control first); ``mu`` None gives IPW scores."""
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment).astype(str)
    out = np.zeros((len(y), len(arms_all)))
    for k, a in enumerate(arms_all):
        m = np.zeros(len(y)) if mu is None else mu[:, k]
        out[:, k] = m + (t == a) * (y - m) / propensity[a] - cost.get(a, 0.0)
    return out


def policy_values(y, treatment, mu: np.ndarray, policy: Sequence[str], *,
                  arms: Sequence[str], control: str, propensity: Mapping[str, float],
                  cost_per_treated: Mapping[str, float] | None = None,
                  best_single: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Value per customer (vs treating no one) of the learned ``policy`` and of "everyone gets
    arm X" / "no one", by IPW and DR, with ``1 - alpha`` normal intervals; then the learned
    policy's gain over ``best_single`` (default: the single arm with the highest DR value)
    and over no one. ``mu[:, k]``: outcome predictions for ``[control, *arms]``."""
    arms_all = [control, *arms]
    cost = {a: float((cost_per_treated or {}).get(a, 0.0)) for a in arms}
    index = {a: k for k, a in enumerate(arms_all)}
    pick = np.array([index[str(p)] for p in policy])
    rows = np.arange(len(pick))
    z = stats.norm.ppf(1 - alpha / 2)
    contrasts: dict[str, dict[str, np.ndarray]] = {}
    for method, m in (("ipw", None), ("dr", mu)):
        g = _scores(y, treatment, m, arms_all, propensity, cost)
        rel = g - g[:, [0]]
        contrasts[method] = {"learned policy": rel[rows, pick], "no one": rel[:, 0],
                             **{f"everyone: {a}": rel[:, index[a]] for a in arms}}
    if best_single is None:
        best_single = max(arms, key=lambda a: contrasts["dr"][f"everyone: {a}"].mean())
    out = []
    for name in contrasts["dr"]:
        row = {"policy": name, "treated_share": (float(np.mean(pick != 0))
                                                 if name == "learned policy" else
                                                 0.0 if name == "no one" else 1.0)}
        for method, c in contrasts.items():
            v = c[name]
            se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
            row.update({f"value_{method}": v.mean(), f"value_{method}_low": v.mean() - z * se,
                        f"value_{method}_high": v.mean() + z * se})
        out.append(row)
    for other in (f"everyone: {best_single}", "no one"):
        row = {"policy": f"gain over {other}", "treated_share": np.nan}
        for method, c in contrasts.items():
            d = c["learned policy"] - c[other]
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan
            row.update({f"value_{method}": d.mean(), f"value_{method}_low": d.mean() - z * se,
                        f"value_{method}_high": d.mean() + z * se})
        out.append(row)
    return pd.DataFrame(out)
