"""Multi-treatment meta-learners of the conditional average treatment effect, on scikit-learn.

Why not a library: scikit-uplift is unmaintained and breaks on current scikit-learn; causalml
pulls in heavy dependencies (and compiled extensions). A meta-learner is a few dozen lines
around :class:`~sklearn.ensemble.HistGradientBoostingRegressor` /
:class:`~sklearn.ensemble.HistGradientBoostingClassifier`, which handle missing values and
categorical codes natively and are fast.

All learners share one interface (scikit-learn conventions: hyper-parameters in ``__init__``,
learned state in attributes ending in ``_``):

``fit(X, y, treatment)``
    ``X`` a numeric matrix (see :class:`~crm_experiments.uplift.features.FeatureEncoder`),
    ``y`` the outcome (0/1 outcomes get classifiers for the outcome models, anything else
    regressors), ``treatment`` the arm label of each row; ``control`` names the control arm,
    every other label is a treatment. ``arms_`` lists the treatments.
``predict(X)``
    ``(n, len(arms_))``: the estimated effect of each treatment vs the control.
``predict_outcomes(X)``
    ``(n, 1 + len(arms_))``: estimated mean outcome under the control and each treatment
    (used by doubly robust policy evaluation).

For the X- and DR-learners the nuisance (outcome) models are **cross-fitted**: the training
rows are split into ``n_folds`` folds; a row's own outcome never enters the outcome model that
builds its pseudo-outcome, and new rows get the average of the fold models. The T-learner uses
no out-of-fold prediction, so it fits one outcome model per arm on all its training rows
(fold models would only triple the cost of every prediction). Propensities are the arms'
shares in the training data (the data come from a randomised experiment; for observational
data the learners would need a propensity model, which this module does not fit).

* :class:`TLearner`: one outcome model per arm; effect = difference of predictions.
* :class:`XLearner` (Kuenzel et al. 2019): imputed effects ``y - mu_0(x)`` on the treated and
  ``mu_a(x) - y`` on the controls, each regressed on ``x``, combined with the propensity weight.
* :class:`DRLearner` (Kennedy 2023): regress the AIPW pseudo-outcome
  ``mu_a - mu_0 + 1[T=a](y - mu_a)/e_a - 1[T=0](y - mu_0)/e_0`` on ``x``.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from crm_experiments.errors import CrmError


class LearnerError(CrmError):
    """The data cannot train an uplift learner (e.g. an arm with too few rows)."""


def _is_binary(y: np.ndarray) -> bool:
    return bool(np.isin(y, (0.0, 1.0)).all())


def default_model(kind: str, *, max_iter: int = 150, categorical_mask=None,
                  random_state: int = 0, n_rows: int = 10_000, role: str = "outcome"):
    """A modest, strongly regularised histogram gradient boosting model (``kind``: regressor
    or classifier); early stopping is off so that fits are reproducible and fast.

    Customer-level effects are small against the noise of a purchase outcome, so leaves are
    large: an outcome model's leaves hold at least 1 % of its rows, an effect model (X/DR final
    stage) is a boosted set of depth-2 trees with leaves of at least 5 % of its rows."""
    if role == "effect":
        shape = dict(max_depth=2, max_leaf_nodes=4, min_samples_leaf=max(20, n_rows // 20))
    else:
        shape = dict(max_leaf_nodes=8, min_samples_leaf=max(20, n_rows // 100))
    common = dict(learning_rate=0.05, max_iter=max_iter, **shape,
                  l2_regularization=1.0, early_stopping=False,
                  categorical_features=(categorical_mask if categorical_mask is not None
                                        and np.any(categorical_mask) else None),
                  random_state=random_state)
    if kind == "classifier":
        return HistGradientBoostingClassifier(**common)
    return HistGradientBoostingRegressor(**common)


#: Predictions for at least this many rows use every core whatever ``n_threads`` says: they
#: split by rows, so threads do not fight over small parallel regions as fits do (predicting
#: 2M rows with 150 trees on the 2-core machine: 12.6-13.1 s on one thread, 6.3-6.8 s on two;
#: the same numbers). The threshold itself was chosen, not measured: well above the fits'
#: few thousand rows, well below a large shop's millions.
PARALLEL_PREDICT_ROWS = 100_000


def _limited_threads(method):
    """Run ``method`` with at most ``self.n_threads`` OpenMP threads (None: no limit), except
    a prediction of at least :data:`PARALLEL_PREDICT_ROWS` rows (no limit).

    Histogram gradient boosting on a few thousand rows is fastest on one thread, and on a
    shared, busy machine OpenMP threads fighting for cores made fits 30x slower."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        large = (method.__name__.startswith("predict") and args
                 and len(args[0]) >= PARALLEL_PREDICT_ROWS)
        if self.n_threads is None or large:
            return method(self, *args, **kwargs)
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return method(self, *args, **kwargs)

    return wrapper


