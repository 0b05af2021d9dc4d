"""Models fall back instead of failing: Gamma-Gamma retried with a penalizer, a purchase model
that fails left out, churn compared without the purchase model when it cannot be fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_experiments.errors import CrmError
from crm_experiments.io.reader import load_shop
from crm_experiments.models import btyd, churn, validation
from crm_experiments.models.btyd import ConvergenceError, ModelWarning
from crm_experiments.models.churn import compare_churn_scorers
from crm_experiments.models.features import rfm_features
from crm_experiments.models.gamma_gamma import GammaGammaModel, fit_spend_model
from crm_experiments.params import load_params


def _spend_features(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    freq = rng.integers(1, 8, n)
    return pd.DataFrame({"frequency": freq, "recency": freq * 2.0, "T": 30.0,
                         "monetary_value": rng.gamma(4, 25, n)})


def _fails_without_penalizer(monkeypatch, times: int = 1) -> list[float]:
    """GammaGammaModel.fit raises ConvergenceError for ``times`` unpenalised fits."""
    real = GammaGammaModel.fit
    tried: list[float] = []

    def fit(self, *args, **kwargs):
        tried.append(self.penalizer_coef)
        if self.penalizer_coef == 0 and tried.count(0.0) <= times:
            raise ConvergenceError("Gamma-Gamma did not converge (test)")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(GammaGammaModel, "fit", fit)
    return tried


def test_spend_model_plain_fit_when_it_converges():
    m = fit_spend_model(_spend_features())
    assert m.penalizer_coef == 0 and m.failed_penalizers_ == ()


def test_spend_model_retried_with_a_penalizer(monkeypatch):
    tried = _fails_without_penalizer(monkeypatch)
    with pytest.warns(ModelWarning, match="penalizer"):
        m = fit_spend_model(_spend_features())
    assert tried == [0.0, 0.001]
    assert m.penalizer_coef == 0.001 and m.failed_penalizers_ == (0.0,)
    assert m.to_dict()["penalizer_coef"] == 0.001
    assert m.params_["q"] > 1


def test_spend_model_gives_up_after_every_penalizer(monkeypatch):
    def fit(self, *args, **kwargs):
        raise ConvergenceError("no (test)")

    monkeypatch.setattr(GammaGammaModel, "fit", fit)
    with pytest.raises(ConvergenceError, match="any penalizer"):
        fit_spend_model(_spend_features())


def test_spend_model_too_few_repeaters_not_retried():
    with pytest.raises(CrmError, match="too few") as info:
        fit_spend_model(_spend_features(n=5))
    assert not isinstance(info.value, ConvergenceError)


def test_a_failing_purchase_model_is_left_out(small_shop, monkeypatch):
    class Broken(btyd.PURCHASE_MODELS["bg_nbd"]):
        def fit(self, *args, **kwargs):
            raise CrmError("gives invalid P(alive) (test)")

    monkeypatch.setitem(validation.PURCHASE_MODELS, "bg_nbd", Broken)
    params = load_params(small_shop)
    shop = load_shop(params.data.path, params=params, validate=False)
    feats = rfm_features(shop["orders"], params.sale_start, unit="week")
    with pytest.warns(ModelWarning, match="bg_nbd left out: gives invalid"):
        models = validation.fit_purchase_models(feats, kinds=("bg_nbd", "mbg_nbd"))
    assert list(models) == ["mbg_nbd"]
    with pytest.warns(ModelWarning), pytest.raises(CrmError, match="bg_nbd: gives invalid"):
        validation.fit_purchase_models(feats, kinds=("bg_nbd",))


def test_churn_compared_without_the_purchase_model(small_shop, monkeypatch):
    """BG/NBD failing (or degenerate) leaves the hiatus rule and the classifier."""
    class Broken(btyd.PURCHASE_MODELS["bg_nbd"]):
        def fit(self, *args, **kwargs):
            raise ConvergenceError("BG/NBD at the edge of its parameter space (test)")

    monkeypatch.setitem(churn.PURCHASE_MODELS, "bg_nbd", Broken)
    params = load_params(small_shop)
    shop = load_shop(params.data.path, params=params, validate=False)
    c = compare_churn_scorers(shop["orders"], params.sale_start, 30, seed=1)
    assert set(c.scores["scorer"]) == {"hiatus", "classifier"}
    assert c.best in ("hiatus", "classifier") and c.one_timer_share is None
    assert "edge of its parameter space" in c.model_error
    assert c.models["purchase_model"] is None
    assert {"churn.hiatus.auc", "churn.classifier.brier"} <= set(c.metrics())


def test_churn_without_a_degenerate_purchase_model(small_shop, monkeypatch):
    """A fit at the edge of the parameter space that scores NaN: the model's scorers go."""
    model = btyd.PURCHASE_MODELS["bg_nbd"]
    monkeypatch.setattr(model, "p_no_purchase",
                        lambda self, t, feats: np.full(len(feats), np.nan))
    params = load_params(small_shop)
    shop = load_shop(params.data.path, params=params, validate=False)
    c = compare_churn_scorers(shop["orders"], params.sale_start, 30, seed=1)
    assert set(c.scores["scorer"]) == {"hiatus", "classifier"}
    assert "non-finite churn scores" in c.model_error
    assert any("left out" in w for w in c.warnings)
