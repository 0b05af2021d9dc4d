"""What the extra notebooks (CLV/churn, coupon uplift) take from the campaign's evaluation
instead of computing it again: the stored result itself (:func:`stored_evaluation`) and its
per-customer table (:func:`evaluation_customers`).

The runner writes the evaluation's result before the extra notebooks run, each into a
subfolder of its results folder; a notebook run by hand passes none and everything is
computed. The per-customer table is
:func:`crm_experiments.metrics.campaign.campaign_customers` of the same shop, campaign and
horizon, stored by the evaluation as it was computed (sorted by id), so taking it changes no
figure and saves the engine's pass over every order and the lifecycle states.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from crm_experiments.analyses.result import TABLES_DIR, ResultSchemaError, StoredResult
from crm_experiments.params import CampaignParams

#: The evaluation's per-customer table (:meth:`Evaluation.tables`).
CUSTOMERS_TABLE = "customers"


def stored_evaluation(folder: str | Path) -> StoredResult | None:
    """The evaluation result stored in ``folder`` (the runner writes it there before the
    extra notebooks run, each into a subfolder), read as every stored result is
    (:meth:`~crm_experiments.analyses.result.ResultMixin.read`: checked against its schema,
    each table read when first used, so the per-customer table is not read here;
    :func:`evaluation_customers` reads the columns it is asked for). None when ``folder``
    holds no readable evaluation result."""
    from crm_experiments.analyses.campaign import Evaluation

    try:
        return Evaluation.read(folder)
    except (ResultSchemaError, OSError, ValueError):
        return None


def is_this_campaigns(evaluation, params: CampaignParams, horizon_days: int) -> bool:
    """Whether ``evaluation`` (live or stored, or None) is the evaluation of ``params``'
    campaign at ``horizon_days``: only then may a notebook take figures from it."""
    if evaluation is None:
        return False
    s = evaluation.summary()
    return s.get("campaign_id") == params.campaign_id and s.get("horizon_days") == horizon_days


def evaluation_customers(evaluation, params: CampaignParams, horizon_days: int,
                         columns: Sequence[str] | None = None) -> pd.DataFrame | None:
    """The per-customer table of ``evaluation`` (live or stored) when it is this campaign's
    at this horizon, else None (the caller computes it). With ``columns``, only
    ``customer_id`` and those of them the table has (a stored table reads just these). A live
    evaluation's table comes as a new frame over the same columns (adding a column to it
    leaves the evaluation's as it was)."""
    if not is_this_campaigns(evaluation, params, horizon_days):
        return None

    def wanted(names) -> list[str] | None:
        if columns is None:
            return None
        return [c for c in dict.fromkeys(["customer_id", *columns]) if c in names]

    live = getattr(evaluation, "customers", None)
    if isinstance(live, pd.DataFrame):
        if live.empty:
            return None
        want = wanted(live.columns)
        return live.copy(deep=False) if want is None else live[want]
    path = getattr(evaluation, "path", None)
    if path is None:
        return None
    file = Path(path) / TABLES_DIR / f"{CUSTOMERS_TABLE}.parquet"
    try:
        return pd.read_parquet(file, columns=wanted(pq.read_schema(file).names))
    except (OSError, ValueError):
        return None
