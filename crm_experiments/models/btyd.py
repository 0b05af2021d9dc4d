"""Buy-till-you-die purchase models: BG/NBD, modified BG/NBD and Pareto/NBD.

A thin interface over ``lifetimes`` (archived upstream): the optimisation is lifetimes', every
quirk is handled here, and nothing outside this package imports lifetimes.

* ``fit(features)`` takes the frame of :func:`crm_experiments.models.features.rfm_features`
  (``frequency``, ``recency``, ``T`` in one time unit) and returns ``self``; fitted values end
  in ``_``: ``params_`` (dict), ``log_likelihood_``, ``n_customers_``, ``unit_``.
* ``log_likelihood_`` is the literature's number: the log-likelihood summed over customers,
  in the original time unit, without penalty. lifetimes optimises other objectives (the mean
  over customers for BG/NBD, a weight-scaled sum for Pareto/NBD, both on time rescaled so that
  the largest ``T`` is 1, plus the penalty), so we evaluate the likelihood ourselves.
* Predictions always return float arrays of one value per customer (lifetimes returns numpy
  scalars, 0-d arrays, Series or arrays depending on the input under numpy 2).
* Failures are loud: a fit that does not converge raises :class:`ConvergenceError`; a degenerate
  solution (parameters at the edge of the space), a penalised fit, or a Pareto/NBD fit that
  moved again when restarted give a :class:`ModelWarning`.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln

from crm_experiments.errors import CrmError


class ModelWarning(UserWarning):
    """A fitted model is usable but something about it deserves attention."""


class ConvergenceError(CrmError):
    """The optimiser did not reach a maximum of the likelihood."""


def _arr(values, n: int | None = None) -> np.ndarray:
    """A 1-d float64 array (numpy 2 returns scalars / 0-d arrays for some inputs)."""
    out = np.asarray(values, dtype="float64").reshape(-1)
    if n is not None and out.size == 1 and n != 1:
        out = np.full(n, out[0])
    return out


def _columns(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [c for c in ("frequency", "recency", "T") if c not in features]
    if missing:
        raise CrmError(f"features lack column(s) {', '.join(missing)} (use rfm_features)")
    x = np.asarray(features["frequency"], dtype="float64")
    t_x = np.asarray(features["recency"], dtype="float64")
    T = np.asarray(features["T"], dtype="float64")
    if len(x) == 0:
        raise CrmError("no customers to fit on")
    if np.any(~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(T)):
        raise CrmError("features contain missing or infinite values")
    if np.any(x != np.round(x)) or np.any(x < 0):
        raise CrmError("frequency must be a non-negative whole number")
    if np.any(t_x > T + 1e-9) or np.any(t_x < 0) or np.any((x == 0) & (t_x != 0)):
        raise CrmError("features are inconsistent: need 0 <= recency <= T and recency 0 when "
                       "frequency is 0")
    return x, t_x, T


def _compress(x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
    """Distinct (x, t_x, T) patterns and their counts: the likelihood only needs these."""
    pat = pd.DataFrame({"x": x, "t_x": t_x, "T": T})
    g = pat.groupby(["x", "t_x", "T"], sort=True).size().reset_index(name="w")
    return (g["x"].to_numpy(), g["t_x"].to_numpy(), g["T"].to_numpy(),
            g["w"].to_numpy().astype("float64"))


class PurchaseModel:
    """Shared machinery of the BTYD purchase models (do not instantiate)."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    param_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, penalizer_coef: float = 0.0):
        if penalizer_coef < 0:
            raise CrmError("penalizer_coef must be >= 0")
        self.penalizer_coef = float(penalizer_coef)

    # --- lifetimes plumbing -------------------------------------------------------------
    @classmethod
    def _fitter_class(cls):
        raise NotImplementedError

    def _fitter(self):
        """A lifetimes fitter carrying only our parameters: every prediction goes through it,
        so a model rebuilt from :meth:`to_dict` predicts exactly the same."""
        self._check_fitted()
        if getattr(self, "_lt", None) is None:
            f = self._fitter_class()(penalizer_coef=self.penalizer_coef)
            f.params_ = pd.Series([self.params_[k] for k in self.param_names],
                                  index=list(self.param_names), dtype="float64")
            self._lt = f
        return self._lt

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise CrmError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def _run_lifetimes(self, x, t_x, T, w, **kwargs):
        f = self._fitter_class()(penalizer_coef=self.penalizer_coef)
        from lifetimes.utils import ConvergenceError as LtConvergence
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                f.fit(x, t_x, T, weights=w, **kwargs)
        except LtConvergence as exc:
            raise ConvergenceError(
                f"{self.label} did not converge on {int(w.sum()):,} customers. Usual causes: "
                "too few repeat purchases, or a time unit that makes T huge (use weeks). A small "
                "penalizer (penalizer_coef=0.001) usually helps but shrinks the estimates."
            ) from exc
        return f

    # --- fitting --------------------------------------------------------------------------
    def fit(self, features: pd.DataFrame, *, unit: str | None = None) -> PurchaseModel:
        """Fit by maximum likelihood on ``features`` (frequency, recency, T); returns self."""
        x, t_x, T = _columns(features)
        if np.all(T <= 0):
            raise CrmError("every customer has T = 0 (all first purchases on the last day): "
                           "nothing to learn a purchase rate from")
        if np.all(x == 0):
            raise CrmError("no customer has a repeat purchase: the purchase models cannot be "
                           "fitted (choose a later calibration end)")
        cx, ct, cT, w = _compress(x, t_x, T)
        params = self._fit_params(cx, ct, cT, w)
        self.params_ = {k: float(v) for k, v in params.items()}
        self._lt = None
        self.n_customers_ = int(len(x))
        self.unit_ = unit or features.attrs.get("unit", "unknown")
        ll = float(np.sum(w * self._loglik(cx, ct, cT)))
        if not np.isfinite(ll) or not all(np.isfinite(v) and v > 0 for v in self.params_.values()):
            raise ConvergenceError(f"{self.label} fit gave non-finite parameters or likelihood "
                                   f"({self.params_}); the data may be degenerate")
        self.log_likelihood_ = ll
        self.n_params_ = len(self.param_names)
        self.aic_ = 2 * self.n_params_ - 2 * ll
        self._warn_if_degenerate()
        if self.penalizer_coef > 0:
            warnings.warn(f"{self.label}: penalizer_coef={self.penalizer_coef:g} shrinks the "
                          "parameters towards 0; log_likelihood_ is the unpenalised likelihood "
                          "at the penalised estimates", ModelWarning, stacklevel=2)
        return self

    def _fit_params(self, x, t_x, T, w) -> dict[str, float]:
        f = self._run_lifetimes(x, t_x, T, w)
        return {k: float(f.params_[k]) for k in self.param_names}

    def _warn_if_degenerate(self) -> None:
        extreme = {k: v for k, v in self.params_.items() if v < 1e-4 or v > 1e5}
        if extreme:
            warnings.warn(f"{self.label}: parameter(s) at the edge of the space {extreme}; the "
                          "fit is degenerate (e.g. no sign of dropout); do not trust P(alive) or "
                          "long-horizon predictions from it", ModelWarning, stacklevel=3)

    # --- likelihood -----------------------------------------------------------------------
    def _loglik(self, x, t_x, T) -> np.ndarray:
        raise NotImplementedError

    def log_likelihood(self, features: pd.DataFrame) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters (original time unit)."""
        self._check_fitted()
        return self._loglik(*_columns(features))

    # --- predictions ----------------------------------------------------------------------
    def expected_purchases(self, t: float, features: pd.DataFrame) -> np.ndarray:
        """Expected repeat purchases in ``(T, T + t]`` given each customer's history."""
        x, t_x, T = _columns(features)
        if t <= 0:
            return np.zeros(len(x))
        out = _arr(self._fitter().conditional_expected_number_of_purchases_up_to_time(
            t, x, t_x, T), len(x))
        return self._checked(out, "expected purchases", lower=0.0)

    predict = expected_purchases

    def p_alive(self, features: pd.DataFrame) -> np.ndarray:
        """Probability that each customer is still 'alive' at T."""
        x, t_x, T = _columns(features)
        out = _arr(self._fitter().conditional_probability_alive(x, t_x, T), len(x))
        return self._checked(out, "P(alive)", lower=0.0, upper=1.0)

    def p_no_purchase(self, t: float, features: pd.DataFrame) -> np.ndarray:
        """Probability of no purchase in ``(T, T + t]`` given the history (the churn score).

        Dead customers never buy; an alive one has Gamma(r + x, alpha + T) purchase rate
        given the history, so P(0) = 1 - P(alive) + P(alive) * ((alpha+T)/(alpha+T+t))^(r+x)."""
        x, t_x, T = _columns(features)
        r, alpha = self.params_["r"], self.params_["alpha"]
        pa = self.p_alive(features)
        return np.clip(1 - pa + pa * ((alpha + T) / (alpha + T + t)) ** (r + x), 0.0, 1.0)

    def expected_population_purchases(self, t) -> np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a customer who just made a first purchase."""
        self._check_fitted()
        t = _arr(t)
        out = np.zeros_like(t)
        pos = t > 0
        if pos.any():
            out[pos] = _arr(self._fitter().expected_number_of_purchases_up_to_time(t[pos]))
        return out

    def _checked(self, out: np.ndarray, what: str, lower=None, upper=None) -> np.ndarray:
        bad = ~np.isfinite(out)
        if lower is not None:
            bad |= out < lower - 1e-9
        if upper is not None:
            bad |= out > upper + 1e-9
        if bad.any():
            raise CrmError(f"{self.label}: {int(bad.sum())} customers get an invalid {what} "
                           f"(numerical trouble at parameters {self.params_})")
        return out

    # --- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Everything needed to predict again (JSON-able)."""
        self._check_fitted()
        return {"kind": self.kind, "params": dict(self.params_), "unit": self.unit_,
                "log_likelihood": self.log_likelihood_, "n_customers": self.n_customers_,
                "penalizer_coef": self.penalizer_coef}

    @classmethod
    def from_dict(cls, spec: dict) -> PurchaseModel:
        model_cls = PURCHASE_MODELS[spec["kind"]]
        m = model_cls(penalizer_coef=spec.get("penalizer_coef", 0.0))
        m.params_ = {k: float(spec["params"][k]) for k in model_cls.param_names}
        m._lt = None
        m.unit_ = spec.get("unit", "unknown")
        m.log_likelihood_ = float(spec.get("log_likelihood", np.nan))
        m.n_customers_ = int(spec.get("n_customers", 0))
        m.n_params_ = len(model_cls.param_names)
        m.aic_ = 2 * m.n_params_ - 2 * m.log_likelihood_
        return m

    def summary(self) -> dict[str, float]:
        self._check_fitted()
        return {**self.params_, "log_likelihood": self.log_likelihood_, "aic": self.aic_,
                "n_customers": float(self.n_customers_)}

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}(penalizer_coef={self.penalizer_coef:g})"
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({ps}, LL={self.log_likelihood_:.1f})"


