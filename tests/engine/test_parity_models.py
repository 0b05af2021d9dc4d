"""The models' engine functions (BTYD and behaviour features, the churn comparison on its
sampled path) on DuckDB and on Spark (``local[2]``) give the same result on one generated
shop (fixtures and the comparison rule: ``tests/engine/conftest.py``)."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_experiments.analyses import clv
from crm_experiments.models import churn, features
from tests.engine.conftest import assert_same


def _cutoff(params) -> pd.Timestamp:
    return params.sale_start


CASES = {
    "features.purchase_days": lambda s, p: features.purchase_days(s["orders"], _cutoff(p)),
    "features.purchase_days(start)": lambda s, p: features.purchase_days(
        s["orders"], p.window_end(30), start=_cutoff(p)),
    "features.rfm_expr": lambda s, p: features.rfm_expr(s["orders"], _cutoff(p),
                                                        p.window_end(30)),
    "features.rfm_features(day)": lambda s, p: features.rfm_features(s["orders"], _cutoff(p)),
    "features.rfm_features(week, holdout)": lambda s, p: features.rfm_features(
        s["orders"], _cutoff(p), p.window_end(30), unit="week"),
    "features.repeat_purchases_by_day": lambda s, p: features.repeat_purchases_by_day(
        s["orders"], _cutoff(p) - pd.Timedelta(days=180), p.window_end(30),
        _cutoff(p) - pd.Timedelta(days=90)),
    "features.behaviour_features": lambda s, p: features.behaviour_features(
        s["orders"], _cutoff(p)),
    "features.behaviour_features(interactions)": lambda s, p: features.behaviour_features(
        s["orders"], _cutoff(p), interactions=s["interactions"]),
    "features.future_purchase_flag": lambda s, p: features.future_purchase_flag(
        s["orders"], _cutoff(p), _cutoff(p) + pd.Timedelta(days=30)),
    "features.data_end": lambda s, p: features.data_end(s["orders"]),
    # sampled path: engine.from_pandas + semi join + cache/release, seeded sample of ids
    "churn.compare_churn_scorers(sampled)": lambda s, p: churn.compare_churn_scorers(
        s["orders"], _cutoff(p), 30, interactions=s["interactions"], max_customers=800,
        engine=s.con),
    "churn.compare_churn_scorers(engine_of)": lambda s, p: churn.compare_churn_scorers(
        s["orders"], _cutoff(p), 30, max_customers=None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_on_duckdb_and_spark(shops, case):
    params, duck, spark = shops
    fn = CASES[case]
    assert_same(fn(duck, params), fn(spark, params), path=case, skip=frozenset({"models"}))


def test_campaign_clv(shops):
    """The CLV analysis (features, fitted BTYD and spend models, churn scorers, incremental
    CLV by arm) from each engine's features: same numbers (the models are fitted in pandas)."""
    params, duck, spark = shops
    a = clv.campaign_clv(duck, params, 30, n_boot=100)
    b = clv.campaign_clv(spark, params, 30, n_boot=100)
    assert_same(a, b, path="campaign_clv", skip=frozenset({"models"}))
