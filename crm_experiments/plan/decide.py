"""Compare past campaigns, pool each kind of treatment, and decide the next round.

Kind of treatment = (coupon face value, threshold) of an arm, read from the run's params
(``arms.<name>.coupon_face_value`` / ``coupon_threshold``); arms of the same kind in different
campaigns are pooled with :func:`crm_experiments.plan.meta.pool` on the effect on net profit
per customer (the primary metric), taken with its standard error from each evaluation's
effects table. Each past arm's money (incremental profit, ROI, cost per incremental order) is
its evaluation's economics row, copied, never recomputed.

Decisions
    * arm kinds: **keep** when the pooled interval lies above 0 (net profit is after coupon and
      message costs, so the ROI on those costs is then positive too); **drop** when it lies
      below 0; otherwise **test** again. The best kept kind (else the best still-tested kind)
      is the *primary* arm.
    * lifecycle states follow the contact policy (domain.md section 2: active keep contact with
      little discounting, silent light incentives, sleeping win back with big discounts, lost
      suppressed outside big sales) unless the pooled effect of the primary arm in that state
      says otherwise at a Bonferroni-corrected level over the states (then the reason says so).
    * holdout: the computation of the evaluation's next-round design
      (:func:`crm_experiments.analyses.campaign.next_round_design`):
      :func:`~crm_experiments.stats.design.recommend_holdout_share` over every customer of the
      round, for the primary arm's effect, the holdout's sd of net profit and the variance
      reduction achieved, at 80% power. A round like the latest one (same customers, one
      campaign, its best arm primary) gets the evaluation's numbers exactly; where the plan's
      inputs differ, :attr:`Plan.holdout_notes` says which and why. The control arm's share is
      the recommended holdout share.
    * expected incremental profit: per targeted state and arm, customers x share x pooled
      effect, with a prediction interval (pooled se² + tau² per state), minus the fixed cost.

Reasons are stored as ``{"key": TEXT key, "args": {...}}`` and written in a language by
:func:`crm_experiments.report.plan_page.reason_text`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.stats import norm

from crm_experiments.analyses.result import ResultMixin, jsonable
from crm_experiments.plan.gather import PastCampaign, PlanError
from crm_experiments.plan.meta import METHOD, Pooled, pool
from crm_experiments.stats.design import Design, power_at, recommend_holdout_share

METRIC = "net_profit"
ACTIVE = ("new_one", "new_repeat", "old_one", "old_repeat")
STATES = (*ACTIVE, "silent", "sleeping", "lost")
POLICY = {  # state: (default action, preferred coupon depth, TEXT key of the policy)
    **{s: ("target", "light", "plan_policy_active") for s in ACTIVE},
    "silent": ("target", "light", "plan_policy_silent"),
    "sleeping": ("target", "deep", "plan_policy_sleeping"),
    "lost": ("suppress", "deep", "plan_policy_lost"),
}
SECONDARY_SHARE = 0.10  # share of the round for each arm that is tested again
TARGET_POWER = 0.8  # as the evaluation's next-round design
MAX_VARIANCE_REDUCTION = 0.95  # as the evaluation's next-round design
#: Economics columns copied from each evaluation into the plan's per-campaign table.
ECONOMICS = ("label", "customers", "coupon_cost", "message_cost", "fixed_cost", "total_cost",
             "incremental_revenue", "incremental_orders", "incremental_profit",
             "incremental_profit_low", "incremental_profit_high", "roi", "roi_low", "roi_high",
             "cost_per_incremental_order")


def reason(key: str, **args) -> dict:
    """A reason to show: a TEXT key and its arguments (numbers, arm/kind ids, TEXT keys)."""
    return {"key": key, "args": args}


def kind_name(face: float, threshold: float) -> str:
    if face <= 0:
        return "message_only"
    return f"coupon_{threshold:g}_{face:g}"


#: Campaign types whose arms without a coupon are one kind, "message_only"; in the other
#: types (shop discount, payment reminder, member day) an arm's kind is its name.
POOLED_BY_COUPON = ("coupon", "message")


def campaign_type(p: PastCampaign) -> str:
    """A past campaign's type: its evaluation's ``campaign_type``, else (stored before types
    were recorded) coupon when an arm has a coupon face value, else message."""
    stored = p.summary.get("campaign_type")
    if stored:
        return str(stored)
    arms = [a.get("name") for a in p.summary.get("arms", [])]
    return "coupon" if any(p.arm_kind(a)[0] > 0 for a in arms) else "message"


@dataclass(frozen=True, repr=False)
class Plan(ResultMixin):
    """The next round and why: a result (``summary()``, ``tables()``, ``metrics()``,
    ``write``/``read``) that the plan page renders from."""

    KIND: ClassVar[str] = "next_round_plan"
    MAIN_TABLE: ClassVar[str] = "kinds"
    SCHEMA: ClassVar[dict[str, tuple[str, ...]]] = {
        "campaign_arms": ("campaign_id", "horizon_days", "arm", "kind", "effect", "se",
                          "ci_low_adjusted", "ci_high_adjusted", *ECONOMICS),
        "kinds": ("kind", "estimate", "se", "ci_low", "ci_high", "k", "method", "decision",
                  "reason_key", "reason_args"),
        "states": ("state", "action", "arm_kind", "reason_key", "reason_args"),
        "state_kind": ("state", "kind", "estimate", "se", "k"),
        "next_arms": ("name", "planned_share", "customers", "label"),
    }

    next_id: str
    campaigns: list[str]
    arm_table: pd.DataFrame          # per campaign x arm: the evaluation's figures
    kinds: pd.DataFrame              # per kind: pooled effect, decision, reason
    states: pd.DataFrame             # per state: pooled effects, action, arm, reason
    state_kind: pd.DataFrame         # per state x kind pooled effect
    primary: str | None
    arms: list[dict]                 # next round's arms (name, share, face, threshold, label)
    design: Design | None
    n_audience: int
    expected_profit: dict
    reasons: list[dict] = field(default_factory=list)
    alpha: float = 0.05
    evaluation_design: dict | None = None  # the latest evaluation's design row, as stored
    holdout_notes: list[dict] = field(default_factory=list)
    primary_power: float = math.nan  # the primary arm alone vs the holdout (secondaries apart)
    labels: dict = field(default_factory=dict)  # arm / kind id -> label from the params
    sources: list[dict] = field(default_factory=list)  # per campaign: run, horizon, family
    campaign_type: str = "coupon"  # the wording of the page (plan_type)

    @property
    def latest(self) -> str:
        return self.campaigns[-1]

    def summary(self) -> dict:
        e = self.expected_profit
        return jsonable({
            "next_id": self.next_id, "campaigns": self.campaigns, "latest": self.latest,
            "sources": self.sources, "primary": self.primary, "method": METHOD,
            "alpha": self.alpha, "audience": self.n_audience,
            "design": None if self.design is None else self.design.to_frame().iloc[0].to_dict(),
            "evaluation_design": self.evaluation_design,
            "holdout_same": not self.holdout_notes and self.evaluation_design is not None,
            "holdout_notes": self.holdout_notes, "primary_power": self.primary_power,
            "expected_profit": {k: e[k] for k in ("estimate", "low", "high", "se",
                                                  "fixed_cost")},
            "reasons": self.reasons, "labels": self.labels,
            "campaign_type": self.campaign_type,
        })

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"campaign_arms": self.arm_table, "kinds": self.kinds, "states": self.states,
                "state_kind": self.state_kind, "next_arms": pd.DataFrame(self.arms),
                "expected_profit_parts": pd.DataFrame(self.expected_profit.get("parts", []))}

    def metrics(self) -> dict[str, float]:
        out = {f"expected_profit.{k}": self.expected_profit[k]
               for k in ("estimate", "low", "high")}
        if self.design is not None:
            out.update(holdout_share=self.design.holdout_share, claimed_power=self.design.power)
        for a in self.arms:
            out[f"planned_share.{a['name']}"] = a["planned_share"]
        return {k: float(v) for k, v in out.items() if v is not None and math.isfinite(v)}

    def _headline(self) -> dict:
        d = self.design
        return {"next_id": self.next_id, "campaigns": ", ".join(self.campaigns),
                "primary": self.primary, "audience": self.n_audience,
                "holdout_share": None if d is None else d.holdout_share,
                "expected_profit": round(float(self.expected_profit["estimate"]), 2)}


def _with_reason(row: dict, r: dict) -> dict:
    row.update(reason_key=r["key"], reason_args=json.dumps(jsonable(r["args"])))
    return row


def arm_table(past: list[PastCampaign]) -> pd.DataFrame:
    """One row per campaign x treated arm: kind, the effect on net profit per customer with its
    standard error and its interval in the evaluation's family, and the evaluation's economics
    row as it is (fixed cost included)."""
    rows = []
    for p in past:
        eff = p.table("effects")
        econ = p.table("economics").set_index("arm")
        design = p.table("design")
        d = design.iloc[0] if not design.empty else None
        methods = p.summary.get("methods", {})
        decisions = p.summary.get("decisions", {})
        ctype = campaign_type(p)
        for e in eff[eff["metric"] == METRIC].itertuples():
            face, threshold = p.arm_kind(e.arm)
            kind = (kind_name(face, threshold) if ctype in POOLED_BY_COUPON or face > 0
                    else str(e.arm))
            if e.arm not in econ.index:
                raise PlanError(f"run {p.run_id} ({p.campaign_id}): arm {e.arm} has an effect "
                                "but no economics row; re-run that evaluation")
            ec = econ.loc[e.arm]
            row = {
                "campaign_id": p.campaign_id, "horizon_days": p.horizon_days,
                "run_id": p.run_id, "arm": e.arm, "kind": kind,
                "coupon_face_value": face, "coupon_threshold": threshold,
                "n_arm": float(e.n_arm), "n_control": float(e.n_control),
                "effect": float(e.estimate), "se": float(e.se),
                "ci_low": float(e.ci_low), "ci_high": float(e.ci_high),
                "ci_low_adjusted": float(e.ci_low_adjusted),
                "ci_high_adjusted": float(e.ci_high_adjusted),
                "correction": methods.get("correction"),
                "evaluation_decision": decisions.get(e.arm),
                "variance_reduction": float(e.variance_reduction)
                if pd.notna(e.variance_reduction) else math.nan,
                "control_sd": float(d["sd"]) if d is not None else math.nan,
                "control_mean": float(d["baseline_mean"]) if d is not None else math.nan,
            }
            row.update({c: ec[c] for c in ECONOMICS})
            # the type's own cost lines (shop discounts, member benefits) when it has them
            variable = ec["coupon_cost"] + ec["message_cost"]
            for line in ("discount_cost", "benefit_cost"):
                if line in ec.index:
                    variable += ec[line]
            row["variable_cost_per_customer"] = (
                float(variable) / float(ec["customers"]) if ec["customers"] else math.nan)
            rows.append(row)
    return pd.DataFrame(rows)


def pool_kinds(arms: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Per kind: pooled effect per customer (random effects over the campaigns; a figure of the
    plan), the variable cost per customer (coupons and messages, for the budget), the decision
    and its reason."""
    rows = []
    for kind, g in arms.groupby("kind", sort=False):
        pld = pool(g["effect"], g["se"], alpha)
        cost = float(np.average(g["variable_cost_per_customer"], weights=g["customers"]))
        row = {"kind": kind, "coupon_face_value": g["coupon_face_value"].iloc[0],
               "coupon_threshold": g["coupon_threshold"].iloc[0],
               "campaigns": ",".join(g["campaign_id"]), **pld.as_dict(),
               "prediction_se": pld.prediction_se, "variable_cost_per_customer": cost}
        args = {"kind": kind, "estimate": pld.estimate, "low": pld.ci_low,
                "high": pld.ci_high, "k_n": pld.k}
        if pld.k == 0:
            decision, r = "test", reason("plan_reason_no_estimate", kind=kind)
        elif pld.ci_low > 0:
            decision, r = "keep", reason("plan_reason_keep", **args)
        elif pld.ci_high < 0:
            decision, r = "drop", reason("plan_reason_drop", **args)
        else:
            decision, r = "test", reason("plan_reason_test", **args)
        row["decision"] = decision
        rows.append(_with_reason(row, r))
    return pd.DataFrame(rows)


