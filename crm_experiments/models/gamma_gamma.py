"""Gamma-Gamma model of spend per purchase (Fader & Hardie 2013, "The Gamma-Gamma Model of
Monetary Value"), over lifetimes' ``GammaGammaFitter``.

Each purchase's value is Gamma(p, nu) with a customer-level nu ~ Gamma(q, gamma); it is fitted
on customers with at least one repeat purchase (``frequency`` > 0, ``monetary_value`` = mean
value of the repeat purchases). The expected spend of a customer shrinks the observed mean
towards the population mean ``p * gamma / (q - 1)`` (``gamma`` is lifetimes' ``v``).

The model assumes spend is independent of purchase frequency; a warning says when the data
disagree (|correlation| > 0.3). ``q <= 1`` means an infinite population mean: an error.
:func:`fit_spend_model` retries a fit that fails so with growing penalizers (:data:`PENALIZERS`).

On large data the parameters are estimated on a random sample of ``max_customers`` of the
repeat customers (default :data:`~crm_experiments.models.btyd.MAX_FIT_CUSTOMERS`), drawn by
hashing their pseudonymous ids with the seed (:mod:`crm_experiments.models.sample`), as for
the purchase models (see :mod:`crm_experiments.models.btyd`): p, q and gamma describe the
population's spend distribution, which a simple random sample estimates consistently; a
:class:`~crm_experiments.models.btyd.FitSampleWarning` says so. ``log_likelihood_``, the
correlation check and ``n_customers_`` are over all repeat customers; ``n_fit_customers_`` is
the sample.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
from scipy.special import gammaln

from crm_experiments.errors import CrmError
from crm_experiments.models.btyd import (
    MAX_FIT_CUSTOMERS,
    ConvergenceError,
    FitSampleWarning,
    ModelWarning,
    _arr,
    one_blas_thread,
    without_standard_errors,
)
from crm_experiments.models.sample import sample_positions


class GammaGammaModel:
    """Spend per purchase; ``fit`` returns self, ``params_`` = {p, q, v}."""

    kind = "gamma_gamma"
    label = "Gamma-Gamma"
    param_names = ("p", "q", "v")

    def __init__(self, penalizer_coef: float = 0.0):
        self.penalizer_coef = float(penalizer_coef)

    @staticmethod
    def _repeaters(features: pd.DataFrame, with_mask: bool = False):
        """``(x, m, dropped)`` of the repeat customers with positive spend (and their mask over
        ``features`` when ``with_mask``)."""
        x = np.asarray(features["frequency"], dtype="float64")
        m = np.asarray(features["monetary_value"], dtype="float64")
        keep = (x > 0) & (m > 0) & np.isfinite(m)
        dropped = int(((x > 0) & ~keep).sum())
        return (x[keep], m[keep], dropped, keep) if with_mask else (x[keep], m[keep], dropped)

    def fit(self, features: pd.DataFrame, *, max_customers: int | None = MAX_FIT_CUSTOMERS,
            seed: int = 0) -> GammaGammaModel:
        """Fit on the customers of ``features`` with a repeat purchase (a random sample of
        ``max_customers`` of them when there are more, drawn with ``seed``); returns self."""
        x, m, dropped, keep = self._repeaters(features, with_mask=True)
        if len(x) < 10:
            raise CrmError(f"only {len(x)} customers with a repeat purchase of positive value: "
                           "too few to fit the Gamma-Gamma spend model")
        if dropped:
            warnings.warn(f"Gamma-Gamma: {dropped} repeat customers with zero net spend per "
                          "purchase are left out of the fit", ModelWarning, stacklevel=2)
        corr = float(np.corrcoef(x, m)[0, 1]) if np.std(x) > 0 and np.std(m) > 0 else 0.0
        self.frequency_spend_corr_ = corr
        if abs(corr) > 0.3:
            warnings.warn(f"Gamma-Gamma assumes spend per purchase is independent of purchase "
                          f"frequency, but their correlation is {corr:.2f}", ModelWarning,
                          stacklevel=2)
        from lifetimes import GammaGammaFitter
        from lifetimes.utils import ConvergenceError as LtConvergence
        f = GammaGammaFitter(penalizer_coef=self.penalizer_coef)
        pick = sample_positions(features.index, max_customers, seed, among=keep)
        fx, fm = (x, m) if pick is None else (x[pick], m[pick])
        # Scale money so the optimiser starts near the solution (lifetimes starts at 0.1 for
        # every parameter): v is a money scale, p and q are scale free.
        scale = float(np.median(fm))
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), \
                    one_blas_thread(), without_standard_errors():
                warnings.simplefilter("ignore", RuntimeWarning)
                f.fit(fx, fm / scale)
        except LtConvergence as exc:
            raise ConvergenceError("Gamma-Gamma did not converge; a small penalizer_coef "
                                   "(0.001) usually helps but shrinks the estimates") from exc
        self.params_ = {"p": float(f.params_["p"]), "q": float(f.params_["q"]),
                        "v": float(f.params_["v"]) * scale}
        self._lt = None
        self.n_customers_ = int(len(x))
        self.n_fit_customers_ = int(len(fx))
        if pick is not None:
            warnings.warn(f"Gamma-Gamma: parameters estimated on a random sample of {len(fx):,} "
                          f"of the {len(x):,} repeat customers (seed {seed})", FitSampleWarning,
                          stacklevel=2)
        self.log_likelihood_ = float(self._loglik(x, m).sum())
        if not np.isfinite(self.log_likelihood_):
            raise ConvergenceError(f"Gamma-Gamma fit gave a non-finite likelihood ({self.params_})")
        self.aic_ = 6 - 2 * self.log_likelihood_
        if self.params_["q"] <= 1:
            raise ConvergenceError(f"Gamma-Gamma: q = {self.params_['q']:.3g} <= 1 means the "
                                   "population mean spend is infinite; the spend model cannot "
                                   "be used (extreme order values? cap them or use a penalizer)")
        if self.penalizer_coef > 0:
            warnings.warn("Gamma-Gamma: a penalizer shrinks the estimates; log_likelihood_ is "
                          "unpenalised", ModelWarning, stacklevel=2)
        return self

    def _loglik(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Log density of the mean spend ``m`` over ``x`` purchases (Fader & Hardie 2013)."""
        p, q, v = (self.params_[k] for k in self.param_names)
        return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
                + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))

    def log_likelihood(self, features: pd.DataFrame) -> np.ndarray:
        x, m, _ = self._repeaters(features)
        return self._loglik(x, m)

    @property
    def population_mean_(self) -> float:
        p, q, v = (self.params_[k] for k in self.param_names)
        return p * v / (q - 1)

    def expected_spend(self, features: pd.DataFrame) -> np.ndarray:
        """Expected value of a future purchase per customer (population mean without repeats)."""
        if not hasattr(self, "params_"):
            raise CrmError("GammaGammaModel is not fitted yet: call fit() first")
        p, q, v = (self.params_[k] for k in self.param_names)
        x = np.asarray(features["frequency"], dtype="float64")
        m = np.asarray(features["monetary_value"], dtype="float64")
        w = p * x / (p * x + q - 1)
        out = _arr((1 - w) * self.population_mean_ + w * np.where(x > 0, m, 0.0), len(x))
        if not np.all(np.isfinite(out)):
            raise CrmError("Gamma-Gamma: non-finite expected spend")
        return out

    predict = expected_spend

    def to_dict(self) -> dict:
        return {"kind": self.kind, "params": dict(self.params_),
                "log_likelihood": self.log_likelihood_, "n_customers": self.n_customers_,
                "n_fit_customers": getattr(self, "n_fit_customers_", self.n_customers_),
                "penalizer_coef": self.penalizer_coef}

    @classmethod
    def from_dict(cls, spec: dict) -> GammaGammaModel:
        m = cls(penalizer_coef=spec.get("penalizer_coef", 0.0))
        m.params_ = {k: float(spec["params"][k]) for k in cls.param_names}
        m.log_likelihood_ = float(spec.get("log_likelihood", np.nan))
        m.n_customers_ = int(spec.get("n_customers", 0))
        m.n_fit_customers_ = int(spec.get("n_fit_customers", m.n_customers_))
        m.aic_ = 6 - 2 * m.log_likelihood_
        return m

    def summary(self) -> dict[str, float]:
        return {**self.params_, "log_likelihood": self.log_likelihood_,
                "n_customers": float(self.n_customers_),
                "population_mean": self.population_mean_}

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return "GammaGammaModel()"
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"GammaGammaModel({ps}, LL={self.log_likelihood_:.1f})"


#: Penalizers :func:`fit_spend_model` tries in turn (the first is the plain fit).
PENALIZERS = (0.0, 0.001, 0.01, 0.1)


def fit_spend_model(features: pd.DataFrame, *, penalizers=PENALIZERS,
                    max_customers: int | None = MAX_FIT_CUSTOMERS,
                    seed: int = 0) -> GammaGammaModel:
    """The Gamma-Gamma model of ``features`` with the first of ``penalizers`` whose fit
    converges (``penalizer_coef`` of the result says which; ``failed_penalizers_`` lists the
    ones tried before). A fit that fails for another reason (too few repeat customers) is not
    retried; when every penalizer fails, the last :class:`ConvergenceError` is raised."""
    failed: list[float] = []
    last: ConvergenceError | None = None
    for pen in penalizers:
        try:
            model = GammaGammaModel(penalizer_coef=pen).fit(
                features, max_customers=max_customers, seed=seed)
        except ConvergenceError as exc:
            failed.append(float(pen))
            last = exc
            continue
        model.failed_penalizers_ = tuple(failed)
        return model
    raise ConvergenceError(f"Gamma-Gamma did not converge with any penalizer "
                           f"({', '.join(f'{p:g}' for p in penalizers)}): {last}")