class _MetaLearner(BaseEstimator):
    """Shared machinery: arms, propensities, cross-fitted outcome models."""

    def __init__(self, control="control", outcome_model=None, effect_model=None,
                 n_folds: int = 3, max_iter: int = 150, categorical_mask=None,
                 min_per_arm: int = 20, random_state: int = 0, n_threads: int | None = 1):
        self.control = control
        self.outcome_model = outcome_model
        self.effect_model = effect_model
        self.n_folds = n_folds
        self.max_iter = max_iter
        self.categorical_mask = categorical_mask
        self.min_per_arm = min_per_arm
        self.random_state = random_state
        self.n_threads = n_threads

    # --- helpers ------------------------------------------------------------------------
    def _model(self, role: str, n_rows: int):
        given = self.outcome_model if role != "effect" else self.effect_model
        if given is not None:
            return clone(given)
        kind = "classifier" if role == "outcome" and self.binary_ else "regressor"
        return default_model(kind, max_iter=self.max_iter,
                             categorical_mask=self.categorical_mask,
                             random_state=self.random_state, n_rows=n_rows, role=role)

    def _predict_model(self, model, X: np.ndarray) -> np.ndarray:
        if hasattr(model, "predict_proba"):
            return model.predict_proba(X)[:, 1]
        return model.predict(X)

    def _prepare(self, X, y, treatment):
        X = np.asarray(X, dtype="float64")
        y = np.asarray(y, dtype="float64")
        t = np.asarray(treatment).astype(str)
        if X.ndim != 2 or len(X) != len(y) or len(y) != len(t):
            raise LearnerError("X, y and treatment must have the same number of rows")
        if not np.isfinite(y).all():
            raise LearnerError("the outcome has missing or infinite values")
        control = str(self.control)
        labels, counts = np.unique(t, return_counts=True)
        if control not in labels:
            raise LearnerError(f"control arm '{control}' not among the arms "
                               f"{', '.join(labels)}")
        if len(labels) < 2:
            raise LearnerError(f"only the control arm '{control}' is present")
        small = [f"{a} ({n})" for a, n in zip(labels, counts, strict=True)
                 if n < self.min_per_arm]
        if small:
            raise LearnerError(f"arm(s) with fewer than {self.min_per_arm} rows cannot train "
                               f"a model: {', '.join(small)}")
        self.arms_ = np.array([a for a in labels if a != control], dtype=object)
        self.all_arms_ = np.array([control, *self.arms_], dtype=object)
        self.propensity_ = {a: float(n / len(t)) for a, n in zip(labels, counts, strict=True)}
        self.binary_ = _is_binary(y)
        self.n_features_in_ = X.shape[1]
        return X, y, t

    def _arm_codes(self, t: np.ndarray) -> np.ndarray:
        """Position of each row's arm in ``all_arms_`` (control 0)."""
        return pd.Index(self.all_arms_.astype(str)).get_indexer(t)

    def _cross_fit_outcomes(self, X, y, t) -> np.ndarray:
        """Out-of-fold ``mu_a(x)`` for every training row and arm (control first); keeps
        the fold models in ``outcome_models_`` for new rows."""
        codes = self._arm_codes(t)
        folds = StratifiedKFold(n_splits=self.n_folds, shuffle=True,
                                random_state=self.random_state)
        oof = np.zeros((len(y), len(self.all_arms_)))
        self.outcome_models_ = []
        for train, test in folds.split(X, codes):
            fold = []
            for k in range(len(self.all_arms_)):
                rows = train[codes[train] == k]
                model = self._model("outcome", len(rows)).fit(X[rows], y[rows])
                oof[test, k] = self._predict_model(model, X[test])
                fold.append(model)
            self.outcome_models_.append(fold)
        self._codes = codes
        return oof

    @_limited_threads
    def predict_outcomes(self, X) -> np.ndarray:
        """Mean outcome under each arm (control first, then ``arms_``), averaged over folds."""
        check_is_fitted(self, "outcome_models_")
        X = np.asarray(X, dtype="float64")
        out = np.zeros((len(X), len(self.all_arms_)))
        for fold in self.outcome_models_:
            for k, model in enumerate(fold):
                out[:, k] += self._predict_model(model, X)
        return out / len(self.outcome_models_)

    def predict(self, X) -> np.ndarray:
        raise NotImplementedError

    def predict_both(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``(predict(X), predict_outcomes(X))``."""
        return self.predict(X), self.predict_outcomes(X)


class TLearner(_MetaLearner):
    """Effect = ``mu_a(x) - mu_0(x)`` from one outcome model per arm, each fitted on all the
    arm's training rows (``n_folds`` is not used: see the module docstring)."""

    @_limited_threads
    def fit(self, X, y, treatment) -> TLearner:
        X, y, t = self._prepare(X, y, treatment)
        codes = self._arm_codes(t)
        models = []
        for k in range(len(self.all_arms_)):
            rows = np.flatnonzero(codes == k)
            models.append(self._model("outcome", rows.size).fit(X[rows], y[rows]))
        self.outcome_models_ = [models]
        return self

    def predict(self, X) -> np.ndarray:
        return self.predict_both(X)[0]

    def predict_both(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Effects and outcomes from one pass of the outcome models."""
        mu = self.predict_outcomes(X)
        return mu[:, 1:] - mu[:, [0]], mu


class XLearner(_MetaLearner):
    """X-learner: imputed individual effects regressed on ``x`` in each group, combined with
    weight ``g = e_a / (e_a + e_0)`` on the control-side model."""

    @_limited_threads
    def fit(self, X, y, treatment) -> XLearner:
        X, y, t = self._prepare(X, y, treatment)
        mu = self._cross_fit_outcomes(X, y, t)
        self.effect_models_ = []
        ctl = self._codes == 0
        for k in range(1, len(self.all_arms_)):
            on = self._codes == k
            d1 = y[on] - mu[on, 0]
            d0 = mu[ctl, k] - y[ctl]
            m1 = self._model("effect", int(on.sum())).fit(X[on], d1)
            m0 = self._model("effect", int(ctl.sum())).fit(X[ctl], d0)
            self.effect_models_.append((m1, m0))
        return self

    @_limited_threads
    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "effect_models_")
        X = np.asarray(X, dtype="float64")
        out = np.zeros((len(X), len(self.arms_)))
        e0 = self.propensity_[str(self.control)]
        for j, (a, (m1, m0)) in enumerate(zip(self.arms_, self.effect_models_, strict=True)):
            g = self.propensity_[a] / (self.propensity_[a] + e0)
            out[:, j] = g * m0.predict(X) + (1 - g) * m1.predict(X)
        return out


class DRLearner(_MetaLearner):
    """DR-learner: the AIPW pseudo-outcome of each arm vs control (cross-fitted outcome models,
    known propensities) regressed on ``x`` over all training rows of the two arms."""

    @_limited_threads
    def fit(self, X, y, treatment) -> DRLearner:
        X, y, t = self._prepare(X, y, treatment)
        mu = self._cross_fit_outcomes(X, y, t)
        self.effect_models_ = []
        e0 = self.propensity_[str(self.control)]
        ctl = self._codes == 0
        for k in range(1, len(self.all_arms_)):
            on = self._codes == k
            ek = self.propensity_[self.all_arms_[k]]
            phi = (mu[:, k] - mu[:, 0] + on * (y - mu[:, k]) / ek - ctl * (y - mu[:, 0]) / e0)
            keep = on | ctl
            self.effect_models_.append(
                self._model("effect", int(keep.sum())).fit(X[keep], phi[keep]))
        return self

    @_limited_threads
    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "effect_models_")
        X = np.asarray(X, dtype="float64")
        return np.column_stack([m.predict(X) for m in self.effect_models_])


LEARNERS = {"t": TLearner, "x": XLearner, "dr": DRLearner}


def make_learner(name: str, **kwargs) -> _MetaLearner:
    """``"t"``, ``"x"`` or ``"dr"`` with the given hyper-parameters."""
    try:
        return LEARNERS[name.lower()](**kwargs)
    except KeyError:
        raise LearnerError(f"unknown learner {name!r}; choose one of "
                           f"{', '.join(LEARNERS)}") from None
