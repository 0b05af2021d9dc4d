"""The model sample (models.sample): drawn by hashing the pseudonymous ids, so the same in any
row order; nested; a disjoint second sample; and the models fit exactly on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_experiments.io.holdout import holdout_position
from crm_experiments.models.btyd import BetaGeoModel
from crm_experiments.models.features import rfm_features
from crm_experiments.models.gamma_gamma import GammaGammaModel
from crm_experiments.models.sample import (
    precision_factor,
    salt_of,
    sample_positions,
    second_sample,
)

from .cdnow import CALIBRATION_END, cdnow_orders


def _ids(n: int) -> pd.Index:
    return pd.Index([f"C{i:07d}" for i in range(n)])


def test_sample_is_the_smallest_hash_positions_in_any_order():
    ids = _ids(5000)
    pick = sample_positions(ids, 300, seed=7)
    u = holdout_position(salt_of(7), ids)
    assert len(pick) == 300 and np.all(np.diff(pick) > 0)
    assert u[pick].max() < np.delete(u, pick).min()         # bottom-300 by hash
    shuffled = ids[np.random.default_rng(0).permutation(len(ids))]
    again = shuffled[sample_positions(shuffled, 300, seed=7)]
    assert set(again) == set(ids[pick])                     # row order does not matter
    other = ids[sample_positions(ids, 300, seed=8)]
    assert len(set(other) & set(ids[pick])) < 100           # the seed does
    assert set(ids[pick]) <= set(ids[sample_positions(ids, 600, seed=7)])  # nested
    second = second_sample(ids, 300, seed=7)
    assert len(second) == 300 and not set(second) & set(pick)
    assert u[second].min() >= u[pick].max()
    assert sample_positions(ids, 5000, 7) is None and sample_positions(ids, None, 7) is None
    assert second_sample(ids, 2501, 7) is None
    among = np.arange(5000) % 2 == 0
    sub = sample_positions(ids, 100, 7, among=among)
    assert set(ids[among][sub]) == set(ids[among][sample_positions(ids[among], 100, 7)])


def test_precision_factor_is_sqrt_n_over_sample():
    assert precision_factor(10_000_000, 1_000_000) == pytest.approx(np.sqrt(10))
    assert precision_factor(500, 1000) == 1.0


def test_models_fit_exactly_on_the_hashed_sample():
    f = rfm_features(cdnow_orders(), CALIBRATION_END, unit="week")
    n = len(f) // 3
    pick = sample_positions(f.index, n, seed=3)
    with pytest.warns(UserWarning, match="random sample"):
        sampled = BetaGeoModel().fit(f, max_customers=n, seed=3)
    direct = BetaGeoModel().fit(f.iloc[pick], max_customers=None)
    assert sampled.n_fit_customers_ == n and sampled.n_customers_ == len(f)
    assert sampled.params_ == pytest.approx(direct.params_, rel=1e-9)
    # the same customers in another row order give the same fit
    shuffled = f.iloc[np.random.default_rng(1).permutation(len(f))]
    with pytest.warns(UserWarning):
        again = BetaGeoModel().fit(shuffled, max_customers=n, seed=3)
    assert again.params_ == pytest.approx(sampled.params_, rel=1e-6)
    repeaters = (f["frequency"] > 0) & (f["monetary_value"] > 0)
    k = int(repeaters.sum()) // 2
    with pytest.warns(UserWarning, match="random sample"):
        gg = GammaGammaModel().fit(f, max_customers=k, seed=3)
    rows = f[repeaters.to_numpy()].iloc[sample_positions(f.index, k, 3,
                                                         among=repeaters.to_numpy())]
    assert gg.n_fit_customers_ == k
    assert gg.params_ == pytest.approx(GammaGammaModel().fit(rows, max_customers=None).params_,
                                       rel=1e-9)


def test_second_sample_among_a_mask_counts_among_the_masked_ids():
    ids = _ids(3000)
    among = np.arange(3000) % 3 == 0
    first = sample_positions(ids, 200, 5, among=among)
    second = second_sample(ids, 200, 5, among=among)
    sub = ids[among]
    assert set(sub[second]) == set(sub[second_sample(sub, 200, 5)])
    assert len(second) == 200 and not set(first) & set(second)
    assert second_sample(ids, 501, 5, among=among) is None


def test_the_churn_comparison_states_the_one_precision_factor(monkeypatch):
    """The churn metrics' sqrt(N / n) is :func:`precision_factor` (no second formula)."""
    from crm_experiments.models import churn

    c = churn.ChurnComparison(
        cutoff=pd.Timestamp("2026-11-01"), churn_days=90,
        scores=pd.DataFrame({"scorer": ["hiatus"], "auc": [0.7], "brier": [0.2], "n": [1000],
                             "churn_rate": [0.3]}),
        reliability=pd.DataFrame(), best="hiatus", reason="", population=250_000, sampled=True)
    assert c.metrics()["churn.precision_factor"] == precision_factor(250_000, 1000)
    monkeypatch.setattr(churn, "precision_factor", lambda population, sample: -1.0)
    assert c.metrics()["churn.precision_factor"] == -1.0


def test_sample_defaults_are_the_params_ones():
    """The params' description states the one definition of the defaults
    (``params.ModelSample``)."""
    from crm_experiments.params import CampaignParams, ModelSample

    defaults = ModelSample()
    described = CampaignParams.model_fields["model_sample"].description
    assert all(f"{k}: {v}" in described for k, v in defaults.model_dump().items())