class BetaGeoModel(PurchaseModel):
    """BG/NBD (Fader, Hardie & Lee 2005): Poisson purchases with Gamma(r, alpha) rates; after
    each repeat purchase the customer drops out with probability p ~ Beta(a, b).

    Warning: P(alive) is 1 for every customer without a repeat purchase (no purchase, no
    chance to drop out), so it is a poor churn score for one-time buyers; use
    :meth:`p_no_purchase` or the modified BG/NBD.
    """

    kind = "bg_nbd"
    label = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")

    @classmethod
    def _fitter_class(cls):
        from lifetimes import BetaGeoFitter
        return BetaGeoFitter

    def _loglik(self, x, t_x, T):
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        base = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
                + betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T))
        with np.errstate(divide="ignore"):
            extra = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                             + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)), -np.inf)
        return base + np.logaddexp(0.0, extra)


class ModifiedBetaGeoModel(PurchaseModel):
    """Modified BG/NBD (Batislam, Denizel & Filiztekin 2007): as BG/NBD, but a customer can
    also drop out right after the first purchase, so P(alive) < 1 for one-time buyers."""

    kind = "mbg_nbd"
    label = "MBG/NBD"
    param_names = ("r", "alpha", "a", "b")

    @classmethod
    def _fitter_class(cls):
        from lifetimes import ModifiedBetaGeoFitter
        return ModifiedBetaGeoFitter

    def _loglik(self, x, t_x, T):
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        base = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
                + betaln(a, b + x + 1) - betaln(a, b) - (r + x) * np.log(alpha + T))
        extra = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return base + np.logaddexp(0.0, extra)


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): Poisson purchases with Gamma(r, alpha)
    rates, exponential lifetimes with Gamma(s, beta) dropout rates.

    lifetimes fits it with Nelder-Mead from a random start and never checks convergence; we
    start from a fixed point and restart from the solution until the likelihood stops moving
    (a warning says when it did not). Gaussian hypergeometric terms can overflow on large or
    long data; that surfaces as a :class:`ConvergenceError`, not as nonsense.
    """

    kind = "pareto_nbd"
    label = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")
    max_restarts = 4

    @classmethod
    def _fitter_class(cls):
        from lifetimes import ParetoNBDFitter
        return ParetoNBDFitter

    def _fit_params(self, x, t_x, T, w):
        scale = 1.0 / T.max()
        init = np.ones(4)
        best, prev_ll = None, -np.inf
        for _ in range(self.max_restarts + 1):
            f = self._run_lifetimes(x, t_x, T, w, initial_params=init, tol=1e-8, maxiter=4000)
            cand = {k: float(f.params_[k]) for k in self.param_names}
            self.params_ = cand
            with np.errstate(all="ignore"):
                ll = float(np.sum(w * self._loglik(x, t_x, T)))
            if not np.isfinite(ll):
                raise ConvergenceError("Pareto/NBD: the likelihood is not finite at the "
                                       f"optimiser's solution {cand} (hypergeometric "
                                       "overflow); try weeks as the time unit or BG/NBD")
            if best is not None and ll < prev_ll + 1e-4:
                if ll > prev_ll:
                    best = cand
                break
            best, prev_ll = cand, ll
            init = np.array([cand["r"], cand["alpha"] * scale, cand["s"], cand["beta"] * scale])
        else:
            warnings.warn("Pareto/NBD: Nelder-Mead was still improving after "
                          f"{self.max_restarts} restarts; the estimates may not be the maximum",
                          ModelWarning, stacklevel=3)
        if abs(best["s"] - 1) < 1e-6:
            warnings.warn("Pareto/NBD: s is 1, where the expected-purchases formula divides by "
                          "s - 1; predictions are unstable", ModelWarning, stacklevel=3)
        return best

    def _loglik(self, x, t_x, T):
        from lifetimes import ParetoNBDFitter
        params = [self.params_[k] for k in self.param_names]
        return _arr(ParetoNBDFitter._conditional_log_likelihood(params, x, t_x, T))

    def p_no_purchase(self, t: float, features: pd.DataFrame) -> np.ndarray:
        """Probability of no purchase in ``(T, T + t]`` (Fader & Hardie's conditional PMF, n=0)."""
        x, t_x, T = _columns(features)
        with np.errstate(all="ignore"):
            out = _arr(self._fitter().conditional_probability_of_n_purchases_up_to_time(
                0, t, x, t_x, T), len(x))
        return self._checked(out, "P(no purchase)", lower=0.0, upper=1.0)


PURCHASE_MODELS: dict[str, type[PurchaseModel]] = {
    m.kind: m for m in (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel)
}
