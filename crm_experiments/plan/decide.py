"""Compare past campaigns, pool each kind of treatment, and decide the next round.

Kind of treatment = (coupon face value, threshold) of an arm, read from the run's params
(``arms.<name>.coupon_face_value`` / ``coupon_threshold``); arms of the same kind in different
campaigns are pooled with :func:`crm_experiments.plan.meta.pool` on the effect on net profit
per customer (the primary metric).

Decisions
    * arm kinds: **keep** when the pooled interval lies above 0 and the pooled ROI is positive;
      **drop** when the interval (or the ROI interval) lies below 0; otherwise **test** again.
      The best kept kind (else the best still-tested kind) is the *primary* arm.
    * lifecycle states follow the contact policy (domain.md section 2: active keep contact with
      little discounting, silent light incentives, sleeping win back with big discounts, lost
      suppressed outside big sales) unless the pooled effect of the primary arm in that state
      says otherwise at a Bonferroni-corrected level over the states (then the reason says so).
    * holdout share: :func:`crm_experiments.stats.design.recommend_holdout_share` for the
      primary arm against the holdout, with the pooled effect, the past control sd of net
      profit and the variance reduction the past runs achieved.
    * expected incremental profit: per targeted state and arm, customers x share x pooled
      effect, with a prediction interval (pooled se² + tau² per state), minus the fixed cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from crm_experiments.plan.gather import PastCampaign, PlanError
from crm_experiments.plan.meta import Pooled, pool
from crm_experiments.stats.design import Design, recommend_holdout_share

METRIC = "net_profit"
ACTIVE = ("new_one", "new_repeat", "old_one", "old_repeat")
STATES = (*ACTIVE, "silent", "sleeping", "lost")
POLICY = {  # state: (default action, preferred coupon depth, policy text)
    **{s: ("target", "light", "active: keep contact frequency, little discounting")
       for s in ACTIVE},
    "silent": ("target", "light", "silent: keep contact, light incentives"),
    "sleeping": ("target", "deep", "sleeping: limited contact, win back with big discounts"),
    "lost": ("suppress", "deep", "lost: suppress contact, use only around big sales"),
}
SECONDARY_SHARE = 0.10  # share of the audience for each arm that is tested again


def kind_name(face: float, threshold: float) -> str:
    if face <= 0:
        return "message_only"
    return f"coupon_{threshold:g}_{face:g}"


@dataclass
class Plan:
    next_id: str
    campaigns: list[str]
    arm_table: pd.DataFrame          # per campaign x arm
    kinds: pd.DataFrame              # per kind: pooled effect, ROI, decision, reason
    states: pd.DataFrame             # per state: pooled effects, action, arm, reason
    state_kind: pd.DataFrame         # per state x kind pooled effect
    primary: str | None
    arms: list[dict]                 # next round's arms (name, share, face, threshold, label)
    design: Design | None
    n_audience: int
    expected_profit: dict
    reasons: list[str] = field(default_factory=list)
    alpha: float = 0.05


def arm_table(past: list[PastCampaign]) -> pd.DataFrame:
    """One row per campaign x treated arm: kind, effect on net profit, ROI, costs."""
    rows = []
    for p in past:
        eff = p.tables["effects"]
        econ = p.tables["economics"].set_index("arm")
        design = p.tables.get("design")
        control_sd = (float(design["sd"].iloc[0]) if design is not None and not design.empty
                      and "sd" in design else math.nan)
        for e in eff[eff["metric"] == METRIC].itertuples():
            face, threshold = p.arm_kind(e.arm)
            ec = econ.loc[e.arm] if e.arm in econ.index else None
            customers = float(ec["customers"]) if ec is not None else float(e.n_arm)
            var_cost = (float(ec["coupon_cost"] + ec["message_cost"]) if ec is not None
                        else math.nan)
            rows.append({
                "campaign_id": p.campaign_id, "horizon_days": p.horizon_days, "arm": e.arm,
                "kind": kind_name(face, threshold), "coupon_face_value": face,
                "coupon_threshold": threshold, "customers": customers,
                "n_control": float(e.n_control), "control_sd": control_sd,
                "effect": float(e.estimate), "se": float(e.se),
                "ci_low": float(e.ci_low), "ci_high": float(e.ci_high),
                "variance_reduction": float(e.variance_reduction)
                if pd.notna(e.variance_reduction) else math.nan,
                "variable_cost_per_customer": var_cost / customers if customers else math.nan,
                "roi": float(ec["roi"]) if ec is not None else math.nan,
                "roi_low": float(ec["roi_low"]) if ec is not None else math.nan,
                "roi_high": float(ec["roi_high"]) if ec is not None else math.nan,
                "cost_per_incremental_order": float(ec["cost_per_incremental_order"])
                if ec is not None else math.nan,
                "incremental_profit": float(ec["incremental_profit"])
                if ec is not None else math.nan,
            })
    return pd.DataFrame(rows)


def pool_kinds(arms: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Per kind: pooled effect per customer (random effects), pooled ROI on variable costs
    (coupon + messages; fixed costs are a campaign's, not an arm's), decision and reason."""
    rows = []
    for kind, g in arms.groupby("kind", sort=False):
        pld = pool(g["effect"], g["se"], alpha)
        cost = float(np.average(g["variable_cost_per_customer"], weights=g["customers"]))
        roi = [x / cost if cost > 0 else math.nan for x in (pld.estimate, pld.ci_low,
                                                            pld.ci_high)]
        inc_orders_cost = g["cost_per_incremental_order"].replace([np.inf, -np.inf], np.nan)
        row = {"kind": kind, "coupon_face_value": g["coupon_face_value"].iloc[0],
               "coupon_threshold": g["coupon_threshold"].iloc[0],
               "campaigns": ",".join(g["campaign_id"]), **pld.as_dict(),
               "prediction_se": pld.prediction_se,
               "variable_cost_per_customer": cost, "roi": roi[0], "roi_low": roi[1],
               "roi_high": roi[2],
               "cost_per_incremental_order": float(inc_orders_cost.median())
               if inc_orders_cost.notna().any() else math.nan}
        if pld.k == 0:
            decision, why = "test", "no usable estimate"
        elif pld.ci_low > 0 and roi[0] > 0:
            decision, why = "keep", (f"pooled effect {pld.estimate:+.2f} per customer, "
                                     f"interval [{pld.ci_low:.2f}, {pld.ci_high:.2f}] above 0; "
                                     f"ROI {roi[0]:.2f}")
        elif pld.ci_high < 0 or (not math.isnan(roi[2]) and roi[2] < 0):
            decision, why = "drop", (f"pooled effect {pld.estimate:+.2f} per customer, "
                                     f"interval [{pld.ci_low:.2f}, {pld.ci_high:.2f}] below 0: "
                                     "loses money")
        else:
            decision, why = "test", (f"inconclusive: pooled effect {pld.estimate:+.2f}, "
                                     f"interval [{pld.ci_low:.2f}, {pld.ci_high:.2f}] "
                                     "contains 0")
        if pld.k == 1:
            why += " (one campaign only)"
        row.update(decision=decision, reason=why)
        rows.append(row)
    return pd.DataFrame(rows)


