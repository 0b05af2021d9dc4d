"""The shop-wide holdout (``crm-exp holdout``): what all CRM work earned against customers that
no campaign contacted, :func:`evaluate_holdout` -> :class:`HoldoutAnalysis`.

* **Groups**: the shop's customers with a purchase before the period start
  (:func:`crm_experiments.metrics.holdout.holdout_customers`), split by
  :func:`crm_experiments.io.holdout.holdout_members` into the holdout and everyone else (the
  *exposed*: the customers every campaign could reach, its randomised controls included).
  The split is random by construction (a hash of the pseudonymous id), so the comparison is
  causal: intention to treat by hash membership, whatever the campaigns then did.
* **Effects per customer** over the period (exposed minus holdout): net revenue, gross profit,
  net profit after contact costs (coupon costs are inside gross profit) and repurchase (share
  of customers with 2+ purchases): :func:`crm_experiments.stats.table.compare_arms`, Lin's
  regression adjustment on the pre-period value (HC2 errors; for repurchase the pre-period
  purchase count) where identified, else Welch / two proportions; relative effects with
  Fieller's interval. Each interval is at ``1 - alpha``, not adjusted for multiplicity: net
  profit is the question, the others explain it. **Totals** = per-customer effect x exposed
  customers (the cumulative incremental revenue / profit of all CRM work in the period).
* **Drift check**: each group's shares of lifecycle states and RFM segments at the period
  start and at the first day of each later month in the period; chi-square test of
  homogeneity (scipy) and the standardised difference of each share,
  ``(p_h - p_e) / sqrt((p_h (1 - p_h) + p_e (1 - p_e)) / 2)``; a moment is flagged when a
  category's ``|difference| > DRIFT_SMD`` and the chi-square p-value is below
  ``DRIFT_ALPHA``. At the start this checks the split itself; later,
  the CRM work moves the exposed group (that is its effect), so drift there is expected in
  the direction of the effect and a warning only when it starts before any contact.
* **Recommended share**: :func:`crm_experiments.stats.design.recommend_holdout_share` for the
  desired minimum detectable net profit per customer (``shop_holdout.min_detectable_profit``,
  else the observed effect) at 80% power, from the observed sd of net profit and the
  adjustment's variance reduction; and the MDE of the current share
  (:func:`~crm_experiments.stats.design.minimum_detectable_effect`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import ClassVar

import narwhals as nw
import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency

from crm_experiments.analyses.result import ResultMixin
from crm_experiments.errors import CrmError, ParamsError
from crm_experiments.io.engine import collect
from crm_experiments.io.holdout import holdout_members
from crm_experiments.io.reader import ShopData
from crm_experiments.metrics.holdout import data_end, group_states, holdout_customers
from crm_experiments.metrics.orders import in_window
from crm_experiments.params import CampaignParams
from crm_experiments.stats.design import minimum_detectable_effect, recommend_holdout_share
from crm_experiments.stats.table import compare_arms

METRICS = ("revenue", "gross_profit", "net_profit", "repurchase")
COVARIATES = {"revenue": "pre_revenue", "gross_profit": "pre_gross_profit",
              "net_profit": "pre_gross_profit", "repurchase": "pre_orders"}
#: Per-customer means shown per group.
GROUP_COLUMNS = ("revenue", "gross_profit", "contacts", "contact_cost", "coupon_cost",
                 "net_profit", "repurchase")
HOLDOUT, EXPOSED = "holdout", "exposed"
#: a moment is out of balance when the chi-square p-value is below DRIFT_ALPHA and a share's
#: |standardised difference| above DRIFT_SMD (large shops make tiny differences significant,
#: small ones make chance differences look large)
DRIFT_SMD = 0.1
DRIFT_ALPHA = 0.01
#: power of the recommended share
POWER = 0.8
EFFECT_COLUMNS = ("metric", "n_exposed", "n_holdout", "mean_exposed", "mean_holdout",
                  "estimate", "ci_low", "ci_high", "p_value", "rel_estimate", "rel_ci_low",
                  "rel_ci_high", "method", "variance_reduction")
TOTAL_COLUMNS = ("metric", "total", "total_low", "total_high")
DRIFT_COLUMNS = ("moment", "date", "kind", "chi2", "dof", "p_value", "max_abs_smd",
                 "worst_category", "flagged")
DETAIL_COLUMNS = ("moment", "kind", "category", "share_holdout", "share_exposed", "smd")


@dataclass(frozen=True)
class HoldoutAnalysis(ResultMixin):
    """What the holdout page shows (module docstring). Money in the shop's currency per
    customer (``effects``, ``groups``) or in total (``totals``); shares as fractions.

    ``notes``: ``(key, values)`` pairs of the translation table, each a part that could not
    be computed or a warning; ``truth``: the generator's true effects per exposed customer
    (demo shops only, else empty).
    """

    KIND: ClassVar[str] = "holdout"
    SCHEMA: ClassVar[dict[str, tuple[str, ...]]] = {
        "effects": EFFECT_COLUMNS, "totals": TOTAL_COLUMNS, "groups": ("group", "customers"),
        "drift": DRIFT_COLUMNS, "drift_detail": DETAIL_COLUMNS}
    MAIN_TABLE: ClassVar[str] = "effects"

    campaign_id: str
    display_name: str
    language: str
    currency: str
    start: dt.date
    end: dt.date
    measured_to: dt.date
    share: float
    alpha: float
    n_holdout: int
    n_exposed: int
    effects: pd.DataFrame
    totals: pd.DataFrame
    groups: pd.DataFrame
    drift: pd.DataFrame
    drift_detail: pd.DataFrame
    design: dict = field(default_factory=dict)
    contacted_members: int | None = None
    assigned_members: int | None = None
    truth: dict = field(default_factory=dict)
    notes: tuple[tuple[str, dict], ...] = ()

    def effect(self, metric: str) -> dict | None:
        """The row of ``effects`` for ``metric`` as a dict (None when not estimated)."""
        rows = self.effects[self.effects["metric"] == metric]
        return None if rows.empty else rows.iloc[0].to_dict()

    def summary(self) -> dict:
        return {
            "kind": self.KIND, "campaign_id": self.campaign_id,
            "display_name": self.display_name, "language": self.language,
            "currency": self.currency, "start": self.start.isoformat(),
            "end": self.end.isoformat(), "measured_to": self.measured_to.isoformat(),
            "share": self.share, "alpha": self.alpha, "n_holdout": self.n_holdout,
            "n_exposed": self.n_exposed, "design": self.design,
            "contacted_members": self.contacted_members,
            "assigned_members": self.assigned_members, "truth": self.truth,
            "notes": [[k, v] for k, v in self.notes],
            "drift_flagged": [str(m) for m in
                              self.drift.loc[self.drift["flagged"].astype(bool), "moment"]],
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"effects": self.effects, "totals": self.totals, "groups": self.groups,
                "drift": self.drift, "drift_detail": self.drift_detail}

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {"holdout.n_holdout": self.n_holdout,
                                 "holdout.n_exposed": self.n_exposed}
        for r in self.effects.itertuples(index=False):
            for k in ("estimate", "ci_low", "ci_high"):
                out[f"holdout.{r.metric}.{k}"] = getattr(r, k)
        for r in self.totals.itertuples(index=False):
            out[f"holdout.{r.metric}.total"] = r.total
        for k in ("recommended_share", "mde_current"):
            if self.design.get(k) is not None:
                out[f"holdout.{k}"] = self.design[k]
        return {k: float(v) for k, v in out.items()
                if v is not None and math.isfinite(float(v))}


def _months(start: pd.Timestamp, last: pd.Timestamp) -> dict[str, pd.Timestamp]:
    """The period start and the first day of each later month up to ``last`` (inclusive)."""
    out = {"start": start}
    m = (start + pd.offsets.MonthBegin(1)).normalize()
    while m <= last:
        out[m.strftime("%Y-%m")] = m
        m = (m + pd.offsets.MonthBegin(1)).normalize()
    return out


def _drift(counts: pd.DataFrame, moments: dict[str, pd.Timestamp]
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, detail = [], []
    for (moment, kind), g in counts.groupby(["moment", "kind"], sort=False):
        wide = g.pivot_table(index="category", columns="group", values="customers",
                             fill_value=0, aggfunc="sum")
        wide = wide.reindex(columns=[HOLDOUT, EXPOSED], fill_value=0)
        wide = wide[(wide.sum(axis=1) > 0)]
        n_h, n_e = wide[HOLDOUT].sum(), wide[EXPOSED].sum()
        if n_h == 0 or n_e == 0 or len(wide) < 2:
            continue
        p_h, p_e = wide[HOLDOUT] / n_h, wide[EXPOSED] / n_e
        sd = np.sqrt((p_h * (1 - p_h) + p_e * (1 - p_e)) / 2)
        smd = ((p_h - p_e) / sd.where(sd > 0)).fillna(0.0)
        chi2, p, dof, _ = chi2_contingency(wide.T.to_numpy())
        worst = smd.abs().idxmax()
        rows.append({"moment": moment, "date": moments[moment].date().isoformat(), "kind": kind,
                     "chi2": float(chi2), "dof": int(dof), "p_value": float(p),
                     "max_abs_smd": float(abs(smd[worst])), "worst_category": str(worst),
                     "flagged": bool(abs(smd[worst]) > DRIFT_SMD and p < DRIFT_ALPHA)})
        detail += [{"moment": moment, "kind": kind, "category": str(c),
                    "share_holdout": float(p_h[c]), "share_exposed": float(p_e[c]),
                    "smd": float(smd[c])} for c in wide.index]
    return (pd.DataFrame(rows, columns=list(DRIFT_COLUMNS)),
            pd.DataFrame(detail, columns=list(DETAIL_COLUMNS)))


def _design(df: pd.DataFrame, effect: dict | None, target: float | None, alpha: float
            ) -> tuple[dict, list[tuple[str, dict]]]:
    """Recommended share and the current share's MDE for net profit per customer."""
    n_total = len(df)
    n_h = int((df["group"] == HOLDOUT).sum())
    var = df.groupby("group")["net_profit"].var(ddof=1)
    sd = float(np.sqrt(var.mean())) if len(var) == 2 else math.nan
    vr = effect.get("variance_reduction") if effect else None
    vr = min(max(float(vr), 0.0), 0.99) if vr is not None and math.isfinite(vr) else 0.0
    aim = target if target is not None else (abs(effect["estimate"]) if effect else math.nan)
    out = {"sd": sd, "variance_reduction": vr, "target": aim, "power": POWER,
           "target_declared": target is not None, "current_share": n_h / n_total if n_total
           else math.nan, "mde_current": None, "recommended_share": None, "reachable": None,
           "n_recommended": None}
    notes: list[tuple[str, dict]] = []
    if not (math.isfinite(sd) and sd > 0):
        return out, [("holdout_note_no_design", {})]
    try:
        current = minimum_detectable_effect(n_total, out["current_share"], sd, alpha=alpha,
                                            power=POWER, variance_reduction=vr)
        out["mde_current"] = current.mde
    except ValueError:
        notes.append(("holdout_note_no_design", {}))
        return out, notes
    if not (math.isfinite(aim) and aim > 0):
        notes.append(("holdout_note_no_target", {}))
        return out, notes
    try:
        rec = recommend_holdout_share(n_total, aim, sd, alpha=alpha, power=POWER,
                                      variance_reduction=vr, min_share=0.01, max_share=0.5)
    except ValueError:
        notes.append(("holdout_note_no_design", {}))
        return out, notes
    out.update(recommended_share=rec.holdout_share, reachable=rec.reachable,
               n_recommended=rec.n_holdout)
    return out, notes


