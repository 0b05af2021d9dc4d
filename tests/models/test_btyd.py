"""models.btyd's plumbing around lifetimes: the fits skip lifetimes' Hessian (standard errors
the package never reads) and give exactly lifetimes' own parameters."""

from __future__ import annotations

import contextlib
import io
import warnings

import lifetimes.fitters
import numpy as np
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter

from crm_experiments.models.btyd import (
    BetaGeoModel,
    ModifiedBetaGeoModel,
    _compress,
    without_standard_errors,
)
from crm_experiments.models.features import rfm_features
from crm_experiments.models.gamma_gamma import GammaGammaModel

from .cdnow import CALIBRATION_END, cdnow_orders


@pytest.fixture(scope="module")
def features():
    return rfm_features(cdnow_orders(), CALIBRATION_END, unit="week")


def _lifetimes_fit(fitter, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fitter.fit(*args, **kwargs)


@pytest.mark.parametrize(("model", "fitter"), [(BetaGeoModel, BetaGeoFitter),
                                                (ModifiedBetaGeoModel, ModifiedBetaGeoFitter)])
def test_purchase_models_have_lifetimes_parameters_without_its_hessian(features, model, fitter,
                                                                      monkeypatch):
    calls = []
    real = lifetimes.fitters.hessian

    def counted(fun):
        calls.append(fun)
        return real(fun)

    monkeypatch.setattr(lifetimes.fitters, "hessian", counted)
    m = model().fit(features)
    assert not calls and lifetimes.fitters.hessian is counted  # skipped, then restored
    x, t_x, T, w = _compress(*(features[c].to_numpy(float) for c in ("frequency", "recency",
                                                                     "T")))
    lt = _lifetimes_fit(fitter(), x, t_x, T, weights=w)  # with its Hessian
    assert np.isfinite(lt._hessian_).all()
    assert m.params_ == {k: float(lt.params_[k]) for k in m.param_names}  # bit for bit


def test_gamma_gamma_has_lifetimes_parameters_without_its_hessian(features):
    gg = GammaGammaModel().fit(features)
    rep = features[features["frequency"] > 0]
    x, m = rep["frequency"].to_numpy(float), rep["monetary_value"].to_numpy(float)
    scale = float(np.median(m))
    lt = _lifetimes_fit(GammaGammaFitter(), x, m / scale)
    assert gg.params_ == {"p": float(lt.params_["p"]), "q": float(lt.params_["q"]),
                          "v": float(lt.params_["v"]) * scale}


def test_the_hessian_is_nan_inside_and_restored_after_an_error():
    with pytest.raises(RuntimeError), without_standard_errors():
        h = lifetimes.fitters.hessian(lambda p: 0.0)(np.ones(3))
        assert h.shape == (3, 3) and np.isnan(h).all()
        raise RuntimeError
    assert lifetimes.fitters.hessian(lambda p: (p ** 2).sum())(np.ones(2)).tolist() == \
        [[2.0, 0.0], [0.0, 2.0]]