def pool_states(past: list[PastCampaign], alpha: float) -> pd.DataFrame:
    """Per lifecycle state x kind: pooled effect on net profit per customer."""
    rows = []
    for p in past:
        seg = p.table("segment_effects")
        if seg.empty:
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
    pooled = pd.DataFrame(out, columns=["state", "kind", *Pooled.__dataclass_fields__])
    if not pooled.empty:
        pooled["prediction_se"] = np.sqrt(pooled["se"] ** 2 + pooled["tau2"].fillna(0.0))
    return pooled


def _state_sizes(latest: PastCampaign) -> dict[str, float]:
    """Customers per lifecycle state in the latest campaign (all arms and the control)."""
    seg = latest.table("segment_effects")
    if seg.empty:
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
        why = reason("plan_reason_policy", policy_key=policy)
        p = _pooled(state_kind, state, primary) if primary else None
        lo = hi = math.nan
        if p is not None and p.k > 0:
            lo, hi = p.estimate - z * p.se, p.estimate + z * p.se
            args = {"policy_key": policy, "primary": primary, "estimate": p.estimate,
                    "low": lo, "high": hi}
            if action == "target" and hi < 0:
                action = "suppress"
                why = reason("plan_reason_override_suppress", **args)
            elif action == "suppress" and lo > 0:
                action, arm = "target", primary
                why = reason("plan_reason_override_target", **args)
            elif action == "target" and arm != primary and lo > 0:
                q = _pooled(state_kind, state, arm) if arm else None
                q_lo = q.estimate - z * q.se if q is not None and q.k else math.nan
                if not q_lo > 0:
                    why = reason("plan_reason_use_primary", arm=arm, **args)
                    arm = primary
        if action == "suppress":
            arm = None
        rows.append(_with_reason(
            {"state": state, "action": action, "arm_kind": arm,
             "primary_effect": p.estimate if p is not None else math.nan,
             "primary_ci_low_corrected": lo, "primary_ci_high_corrected": hi,
             "customers_latest": sizes.get(state, 0.0)}, why))
    return pd.DataFrame(rows)


