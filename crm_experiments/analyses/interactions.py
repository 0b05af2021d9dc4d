"""Participants vs non-participants of the shop's interactive activities during a sale.

**Observational, not causal**: customers choose to sign in or play the lottery, and those
who do are the ones who buy anyway. The per-customer table comes from the engine
(:func:`crm_experiments.metrics.interactions.participation_table`: customers who bought
before the sale, their recency, frequency and spend over the year before it, their outcomes);
the raw and weighted differences and the balance from
:func:`crm_experiments.stats.observational.compare_observational`.

:func:`interaction_comparison` compares one activity (for a notebook);
:func:`activity_comparisons` is the evaluation's table: one row per activity of
:data:`~crm_experiments.metrics.interactions.ACTIVITY_KINDS` that had participants during
the sale and per outcome (bought in the evaluation window, revenue per customer in it).

Columns of that table beyond the counts and means: ``raw_*`` (difference of means, OLS with
HC1 errors), ``adjusted_*`` (ATT by inverse-probability weighting, WLS with HC1 errors),
``max_abs_smd_before`` / ``_after`` (largest ``|SMD|`` of the covariates), ``balanced``
(1.0 when every ``|SMD|`` after weighting is below 0.1), ``ess_non_participants`` and
``max_weight`` (the weights' spread), ``covariates`` (comma-separated, those in the
propensity model), ``participants_outside`` (participants without a purchase before the
sale, left out). Activities too small to compare have counts and NaN elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw
import numpy as np
import pandas as pd

from crm_experiments.io.engine import collect
from crm_experiments.io.reader import ShopData
from crm_experiments.metrics.interactions import (
    ACTIVITY_KINDS,
    FEATURES,
    OUTCOMES,
    participation_by_kind,
)
from crm_experiments.metrics.orders import TimeLike
from crm_experiments.params import CampaignParams
from crm_experiments.stats.observational import (
    BALANCED_SMD,
    METHODS,
    ObservationalComparison,
    compare_observational,
)

#: Pre-period of the covariates (days before the sale).
LOOKBACK_DAYS = 365
#: An activity is compared when it had at least this many participants and non-participants
#: in the population (as the segments' minimum per arm); smaller ones are listed, not compared.
MIN_PARTICIPANTS = 30
#: Columns of the evaluation's ``interactions`` table (one row per activity and outcome).
COLUMNS = ("kind", "outcome", "participation_start", "participation_end", "n_participants",
           "n_non_participants", "participants_outside", "mean_participants",
           "mean_non_participants", "mean_non_participants_weighted", "raw_estimate",
           "raw_ci_low", "raw_ci_high", "raw_p_value", "adjusted_estimate", "adjusted_ci_low",
           "adjusted_ci_high", "adjusted_p_value", "max_abs_smd_before", "max_abs_smd_after",
           "balanced", "ess_non_participants", "max_weight", "covariates", "method",
           "interval")


@dataclass(frozen=True)
class InteractionComparison:
    """Participants vs non-participants of one activity: the window, the participants left
    out of the population, and the observational comparison (raw and ATT-weighted
    differences, balance)."""

    kind: str
    window: tuple[pd.Timestamp, pd.Timestamp]
    outcome_window: tuple[pd.Timestamp, pd.Timestamp]
    comparison: ObservationalComparison
    participants_outside_population: int = 0

    @property
    def n_participants(self) -> int:
        return self.comparison.n_treated

    @property
    def n_non_participants(self) -> int:
        return self.comparison.n_untreated

    @property
    def effects(self) -> pd.DataFrame:
        """Index (outcome, method); means of participants and non-participants, estimate, se,
        interval, p-value."""
        return self.comparison.effects.rename(columns={
            "mean_treated": "mean_participants", "mean_untreated": "mean_non_participants"})

    @property
    def balance(self) -> pd.DataFrame:
        return self.comparison.balance

    @property
    def label(self) -> str:
        return self.comparison.label

    @property
    def causal(self) -> bool:
        return self.comparison.causal

    @property
    def warning(self) -> str:
        return self.comparison.warning

    def to_frame(self) -> pd.DataFrame:
        """The effects, one row per (outcome, method), with kind, counts, label and causal."""
        return self.effects.reset_index().assign(
            kind=self.kind, label=self.label, causal=self.causal,
            n_participants=self.n_participants, n_non_participants=self.n_non_participants)


def interaction_comparison(orders: nw.LazyFrame, interactions: nw.LazyFrame, kind: str,
                           start: TimeLike, end: TimeLike, *,
                           outcome_window: tuple[TimeLike, TimeLike] | None = None,
                           lookback_days: int = LOOKBACK_DAYS,
                           customers: nw.LazyFrame | None = None,
                           alpha: float = 0.05) -> InteractionComparison:
    """Participants vs non-participants of ``kind`` in ``[start, end)`` on the outcomes in
    ``outcome_window`` (default the same window); always labelled observational."""
    frame, outside = _participation(orders, interactions, (kind,), start, end,
                                    outcome_window=outcome_window,
                                    lookback_days=lookback_days, customers=customers)
    ow = outcome_window if outcome_window is not None else (start, end)
    return InteractionComparison(
        kind=kind, window=(pd.Timestamp(start), pd.Timestamp(end)),
        outcome_window=(pd.Timestamp(ow[0]), pd.Timestamp(ow[1])),
        comparison=compare_observational(frame, treatment=kind, covariates=FEATURES,
                                         outcomes=OUTCOMES, alpha=alpha),
        participants_outside_population=outside[kind])


def _participation(orders: nw.LazyFrame, interactions: nw.LazyFrame, kinds: tuple[str, ...],
                   start: TimeLike, end: TimeLike, **options) -> tuple[pd.DataFrame,
                                                                       dict[str, int]]:
    """The population's rows of :func:`participation_by_kind` (one query for all ``kinds``)
    and, per kind, the number of its participants outside the population."""
    frame = collect(participation_by_kind(orders, interactions, kinds, start, end, **options))
    inside = frame["in_population"].to_numpy() == 1
    outside = {k: int((frame[k].to_numpy()[~inside] == 1).sum()) for k in kinds}
    return frame[inside].reset_index(drop=True), outside


def activity_comparisons(shop: ShopData, params: CampaignParams,
                         window: tuple[pd.Timestamp, pd.Timestamp]
                         ) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The evaluation's ``interactions`` table (:data:`COLUMNS`) and its data notes (keys of
    the report's translation table): participation during the sale, outcomes over the
    evaluation ``window``, population = customers who bought before the sale. Activities
    without participants are left out; those with fewer than :data:`MIN_PARTICIPANTS`
    participants or non-participants get their counts and no estimates. No customer bought
    before the sale (no history in the data): nobody to compare, an empty table and the note
    ``note_interactions_no_history``. Every activity comes from one engine query."""
    empty = pd.DataFrame(columns=list(COLUMNS))
    if not shop.has("interactions"):
        return empty, ("note_no_interactions",)
    start, end = params.sale_start, params.sale_end
    frame, outside = _participation(shop["orders"], shop["interactions"], ACTIVITY_KINDS,
                                    start, end, outcome_window=window,
                                    lookback_days=LOOKBACK_DAYS)
    if frame.empty:  # the population (bought before the sale) is the same for every kind
        return empty, ("note_interactions_no_history",)
    rows = []
    for kind in ACTIVITY_KINDS:
        n1 = int(frame[kind].sum())
        if n1 + outside[kind] == 0:
            continue
        base = {"kind": kind, "participation_start": str(start.date()),
                "participation_end": str((end - pd.Timedelta(days=1)).date()),
                "n_participants": n1, "n_non_participants": len(frame) - n1,
                "participants_outside": outside[kind]}
        if min(n1, len(frame) - n1) < MIN_PARTICIPANTS:
            rows += [{**base, "outcome": outcome} for outcome in OUTCOMES]
            continue
        r = compare_observational(frame, treatment=kind, covariates=FEATURES,
                                  outcomes=OUTCOMES, alpha=params.alpha)
        rows += [{**base, **_outcome_row(r, outcome)} for outcome in OUTCOMES]
    if not rows:
        return empty, ("note_no_activities",)
    return pd.DataFrame(rows).reindex(columns=list(COLUMNS)), ()


