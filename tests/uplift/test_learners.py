"""The learners' thread rule (their estimates are checked in test_truth.py and test_units.py)."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from crm_experiments.uplift.learners import PARALLEL_PREDICT_ROWS, _limited_threads


def test_large_predictions_are_not_held_to_one_thread():
    """Fits and small predictions keep ``n_threads``; a prediction of many rows does not."""
    def openmp_threads():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"]

    class Probe:
        n_threads = 1

        @_limited_threads
        def predict(self, X):
            return openmp_threads()

        @_limited_threads
        def fit(self, X):
            return openmp_threads()

    unlimited = openmp_threads()
    if not unlimited or max(unlimited) < 2:
        pytest.skip("one OpenMP thread on this machine: nothing to lift")
    big = np.zeros((PARALLEL_PREDICT_ROWS, 1))
    assert set(Probe().predict(big[:10])) == {1} and set(Probe().fit(big)) == {1}
    assert Probe().predict(big) == unlimited