def _labels(past: list[PastCampaign], arms: pd.DataFrame) -> dict[str, str]:
    """Arm and kind id -> label from the params (the latest campaign's label of a kind)."""
    out: dict[str, str] = {}
    for p in past:  # oldest first: the latest label wins
        out[p.control_arm] = p.arm_label(p.control_arm)
        if p.control_arm != "control":
            out["control"] = out[p.control_arm]
        mine = arms[arms["campaign_id"] == p.campaign_id]
        for r in mine.itertuples():
            out[r.arm] = p.arm_label(r.arm)
            out[r.kind] = out[r.arm]
    return out


def _sources(past: list[PastCampaign]) -> list[dict]:
    out = []
    for p in past:
        m = p.summary.get("methods", {})
        out.append({"campaign_id": p.campaign_id, "horizon_days": p.horizon_days,
                    "run_id": p.run_id, "display_name": p.summary.get("display_name"),
                    "correction": m.get("correction"), "family_size": m.get("family_size"),
                    "family_arms": m.get("family_arms"),
                    "family_metrics": m.get("family_metrics")})
    return out


def build_plan(past: list[PastCampaign], next_id: str, *, budget: float | None = None,
               fixed_cost: float = 0.0, alpha: float = 0.05, power: float = TARGET_POWER,
               currency: str = "CNY") -> Plan:
    """The next round from the past campaigns (oldest sale first; the last is the latest).
    ``currency`` only words the English ``reason`` columns (the page writes its own)."""
    if not past:
        raise PlanError("no past campaign to learn from")
    arms = arm_table(past)
    if arms.empty:
        raise PlanError("the past evaluations hold no net-profit effects")
    kinds = pool_kinds(arms, alpha)
    reasons: list[dict] = []
    keep = kinds[kinds["decision"] == "keep"].sort_values("estimate", ascending=False)
    test = kinds[kinds["decision"] == "test"].sort_values("estimate", ascending=False)
    if not keep.empty:
        primary = str(keep["kind"].iloc[0])
    elif not test.empty:
        primary = str(test["kind"].iloc[0])
        reasons.append(reason("plan_note_no_proven", primary=primary))
    else:
        primary = None
        reasons.append(reason("plan_note_all_lose"))
    candidates = [k for k in kinds["kind"] if k in set(keep["kind"]) | set(test["kind"])]
    latest = past[-1]
    reasons += _decisions_that_differ(arms, kinds, latest.campaign_id)
    sizes = _state_sizes(latest)
    state_kind = pool_states(past, alpha)
    states = decide_states(state_kind, kinds, primary, candidates, alpha, sizes)

    mine = arms[arms["campaign_id"] == latest.campaign_id]
    n_latest = int(latest.summary.get("n_assigned")
                   or mine["customers"].sum() + mine["n_control"].iloc[0])
    targeted = states[states["action"] == "target"]
    if sizes:
        audience = int(round(sum(sizes.get(s, 0.0) for s in targeted["state"])
                             / max(sum(sizes.values()), 1.0) * n_latest))
    else:
        audience = n_latest
    full_audience = audience
    secondaries = [k for k in candidates if k != primary]
    inputs = _design_inputs(arms, kinds, primary, alpha, power, reasons)
    design, shares, audience = _design(inputs, kinds, primary, secondaries, audience, budget,
                                       fixed_cost, reasons)
    labels = _labels(past, arms)
    next_arms = _next_arms(kinds, shares, audience, labels)
    profit = _expected_profit(next_arms, states, state_kind, kinds, audience, sizes,
                              fixed_cost, alpha)
    evaluation = latest.table("design")
    evaluation_design = (jsonable(evaluation.iloc[0].to_dict()) if not evaluation.empty
                         else None)
    notes = _holdout_notes(design, evaluation_design, inputs, states, n_latest, full_audience,
                           audience, len(past))
    primary_power = math.nan
    if design is not None and secondaries:
        n_primary = round(audience * shares[primary])
        n_pair = n_primary + design.n_holdout
        primary_power = power_at(n_pair, design.n_holdout / n_pair, design.effect, design.sd,
                                 alpha=design.alpha,
                                 variance_reduction=design.variance_reduction).power
    plan = Plan(next_id=next_id, campaigns=[p.campaign_id for p in past], arm_table=arms,
                kinds=kinds, states=states, state_kind=state_kind, primary=primary,
                arms=next_arms, design=design, n_audience=audience, expected_profit=profit,
                reasons=reasons, alpha=alpha, evaluation_design=evaluation_design,
                holdout_notes=notes, primary_power=primary_power, labels=labels,
                sources=_sources(past), campaign_type=plan_type(past, kinds))
    return _with_english_reasons(plan, currency)