def _truth(shop: ShopData, params: CampaignParams) -> dict:
    """The generator's true effects per exposed customer (``truth.json["shop_holdout"]``),
    when the data are a generated shop with this holdout; else empty."""
    import json

    path = shop.data_dir / "truth.json"
    if not path.exists():
        return {}
    try:
        t = json.loads(path.read_text(encoding="utf-8")).get("shop_holdout") or {}
    except (OSError, ValueError):
        return {}
    h = params.shop_holdout
    if (t.get("start") != h.start.isoformat() or t.get("end") != h.end.isoformat()
            or t.get("salt") != h.salt or t.get("share") != h.share):
        return {}
    return {k: float(v) for k, v in (t.get("effects") or {}).items() if v is not None}


def evaluate_holdout(shop: ShopData, params: CampaignParams) -> HoldoutAnalysis:
    """The holdout analysis of ``params.shop_holdout`` (module docstring). Refuses (a
    :class:`CrmError`) params without the section and data that end before the period;
    what cannot be computed otherwise becomes a note."""
    h = params.shop_holdout
    if h is None:
        raise ParamsError("shop_holdout: the params declare no shop-wide holdout; add a "
                          "shop_holdout section (share, salt, start, end)")
    orders = shop["orders"]
    last = data_end(orders)
    if last is None or last < h.period_start:
        got = "no orders" if last is None else f"the last order is on {last.date()}"
        raise CrmError(f"{shop.data_dir}: the orders do not reach the holdout period "
                       f"({h.start} to {h.end}; {got}): nothing to measure yet")
    notes: list[tuple[str, dict]] = []
    end = min(h.period_end, (last + pd.Timedelta(days=1)).normalize())
    measured_to = (end - pd.Timedelta(days=1)).date()
    if measured_to < h.end:
        notes.append(("holdout_note_partial", {"day": measured_to.isoformat()}))
    has_contacts = shop.has("contacts")
    if not has_contacts:
        notes.append(("holdout_note_no_contacts", {}))
    coupons = shop["coupons"] if shop.has("coupons") else None
    df = holdout_customers(orders, h.period_start, end, gross_margin=params.costs.gross_margin,
                           pre_days=params.pre_period_days,
                           period_months=params.lifecycle_period_months,
                           contacts=shop["contacts"] if has_contacts else None, coupons=coupons,
                           message_prices=params.costs.message_cost)
    member = holdout_members(h, df["customer_id"])
    df["group"] = np.where(member, HOLDOUT, EXPOSED)
    n_h, n_e = int(member.sum()), int((~member).sum())

    contacted = int((df.loc[member, "contacts"] > 0).sum()) if has_contacts else None
    assigned = None
    if shop.has("assignments"):
        a = shop["assignments"]
        if "assigned_at" in a.collect_schema().names():
            at = nw.col("assigned_at")
            a = a.filter(at.is_null() | in_window(at, h.period_start, h.period_end))
        ids = collect(a.select("customer_id").unique())["customer_id"].astype(str)
        assigned = int(df.loc[member, "customer_id"].isin(set(ids)).sum())
    if contacted or assigned:
        notes.append(("holdout_note_contaminated", {"contacted": contacted or 0,
                                                    "assigned": assigned or 0}))

    groups = (df.groupby("group")[list(GROUP_COLUMNS)].mean()
              .reindex([EXPOSED, HOLDOUT]))
    groups.insert(0, "customers", [n_e, n_h])
    groups = groups.reset_index()

    effects = pd.DataFrame(columns=list(EFFECT_COLUMNS))
    totals = pd.DataFrame(columns=list(TOTAL_COLUMNS))
    design: dict = {}
    if n_h < 2 or n_e < 2:
        notes.append(("holdout_note_too_few", {"n": n_h}))
    else:
        r = compare_arms(df, arm="group", control=HOLDOUT, metrics=METRICS,
                         covariates=COVARIATES, binary_metrics=["repurchase"],
                         alpha=params.alpha, correction=None, source="holdout customers")
        f = r.to_frame()
        effects = pd.DataFrame({
            "metric": f["metric"], "n_exposed": f["n_arm"], "n_holdout": f["n_control"],
            "mean_exposed": f["mean_arm"], "mean_holdout": f["mean_control"],
            "estimate": f["estimate"], "ci_low": f["ci_low"], "ci_high": f["ci_high"],
            "p_value": f["p_value"], "rel_estimate": f["rel_estimate"],
            "rel_ci_low": f["rel_ci_low"], "rel_ci_high": f["rel_ci_high"],
            "method": f["method"],
            "variance_reduction": pd.to_numeric(f["variance_reduction"], errors="coerce")})
        totals = pd.DataFrame({"metric": effects["metric"],
                               "total": effects["estimate"] * n_e,
                               "total_low": effects["ci_low"] * n_e,
                               "total_high": effects["ci_high"] * n_e})
        totals = totals[totals["metric"] != "repurchase"].reset_index(drop=True)
        profit = effects[effects["metric"] == "net_profit"]
        design, more = _design(df, None if profit.empty else profit.iloc[0].to_dict(),
                               h.min_detectable_profit, params.alpha)
        notes += more

    moments = _months(h.period_start, end - pd.Timedelta(days=1))
    drift = pd.DataFrame(columns=list(DRIFT_COLUMNS))
    detail = pd.DataFrame(columns=list(DETAIL_COLUMNS))
    if n_h and n_e:
        groups_t = shop.con.from_pandas(df[["customer_id", "group"]])
        counts = group_states(orders, groups_t, moments,
                              period_months=params.lifecycle_period_months)
        drift, detail = _drift(counts, moments)
        start_flag = drift[(drift["moment"] == "start") & drift["flagged"].astype(bool)]
        if not start_flag.empty:
            notes.append(("holdout_note_unbalanced_start", {}))
    return HoldoutAnalysis(
        campaign_id=params.campaign_id, display_name=params.display_name,
        language=params.language, currency=params.costs.currency, start=h.start, end=h.end,
        measured_to=measured_to, share=h.share, alpha=params.alpha, n_holdout=n_h,
        n_exposed=n_e, effects=effects.reset_index(drop=True), totals=totals, groups=groups,
        drift=drift, drift_detail=detail, design=design, contacted_members=contacted,
        assigned_members=assigned, truth=_truth(shop, params), notes=tuple(notes))