def _outcome_row(r: ObservationalComparison, outcome: str) -> dict:
    raw, adj = (r.effects.loc[(outcome, m)] for m in METHODS)
    return {
        "outcome": outcome, "mean_participants": raw["mean_treated"],
        "mean_non_participants": raw["mean_untreated"],
        "mean_non_participants_weighted": adj["mean_untreated"],
        **{f"raw_{k}": raw[k] for k in ("estimate", "ci_low", "ci_high", "p_value")},
        **{f"adjusted_{k}": adj[k] for k in ("estimate", "ci_low", "ci_high", "p_value")},
        "max_abs_smd_before": r.max_abs_smd_before, "max_abs_smd_after": r.max_abs_smd_after,
        "balanced": float(r.balanced), "ess_non_participants": r.ess_untreated,
        "max_weight": r.max_weight, "covariates": ",".join(r.covariates),
        "method": METHODS[1], "interval": r.interval,
    }


def interaction_methods(table: pd.DataFrame, alpha: float) -> dict:
    """What the ``interactions`` table applied, read from it (for the report's Methods): the
    activities compared, the covariates of the propensity model, the weighting, the interval
    and its level; empty when nothing was compared."""
    if table.empty:
        return {}
    done = table[np.isfinite(pd.to_numeric(table["adjusted_estimate"], errors="coerce"))]
    covariates = [c for c in FEATURES
                  if any(c in str(v).split(",") for v in done["covariates"])]
    return {
        "observational": True,
        "kinds": list(dict.fromkeys(done["kind"])),
        "population": "bought_before_sale",
        "covariates": covariates,
        "lookback_days": LOOKBACK_DAYS,
        "propensity": "logit",
        "method": list(dict.fromkeys(done["method"])),
        "interval": list(dict.fromkeys(done["interval"])),
        "level": 1 - alpha,
        "balance_threshold": BALANCED_SMD,
        "min_participants": MIN_PARTICIPANTS,
        "correction": None,
    }