def plan_type(past: list[PastCampaign], kinds: pd.DataFrame) -> str:
    """The plan's type, which words its page: coupon when some pooled kind gives a coupon,
    else the latest campaign's type."""
    if (kinds["coupon_face_value"] > 0).any():
        return "coupon"
    return campaign_type(past[-1])


#: The evaluation's per-arm decision that says what each decision of the plan says.
SAME_DECISION = {"roll_out": "keep", "stop": "drop", "test_again": "test"}


def _decisions_that_differ(arms: pd.DataFrame, kinds: pd.DataFrame,
                           campaign_id: str) -> list[dict]:
    """A note for each arm of the latest campaign whose evaluation decided otherwise than the
    plan decides for its kind (they answer different questions; the note says which)."""
    decision = kinds.set_index("kind")["decision"]
    out = []
    for r in arms[arms["campaign_id"] == campaign_id].itertuples():
        theirs = r.evaluation_decision
        if theirs in SAME_DECISION and SAME_DECISION[theirs] != decision[r.kind]:
            out.append(reason("plan_note_decision_differs", kind=r.kind,
                              plan_key=f"plan_decision_{decision[r.kind]}",
                              evaluation_key=f"decision_label_{theirs}",
                              campaign_text=campaign_id))
    return out


def _with_english_reasons(plan: Plan, currency: str) -> Plan:
    """Add the English ``reason`` column to the kinds and states tables (CLI, notebook)."""
    from crm_experiments.report.plan_page import reason_text

    for frame in (plan.kinds, plan.states):
        frame["reason"] = [reason_text({"key": k, "args": json.loads(a)}, "en", currency,
                                       plan.labels, plan.campaign_type)
                           for k, a in zip(frame["reason_key"], frame["reason_args"],
                                           strict=True)]
    return plan