def pool_states(past: list[PastCampaign], alpha: float) -> pd.DataFrame:
    """Per lifecycle state x kind: pooled effect on net profit per customer."""
    rows = []
    for p in past:
        seg = p.tables.get("segment_effects")
        if seg is None or seg.empty or "segment" not in seg:
            continue
        seg = seg[(seg["segment"] == "lifecycle_state") & (seg["metric"] == METRIC)]
        for e in seg.itertuples():
            face, threshold = p.arm_kind(e.arm)
            rows.append({"campaign_id": p.campaign_id, "state": str(e.segment_value),
                         "kind": kind_name(face, threshold), "effect": float(e.estimate),
                         "se": float(e.se), "n_arm": float(e.n_arm),
                         "n_control": float(e.n_control)})
    per = pd.DataFrame(rows, columns=["campaign_id", "state", "kind", "effect", "se", "n_arm",
                                      "n_control"])
    out = []
    for (state, kind), g in per.groupby(["state", "kind"], sort=False):
        out.append({"state": state, "kind": kind, **pool(g["effect"], g["se"], alpha).as_dict()})
    pooled = pd.DataFrame(out)
    if not pooled.empty:
        pooled["prediction_se"] = np.sqrt(pooled["se"] ** 2 + pooled["tau2"].fillna(0.0))
    return pooled


