"""Participants vs non-participants of an interactive activity (sign-in 签到, lottery ...).

**Observational.** Customers choose to take part, and those who do are the ones who buy
anyway; the raw difference mixes that selection with any effect of the activity. The result
therefore always carries ``label = "observational"``, ``causal = False`` and a warning, and
gives an adjusted difference beside the raw one. The adjustment removes only the selection
that the pre-period RFM features explain.

Population and features (per customer, computed in the engine)
    population = customers known before the window: a purchase before ``start`` (any time),
    or listed in the ``customers`` table when given. Participants outside it (first-time
    visitors without a member record) are left out and counted
    (``participants_outside_population``): including them only on the participant side would
    give the propensity model a group without comparable non-participants.
    ``participant`` = at least one interaction of
    ``kind`` with ``at`` in ``[start, end)``. Features over purchases in
    ``[start - lookback_days, start)``: ``recency_days`` (``start`` - last purchase, days;
    ``lookback_days`` when none), ``frequency`` (purchases), ``log_monetary`` = ``log1p``
    of net revenue, and ``no_history`` (1 when no purchase in the lookback).

============================  ===============================================================
quantity                      definition
============================  ===============================================================
converted                     1 if a purchase was created in the outcome window (share)
revenue                       net revenue of purchases in the outcome window (currency per
                              customer); outcome window = ``[start, end)`` unless given
raw difference                mean(participants) - mean(non-participants); OLS on a
                              participation dummy with HC1 sandwich errors (≈ Welch)
propensity ``e(x)``           logistic regression (statsmodels ``Logit``) of participation on
                              the four features and a constant
ATT weights                   1 for participants, ``e / (1 - e)`` for non-participants
                              (``e`` clipped to ``[1e-6, 1 - 1e-6]``)
adjusted difference           weighted least squares of the outcome on the dummy with those
                              weights, HC1 sandwich errors; the effect on the participants
                              (ATT) if participation depends on nothing else. The errors treat
                              the weights as known (the propensity fit is not propagated).
SMD                           ``(mean_p - mean_n) / sqrt((var_p + var_n) / 2)`` per feature;
                              after weighting the non-participant mean is the weighted one,
                              the denominator the unweighted one (|SMD| < 0.1: balanced)
``ess_non_participants``      Kish effective sample size ``(Σw)² / Σw²`` of the weighted
                              non-participants
============================  ===============================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import statsmodels.api as sm

from crm_experiments.io.schema import INTERACTION_KINDS
from crm_experiments.metrics.orders import TimeLike, in_window, net_revenue, purchases, ts

FEATURES = ("recency_days", "frequency", "log_monetary", "no_history")
OUTCOMES = ("converted", "revenue")
OBSERVATIONAL_WARNING = (
    "Observational: customers chose to take part. The raw difference mixes the activity's "
    "effect with who takes part; the adjusted difference removes only the selection explained "
    "by pre-period recency, frequency and spend. Neither is a randomised effect.")


@dataclass(frozen=True)
class InteractionComparison:
    """Participants vs non-participants of one interaction kind (see the module doc)."""

    kind: str
    window: tuple[pd.Timestamp, pd.Timestamp]
    outcome_window: tuple[pd.Timestamp, pd.Timestamp]
    n_participants: int
    n_non_participants: int
    effects: pd.DataFrame   # index (outcome, method): mean_participants, mean_non_participants,
    #                         estimate, se, ci_low, ci_high, p_value
    balance: pd.DataFrame   # index feature: mean_participants, mean_non_participants(_weighted),
    #                         smd_before, smd_after
    ess_non_participants: float
    max_weight: float
    alpha: float
    participants_outside_population: int = 0
    label: str = "observational"
    causal: bool = False
    warning: str = OBSERVATIONAL_WARNING

    def to_frame(self) -> pd.DataFrame:
        """The effects, one row per (outcome, method), with kind, label and causal."""
        return self.effects.reset_index().assign(kind=self.kind, label=self.label,
                                                 causal=self.causal,
                                                 n_participants=self.n_participants,
                                                 n_non_participants=self.n_non_participants)


def participation_table(orders: ir.Table, interactions: ir.Table, kind: str, start: TimeLike,
                        end: TimeLike, *, outcome_window: tuple[TimeLike, TimeLike] | None = None,
                        lookback_days: int = 365,
                        customers: ir.Table | None = None) -> ir.Table:
    """Per customer of the population: ``customer_id, participant`` (0/1), the features of
    :data:`FEATURES` and the outcomes of :data:`OUTCOMES`."""
    if kind not in INTERACTION_KINDS:
        raise ValueError(f"unknown interaction kind {kind!r}; "
                         f"one of {', '.join(INTERACTION_KINDS)}")
    s = pd.Timestamp(start)
    o_start, o_end = outcome_window if outcome_window is not None else (start, end)
    p = purchases(orders)
    p = p.mutate(_rev=net_revenue(p))

    i = interactions.filter((interactions.kind == kind) & in_window(interactions["at"], start, end))
    part = i.select("customer_id").distinct().mutate(participant=ibis.literal(1, "int64"))
    pop = _population(p, s, customers)

    pre = p.filter(in_window(p.created_at, s - pd.Timedelta(days=lookback_days), s))
    pre = pre.group_by("customer_id").aggregate(
        _last=pre.created_at.max(), frequency=pre.count(), _mon=pre._rev.sum())
    post = p.filter(in_window(p.created_at, o_start, o_end))
    post = post.group_by("customer_id").aggregate(_n=post.count(), revenue=post._rev.sum())

    t = pop.left_join(part, "customer_id").left_join(pre, "customer_id").left_join(
        post, "customer_id")
    recency = (ts(s).epoch_seconds() - t._last.epoch_seconds()) / 86400.0
    return t.select(
        "customer_id",
        participant=t.participant.fill_null(0),
        recency_days=recency.cast("float64").fill_null(float(lookback_days)),
        frequency=t.frequency.fill_null(0).cast("float64"),
        log_monetary=(t._mon.fill_null(0.0).cast("float64") + 1.0).ln(),
        no_history=t._last.isnull().cast("float64"),
        converted=(t._n.fill_null(0) > 0).cast("float64"),
        revenue=t.revenue.fill_null(0.0).cast("float64"),
    )


def _population(p: ir.Table, start: pd.Timestamp, customers: ir.Table | None) -> ir.Table:
    pop = p.filter(p.created_at < ts(start)).select("customer_id")
    if customers is not None:
        pop = pop.union(customers.select("customer_id"))
    return pop.distinct()


def _wls(y: np.ndarray, treat: np.ndarray, w: np.ndarray, alpha: float) -> dict[str, float]:
    x = np.column_stack([np.ones_like(treat), treat])
    fit = sm.WLS(y, x, weights=w).fit(cov_type="HC1")
    lo, hi = fit.conf_int(alpha=alpha)[1]
    return {"estimate": float(fit.params[1]), "se": float(fit.bse[1]), "ci_low": float(lo),
            "ci_high": float(hi), "p_value": float(fit.pvalues[1])}


def _smd(a: np.ndarray, b: np.ndarray, wb: np.ndarray | None, sd: float) -> float:
    mb = np.average(b, weights=wb)
    return float((a.mean() - mb) / sd) if sd > 0 else (0.0 if a.mean() == mb else math.inf)


def compare_participants(frame: pd.DataFrame, *, alpha: float = 0.05,
                         features: tuple[str, ...] = FEATURES,
                         outcomes: tuple[str, ...] = OUTCOMES) -> dict:
    """Raw and ATT-weighted differences and the balance table from a per-customer frame
    (as :func:`participation_table` returns). Returns the parts of
    :class:`InteractionComparison` as a dict."""
    treat = frame["participant"].to_numpy(dtype=float)
    n1, n0 = int(treat.sum()), int(len(treat) - treat.sum())
    if n1 < 2 or n0 < 2:
        raise ValueError(f"need at least 2 participants and 2 non-participants (got {n1}, {n0})")
    x = frame[list(features)].to_numpy(dtype=float)
    keep = [j for j in range(x.shape[1]) if np.ptp(x[:, j]) > 0]  # drop constant features
    design = sm.add_constant(x[:, keep], has_constant="add")
    logit = sm.Logit(treat, design).fit(disp=0, maxiter=200)
    e = np.clip(logit.predict(design), 1e-6, 1 - 1e-6)
    w = np.where(treat == 1, 1.0, e / (1 - e))
    w0 = w[treat == 0]
    ess = float(w0.sum() ** 2 / (w0**2).sum())

    rows = []
    for name in outcomes:
        y = frame[name].to_numpy(dtype=float)
        y1, y0 = y[treat == 1], y[treat == 0]
        for method, weights, m0 in (("raw", np.ones_like(w), y0.mean()),
                                    ("ipw_att", w, np.average(y0, weights=w0))):
            rows.append({"outcome": name, "method": method, "mean_participants": y1.mean(),
                         "mean_non_participants": float(m0),
                         **_wls(y, treat, weights, alpha)})
    effects = pd.DataFrame(rows).set_index(["outcome", "method"])

    bal = []
    for j, name in enumerate(features):
        a, b = x[treat == 1, j], x[treat == 0, j]
        sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        bal.append({"feature": name, "mean_participants": a.mean(),
                    "mean_non_participants": b.mean(),
                    "mean_non_participants_weighted": float(np.average(b, weights=w0)),
                    "smd_before": _smd(a, b, None, sd), "smd_after": _smd(a, b, w0, sd)})
    return {"n_participants": n1, "n_non_participants": n0, "effects": effects,
            "balance": pd.DataFrame(bal).set_index("feature"), "ess_non_participants": ess,
            "max_weight": float(w0.max())}


def interaction_comparison(orders: ir.Table, interactions: ir.Table, kind: str,
                           start: TimeLike, end: TimeLike, *,
                           outcome_window: tuple[TimeLike, TimeLike] | None = None,
                           lookback_days: int = 365, customers: ir.Table | None = None,
                           alpha: float = 0.05) -> InteractionComparison:
    """Participants vs non-participants of ``kind`` in ``[start, end)``: raw and adjusted
    differences of the outcomes, balance table; always labelled observational."""
    frame = participation_table(orders, interactions, kind, start, end,
                                outcome_window=outcome_window, lookback_days=lookback_days,
                                customers=customers).to_pandas()
    ow = outcome_window if outcome_window is not None else (start, end)
    i = interactions.filter((interactions.kind == kind)
                            & in_window(interactions["at"], start, end))
    outside = i.select("customer_id").distinct().anti_join(
        _population(purchases(orders), pd.Timestamp(start), customers), "customer_id")
    return InteractionComparison(
        kind=kind, window=(pd.Timestamp(start), pd.Timestamp(end)),
        outcome_window=(pd.Timestamp(ow[0]), pd.Timestamp(ow[1])), alpha=alpha,
        participants_outside_population=int(outside.count().to_pandas()),
        **compare_participants(frame, alpha=alpha))