def _design_inputs(arms: pd.DataFrame, kinds: pd.DataFrame, primary: str | None,
                   alpha: float, power: float, reasons: list[dict]) -> dict | None:
    """What the holdout is sized with, taken as the evaluation's design takes it: the primary
    arm's effect on net profit per customer (pooled), the holdout's sd and mean of net profit
    (each campaign's design row; pooled by holdout size over several campaigns) and the
    variance reduction achieved (median over the campaigns), alpha and the target power."""
    if primary is None:
        return None
    g = arms[arms["kind"] == primary]
    k = kinds.set_index("kind").loc[primary]
    per = g.drop_duplicates("campaign_id")
    known = per[per["control_sd"].notna()]
    if len(known) == 1:
        sd, mean = float(known["control_sd"].iloc[0]), float(known["control_mean"].iloc[0])
    elif len(known) > 1:
        w = known["n_control"]
        sd = float(np.sqrt(np.average(known["control_sd"] ** 2, weights=w)))
        mean = float(np.average(known["control_mean"], weights=w))
    else:
        # no design row: se² ≈ sd_eff² (1/n_arm + 1/n_control) → sd
        vr0 = float(np.clip(np.nanmedian(g["variance_reduction"]), 0.0, 0.95)) \
            if g["variance_reduction"].notna().any() else 0.0
        sds = g["se"] / np.sqrt(1 / g["n_arm"] + 1 / g["n_control"]) / math.sqrt(1 - vr0)
        sd, mean = float(np.sqrt(np.average(sds ** 2, weights=g["n_arm"]))), math.nan
    if not (math.isfinite(sd) and sd > 0):  # e.g. no customer of the holdout bought
        raise PlanError(
            "cannot size the next round's holdout: net profit per customer has no spread "
            f"(sd {sd:g}) in the evaluations of {', '.join(map(str, per['campaign_id']))}; "
            "plan from a campaign whose holdout bought (--campaigns) or set the shares by hand")
    vr = g["variance_reduction"].dropna()
    vr = (min(max(float(vr.iloc[0] if len(vr) == 1 else np.median(vr)), 0.0),
              MAX_VARIANCE_REDUCTION) if len(vr) else 0.0)
    effect = float(k["estimate"])
    if not effect > 0:
        # as the evaluation's design: a tenth of the holdout's mean when no effect is positive
        fallback = 0.1 * abs(mean) if np.isfinite(mean) and mean else float(k["ci_high"])
        effect = fallback if fallback > 0 else 0.1 * sd
        reasons.append(reason("plan_note_not_positive", primary=primary,
                              estimate=float(k["estimate"]), effect=effect))
    return {"effect": effect, "sd": sd, "variance_reduction": vr, "baseline_mean": mean,
            "alpha": alpha, "power": power, "k": int(k["k"])}