def _state_sizes(latest: PastCampaign) -> dict[str, float]:
    """Customers per lifecycle state in the latest campaign (all arms and the control)."""
    seg = latest.tables.get("segment_effects")
    if seg is None or seg.empty or "segment" not in seg:
        return {}
    seg = seg[(seg["segment"] == "lifecycle_state") & (seg["metric"] == METRIC)]
    out = {}
    for state, g in seg.groupby("segment_value"):
        out[str(state)] = float(g["n_arm"].sum() + g["n_control"].iloc[0])
    return out


def _pooled(state_kind: pd.DataFrame, state: str, kind: str) -> Pooled | None:
    if state_kind.empty:
        return None
    m = state_kind[(state_kind["state"] == state) & (state_kind["kind"] == kind)]
    if m.empty:
        return None
    r = m.iloc[0]
    return Pooled(*(r[c] for c in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2")),
                  int(r["k"]), r["method"])


def decide_states(state_kind: pd.DataFrame, kinds: pd.DataFrame, primary: str | None,
                  candidates: list[str], alpha: float, sizes: dict[str, float]) -> pd.DataFrame:
    """Per lifecycle state: target or suppress, which arm kind, and why."""
    z = float(norm.ppf(1 - alpha / (2 * len(STATES))))  # Bonferroni over the states
    by_face = kinds.set_index("kind")["coupon_face_value"].to_dict()
    light = min(candidates, key=lambda k: by_face[k]) if candidates else None
    deep = max(candidates, key=lambda k: by_face[k]) if candidates else None
    rows = []
    for state in STATES:
        action, depth, policy = POLICY[state]
        arm = light if depth == "light" else deep
        reason = f"policy ({policy})"
        p = _pooled(state_kind, state, primary) if primary else None
        lo = hi = math.nan
        if p is not None and p.k > 0:
            lo, hi = p.estimate - z * p.se, p.estimate + z * p.se
            if action == "target" and hi < 0:
                action = "suppress"
                reason = (f"evidence overrides the policy ({policy}): the primary arm loses "
                          f"{p.estimate:+.2f} per customer here, corrected interval "
                          f"[{lo:.2f}, {hi:.2f}] below 0")
            elif action == "suppress" and lo > 0:
                action, arm = "target", primary
                reason = (f"evidence overrides the policy ({policy}): the primary arm earns "
                          f"{p.estimate:+.2f} per customer here, corrected interval "
                          f"[{lo:.2f}, {hi:.2f}] above 0")
            elif action == "target" and arm != primary and lo > 0:
                q = _pooled(state_kind, state, arm) if arm else None
                q_lo = q.estimate - z * q.se if q is not None and q.k else math.nan
                if not q_lo > 0:
                    reason = (f"policy ({policy}), but evidence says the {primary} arm pays "
                              f"here ({p.estimate:+.2f} per customer, corrected interval "
                              f"[{lo:.2f}, {hi:.2f}]) while {arm} is not shown to: use "
                              f"{primary}")
                    arm = primary
        if action == "suppress":
            arm = None
        rows.append({"state": state, "action": action, "arm_kind": arm,
                     "primary_effect": p.estimate if p is not None else math.nan,
                     "primary_ci_low_corrected": lo, "primary_ci_high_corrected": hi,
                     "customers_latest": sizes.get(state, 0.0), "reason": reason})
    return pd.DataFrame(rows)


def build_plan(past: list[PastCampaign], next_id: str, *, budget: float | None = None,
               fixed_cost: float = 0.0, alpha: float = 0.05, power: float = 0.8) -> Plan:
    """The next round from the past campaigns (oldest sale first; the last is the latest)."""
    if not past:
        raise PlanError("no past campaign to learn from")
    arms = arm_table(past)
    if arms.empty:
        raise PlanError("the past evaluations hold no net-profit effects")
    kinds = pool_kinds(arms, alpha)
    reasons: list[str] = []
    keep = kinds[kinds["decision"] == "keep"].sort_values("estimate", ascending=False)
    test = kinds[kinds["decision"] == "test"].sort_values("estimate", ascending=False)
    if not keep.empty:
        primary = str(keep["kind"].iloc[0])
    elif not test.empty:
        primary = str(test["kind"].iloc[0])
        reasons.append("No arm is proven profitable yet: the best inconclusive arm leads the "
                       "next round so that it can be settled.")
    else:
        primary = None
        reasons.append("Every arm tried loses money: no coupon arm is planned; only a "
                       "message-only arm is kept against the holdout.")
    candidates = [k for k in kinds["kind"] if k in set(keep["kind"]) | set(test["kind"])]
    latest = past[-1]
    sizes = _state_sizes(latest)
    state_kind = pool_states(past, alpha)
    states = decide_states(state_kind, kinds, primary, candidates, alpha, sizes)

    n_latest = int(latest.summary.get("n_assigned") or
                   (arms[arms["campaign_id"] == latest.campaign_id]["customers"].sum()
                    + arms[arms["campaign_id"] == latest.campaign_id]["n_control"].iloc[0]))
    targeted = states[states["action"] == "target"]
    if sizes:
        audience = int(round(sum(sizes.get(s, 0.0) for s in targeted["state"])
                             / max(sum(sizes.values()), 1.0) * n_latest))
    else:
        audience = n_latest
    secondaries = [k for k in candidates if k != primary]
    design, shares = _design(arms, kinds, primary, secondaries, audience, alpha, power, budget,
                             fixed_cost, reasons)
    if design is not None and design.n_total < audience:
        audience = int(round(design.n_total / (1 - SECONDARY_SHARE * len(secondaries))))
    next_arms = _next_arms(kinds, shares)
    profit = _expected_profit(next_arms, states, state_kind, kinds, audience, sizes,
                              fixed_cost, alpha)
    return Plan(next_id=next_id, campaigns=[p.campaign_id for p in past], arm_table=arms,
                kinds=kinds, states=states, state_kind=state_kind, primary=primary,
                arms=next_arms, design=design, n_audience=audience, expected_profit=profit,
                reasons=reasons, alpha=alpha)


def _design(arms, kinds, primary, secondaries, audience, alpha, power, budget, fixed_cost,
            reasons) -> tuple[Design | None, dict[str, float]]:
    """Holdout share for the primary arm; shares of every arm of the next round."""
    if primary is None:
        return None, {"control": 0.5, "message_only": 0.5}
    k = kinds.set_index("kind").loc[primary]
    g = arms[arms["kind"] == primary]
    # past control sd of net profit per customer, from the runs' design tables
    known = g[g["control_sd"].notna()]
    sd = (float(np.sqrt(np.average(known["control_sd"] ** 2, weights=known["n_control"])))
          if not known.empty else math.nan)
    vr = float(np.clip(np.nanmedian(g["variance_reduction"]) if g["variance_reduction"].notna()
                       .any() else 0.0, 0.0, 0.95))
    if not np.isfinite(sd):
        # se² ≈ sd_eff² (1/n_arm + 1/n_control) → sd = se / sqrt(1 - vr) / sqrt(...)
        sds = g["se"] / np.sqrt(1 / g["customers"] + 1 / g["n_control"]) / math.sqrt(1 - vr)
        sd = float(np.sqrt(np.average(sds ** 2, weights=g["customers"])))
    effect = float(k["estimate"])
    if not effect > 0:
        effect = float(k["ci_high"]) if k["ci_high"] > 0 else 0.1 * sd
        reasons.append(f"The pooled effect of {primary} is not positive; the holdout is sized "
                       f"to detect {effect:.2f} per customer (the top of its interval).")
    n_primary = int(round(audience * (1 - SECONDARY_SHARE * len(secondaries))))
    d = recommend_holdout_share(n_primary, effect, sd, alpha=alpha, power=power,
                                variance_reduction=vr)
    cost = float(k["variable_cost_per_customer"])
    by_kind = kinds.set_index("kind")["variable_cost_per_customer"]
    sec_cost = float(sum(by_kind[s] for s in secondaries)) * SECONDARY_SHARE * audience
    if budget is not None and cost > 0:
        spend = cost * d.n_treated + sec_cost + fixed_cost
        if spend > budget:
            scale = max((budget - fixed_cost) / (spend - fixed_cost), 0.0)
            n_new = int(n_primary * scale)
            if n_new < 20:
                raise PlanError(f"budget {budget:g} does not cover even a minimal round "
                                f"(cost {cost:.2f} per treated customer, fixed {fixed_cost:g})")
            reasons.append(f"Budget {budget:,.0f}: the round is cut to {scale:.0%} of the "
                           f"audience (expected cost {spend:,.0f} at full size).")
            d = recommend_holdout_share(n_new, effect, sd, alpha=alpha, power=power,
                                        variance_reduction=vr)
            n_primary = n_new
    h = d.holdout_share
    rest = 1 - SECONDARY_SHARE * len(secondaries)
    shares = {"control": h * rest, primary: (1 - h) * rest}
    shares.update({s: SECONDARY_SHARE for s in secondaries})
    return d, shares


def _next_arms(kinds: pd.DataFrame, shares: dict[str, float]) -> list[dict]:
    by = kinds.set_index("kind")
    out = []
    raw = {k: round(v, 4) for k, v in shares.items()}
    # make the rounded shares sum to exactly 1: the primary (largest) takes the remainder
    biggest = max((k for k in raw if k != "control"), key=lambda k: raw[k])
    raw[biggest] = round(1 - sum(v for k, v in raw.items() if k != biggest), 4)
    for name, share in raw.items():
        if name == "control":
            out.append({"name": "control", "planned_share": share,
                        "label": "Holdout (no coupon, no message)"})
        elif name == "message_only" and name not in by.index:
            out.append({"name": name, "planned_share": share, "label": "Message only"})
        else:
            face = float(by.loc[name, "coupon_face_value"])
            thr = float(by.loc[name, "coupon_threshold"])
            label = f"{face:g} off {thr:g}" if face > 0 else "Message only"
            out.append({"name": name, "planned_share": share, "coupon_face_value": face,
                        "coupon_threshold": thr, "label": label,
                        "decision": str(by.loc[name, "decision"])})
    return out


def _expected_profit(next_arms, states, state_kind, kinds, audience, sizes, fixed_cost,
                     alpha) -> dict:
    """Sum over targeted states and treated arms of customers x share x pooled effect (state
    level, else the arm's overall pooled effect); prediction variance se² + tau²."""
    z = float(norm.ppf(1 - alpha / 2))
    by = kinds.set_index("kind")
    targeted = states[states["action"] == "target"]["state"].tolist()
    total_size = sum(sizes.get(s, 0.0) for s in targeted)
    mean = var = 0.0
    parts = []
    for arm in next_arms:
        if arm["name"] == "control" or arm["name"] not in by.index:
            continue
        for state in targeted:
            n = audience * arm["planned_share"] * (sizes.get(state, 0.0) / total_size
                                                   if total_size else 1 / len(targeted))
            p = _pooled(state_kind, state, arm["name"])
            if p is None or p.k == 0:
                est, pse = float(by.loc[arm["name"], "estimate"]), \
                    float(by.loc[arm["name"], "prediction_se"])
            else:
                est, pse = p.estimate, p.prediction_se
            mean += n * est
            var += (n * pse) ** 2
            parts.append({"arm": arm["name"], "state": state, "customers": n,
                          "effect": est, "prediction_se": pse})
    mean -= fixed_cost
    sd = math.sqrt(var)
    return {"estimate": mean, "low": mean - z * sd, "high": mean + z * sd, "se": sd,
            "fixed_cost": fixed_cost, "parts": parts,
            "note": "customers x share x pooled effect per targeted lifecycle state; the "
                    "interval is a prediction interval for a new campaign (pooled se² + tau²)"}
