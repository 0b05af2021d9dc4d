"""Saved models load back through MLflow and predict identically."""

from __future__ import annotations

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from crm_experiments.models import persistence
from crm_experiments.models.btyd import PURCHASE_MODELS, BetaGeoModel, PurchaseModel
from crm_experiments.models.clv import customer_clv
from crm_experiments.models.features import rfm_features
from crm_experiments.models.gamma_gamma import GammaGammaModel

from .cdnow import CALIBRATION_END, OBSERVATION_END, cdnow_orders


@pytest.fixture(scope="module")
def feats():
    return rfm_features(cdnow_orders(), CALIBRATION_END, OBSERVATION_END, unit="week")


def test_to_dict_round_trip_is_exact(feats):
    for kind in ("bg_nbd", "mbg_nbd"):
        m = PURCHASE_MODELS[kind]().fit(feats)
        back = PurchaseModel.from_dict(m.to_dict())
        np.testing.assert_array_equal(m.expected_purchases(39, feats),
                                      back.expected_purchases(39, feats))
        np.testing.assert_array_equal(m.p_alive(feats), back.p_alive(feats))


def test_mlflow_pyfunc_round_trip(feats, tmp_path):
    bg = BetaGeoModel().fit(feats)
    gg = GammaGammaModel().fit(feats)
    path = persistence.save_model(persistence.clv_pyfunc(bg, gg), tmp_path / "clv")
    loaded = mlflow.pyfunc.load_model(str(path))
    x = feats[["frequency", "recency", "T", "monetary_value"]]
    got = loaded.predict(x)
    want = customer_clv(bg, gg, x, unit="week")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert (got["clv_12m"] >= got["clv_3m"]).all()


def test_bg_nbd_p_alive_is_one_without_repeats(feats):
    bg = BetaGeoModel().fit(feats)
    pa = bg.p_alive(feats)
    assert (pa[feats["frequency"].to_numpy() == 0] == 1).all()
    p0 = bg.p_no_purchase(4, feats)
    assert ((p0 > 0) & (p0 < 1)).all()