def _recommend(n_total: int, inputs: dict) -> Design:
    return recommend_holdout_share(
        n_total, inputs["effect"], inputs["sd"], alpha=inputs["alpha"], power=inputs["power"],
        variance_reduction=inputs["variance_reduction"], baseline_mean=inputs["baseline_mean"])


def _design(inputs, kinds, primary, secondaries, audience, budget, fixed_cost,
            reasons) -> tuple[Design | None, dict[str, float], int]:
    """Holdout design of the round, the shares of its arms, and its audience (cut to the
    budget). The control share is the design's holdout share; each secondary arm gets
    :data:`SECONDARY_SHARE`; the primary arm the rest."""
    if primary is None:
        return None, {"control": 0.5, "message_only": 0.5}, audience
    d = _recommend(audience, inputs)
    room = int((1 - d.holdout_share - SECONDARY_SHARE) / SECONDARY_SHARE + 1e-9)
    if len(secondaries) > room:
        reasons.append(reason("plan_note_secondaries_cut", dropped_kinds=secondaries[room:]))
        secondaries = secondaries[:room]
    by_kind = kinds.set_index("kind")["variable_cost_per_customer"]
    cost = float(by_kind[primary])
    if budget is not None and cost > 0:
        def spend(n: int, h: float) -> float:
            rest = n * (1 - h - SECONDARY_SHARE * len(secondaries))
            return (cost * rest + fixed_cost
                    + sum(float(by_kind[s]) for s in secondaries) * SECONDARY_SHARE * n)

        full = spend(audience, d.holdout_share)
        if full > budget:
            scale = max((budget - fixed_cost) / (full - fixed_cost), 0.0)
            n_new = int(audience * scale)
            if n_new * (1 - SECONDARY_SHARE * len(secondaries)) < 20:
                raise PlanError(f"budget {budget:g} does not cover even a minimal round "
                                f"(cost {cost:.2f} per treated customer, fixed {fixed_cost:g})")
            reasons.append(reason("plan_note_budget", budget_n=budget, scale_pct=scale,
                                  spend_n=full))
            audience = n_new
            d = _recommend(audience, inputs)
    h = d.holdout_share
    shares = {"control": h, primary: 1 - h - SECONDARY_SHARE * len(secondaries)}
    shares.update({s: SECONDARY_SHARE for s in secondaries})
    return d, shares, audience


def _holdout_notes(design: Design | None, evaluation: dict | None, inputs: dict | None,
                   states: pd.DataFrame, n_latest: int, full_audience: int, audience: int,
                   k_campaigns: int) -> list[dict]:
    """Why the plan's holdout differs from the latest evaluation's recommendation (empty when
    both computations had the same inputs, and so give the same numbers)."""
    if design is None or evaluation is None:
        return []
    notes = []
    same = {
        "n_total": design.n_total == evaluation.get("n_total"),
        "effect": design.effect == evaluation.get("effect"),
        "sd": design.sd == evaluation.get("sd"),
        "variance_reduction": design.variance_reduction == evaluation.get("variance_reduction"),
        "alpha": design.alpha == evaluation.get("alpha"),
        "power": design.target_power == evaluation.get("target_power"),
    }
    if full_audience != n_latest:
        suppressed = [s for s in states.loc[states["action"] == "suppress", "state"]]
        notes.append(reason("plan_holdout_why_audience", plan_n=full_audience,
                            evaluation_n=n_latest,
                            states_keys=[f"state_{s}" for s in suppressed]))
    if audience != full_audience:
        notes.append(reason("plan_holdout_why_budget", plan_n=audience,
                            evaluation_n=full_audience))
    if k_campaigns > 1 and not (same["effect"] and same["sd"]
                                and same["variance_reduction"]):
        notes.append(reason("plan_holdout_why_pooled", k_n=k_campaigns))
    elif not same["effect"]:
        notes.append(reason("plan_holdout_why_effect", effect=design.effect,
                            evaluation_effect=evaluation.get("effect")))
    elif not (same["sd"] and same["variance_reduction"]):
        notes.append(reason("plan_holdout_why_inputs"))
    if not (same["alpha"] and same["power"]):
        notes.append(reason("plan_holdout_why_level", alpha_pct=design.alpha,
                            power_pct=design.target_power))
    if not notes and not same["n_total"]:
        notes.append(reason("plan_holdout_why_inputs"))
    return notes


def _next_arms(kinds: pd.DataFrame, shares: dict[str, float], audience: int,
               labels: dict[str, str]) -> list[dict]:
    by = kinds.set_index("kind")
    out = []
    raw = {k: round(v, 4) for k, v in shares.items()}
    # make the rounded shares sum to exactly 1: the primary (largest) takes the remainder
    biggest = max((k for k in raw if k != "control"), key=lambda k: raw[k])
    raw[biggest] = round(1 - sum(v for k, v in raw.items() if k != biggest), 4)
    for name, share in raw.items():
        arm = {"name": name, "planned_share": share, "customers": round(audience * share)}
        if name in by.index:
            arm.update(coupon_face_value=float(by.loc[name, "coupon_face_value"]),
                       coupon_threshold=float(by.loc[name, "coupon_threshold"]),
                       decision=str(by.loc[name, "decision"]))
        if labels.get(name):
            arm["label"] = labels[name]
        out.append(arm)
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
            "fixed_cost": fixed_cost, "parts": parts}
