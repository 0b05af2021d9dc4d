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
* **Large data: the parameters are estimated on a seeded random sample of customers.** With more
  than ``max_customers`` customers (default :data:`MAX_FIT_CUSTOMERS`; a campaign's
  ``params.model_sample``), ``fit`` takes the simple random sample of that many customers
  drawn by hashing their pseudonymous ids with ``seed`` (:mod:`crm_experiments.models.sample`:
  the same customers on DuckDB and Spark, in any row order) and maximises the likelihood on
  it; a :class:`FitSampleWarning` says so. The
  parameters describe the population (the mixing distributions of purchase and dropout
  rates), so a simple random sample estimates them consistently; with 100,000 customers their
  sampling error is a small fraction of their size (a test checks that sample fits are within a
  few standard errors of full-data fits on a generated shop). Predictions are then made for
  every customer from his own history. ``log_likelihood_`` and ``aic_`` are over **all**
  customers given to ``fit`` (at the sample estimates), so models fitted on the same sample
  compare on the same data; ``n_customers_`` counts all customers, ``n_fit_customers_`` the
  sample. ``max_customers=None`` fits on everyone.
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


class FitSampleWarning(ModelWarning):
    """A model's parameters were estimated on a random sample of the customers."""


#: Above this many customers, the BTYD and spend models are fitted on a seeded random sample.
MAX_FIT_CUSTOMERS = 100_000


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


def one_blas_thread():
    """Context: BLAS limited to one thread. The models' linear algebra is tiny (4-20
    parameters, gradients over a few features), where BLAS worker threads only wait for each
    other, and they slow everything down badly on a busy machine (several times, measured)."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


@contextlib.contextmanager
def without_standard_errors():
    """Context: lifetimes' fitters skip the Hessian of the likelihood they compute (by
    automatic differentiation) after every BG/NBD, MBG/NBD and Gamma-Gamma fit. It serves only
    their standard errors (``variance_matrix_``, ``summary``), which this package never reads,
    and it adds to the time of every fit; the parameters come from the optimiser before it, so
    they are unchanged. Inside, ``_hessian_`` is a matrix of NaN (a standard error asked for
    anyway is NaN, not a wrong number). The switch is process-wide (a module global of
    lifetimes): not for fits running concurrently on other threads."""
    import lifetimes.fitters as fitters

    real = fitters.hessian

    def no_hessian(fun):
        return lambda params, *args: np.full((len(params), len(params)), np.nan)

    fitters.hessian = no_hessian
    try:
        yield
    finally:
        fitters.hessian = real


def fit_sample(ids: pd.Index | int, max_customers: int | None, seed: int) -> np.ndarray | None:
    """Sorted positions of the model sample: the ``max_customers`` customers of ``ids`` with the
    smallest hash positions (:func:`crm_experiments.models.sample.sample_positions`: a simple
    random sample by the pseudonymous ids and ``seed``, the same on every engine and in any row
    order), or None to use everyone. An ``int`` stands for ids ``0 .. n-1``."""
    from crm_experiments.models.sample import sample_positions

    if isinstance(ids, int | np.integer):
        if max_customers is None or ids <= max_customers:
            return None
        ids = pd.RangeIndex(int(ids))
    return sample_positions(ids, max_customers, seed)


def unique_patterns(features: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct (frequency, recency, T) rows of ``features`` and, per customer, the position
    of his row among them: predictions depend on these three columns only, so computing them on
    the distinct rows and taking ``values[inverse]`` gives the same per-customer result."""
    x, t_x, T = _columns(features)
    # integer codes per column, combined pairwise (each product < n**2, no overflow)
    key = None
    for col in (x, t_x, T):
        codes = pd.factorize(col)[0].astype("int64")
        key = codes if key is None else pd.factorize(key * (codes.max() + 1) + codes)[0]
    inverse = np.asarray(key, dtype="int64")
    _, first = np.unique(inverse, return_index=True)  # codes are 0..k-1 in order of appearance
    pat = pd.DataFrame({"frequency": x[first], "recency": t_x[first], "T": T[first]})
    pat.attrs.update(features.attrs)
    return pat, inverse


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
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), \
                    without_standard_errors():
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
    def fit(self, features: pd.DataFrame, *, unit: str | None = None,
            max_customers: int | None = MAX_FIT_CUSTOMERS, seed: int = 0) -> PurchaseModel:
        """Fit by maximum likelihood on ``features`` (frequency, recency, T); returns self.

        With more than ``max_customers`` customers, on a random sample of them (``seed``; see
        the module docstring); ``log_likelihood_`` is still over all customers."""
        x, t_x, T = _columns(features)
        pick = fit_sample(features.index, max_customers, seed)
        fx, ft, fT = (x, t_x, T) if pick is None else (x[pick], t_x[pick], T[pick])
        if np.all(fT <= 0):
            raise CrmError("every customer has T = 0 (all first purchases on the last day): "
                           "nothing to learn a purchase rate from")
        if np.all(fx == 0):
            raise CrmError("no customer has a repeat purchase: the purchase models cannot be "
                           "fitted (choose a later calibration end)")
        cx, ct, cT, w = _compress(fx, ft, fT)
        with one_blas_thread():
            params = self._fit_params(cx, ct, cT, w)
        self.params_ = {k: float(v) for k, v in params.items()}
        self._lt = None
        self.n_customers_ = int(len(x))
        self.n_fit_customers_ = int(len(fx))
        self.fit_seed_ = None if pick is None else int(seed)
        self.unit_ = unit or features.attrs.get("unit", "unknown")
        if pick is not None:
            cx, ct, cT, w = _compress(x, t_x, T)
            warnings.warn(f"{self.label}: parameters estimated on a random sample of "
                          f"{len(fx):,} of the {len(x):,} customers (seed {seed}); predictions "
                          "and the log-likelihood are for all of them", FitSampleWarning,
                          stacklevel=2)
        with np.errstate(all="ignore"):
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

    def expected_purchases_at(self, times, features: pd.DataFrame) -> np.ndarray:
        """:meth:`expected_purchases` for several horizons at once: an array (customers x
        ``times``), equal to it up to rounding, at a fraction of the cost on large data.

        In all three models, given the history (x, t_x, T), E[purchases in (T, T + t]] =
        P(alive at T | x, t_x, T) x E[purchases in (T, T + t] | alive at T, x, T]: once alive
        at T, the purchase and dropout rates' posteriors depend on x and T only. The second
        factor is computed once per distinct (x, T), as lifetimes' prediction for a customer
        whose last purchase was at T divided by his P(alive); P(alive) once per distinct
        history. The expensive Gaussian hypergeometric terms are then evaluated for the few
        distinct (x, T) pairs instead of every customer and horizon."""
        x, t_x, T = _columns(features)
        times = [float(t) for t in times]
        pat, inverse = unique_patterns(features)
        pa = self.p_alive(pat)[inverse]
        # histories "last purchase at T" (recency 0 when there is no repeat purchase)
        key = pd.MultiIndex.from_arrays([x, T])
        pair_of, pairs = pd.factorize(key)
        px = pairs.get_level_values(0).to_numpy()
        pT = pairs.get_level_values(1).to_numpy()
        last = pd.DataFrame({"frequency": px, "recency": np.where(px > 0, pT, 0.0), "T": pT})
        pa_last = self.p_alive(last)
        out = np.empty((len(x), len(times)))
        ok = pa_last[pair_of] > 1e-200
        for j, t in enumerate(times):
            given_alive = self.expected_purchases(t, last) / np.maximum(pa_last, 1e-300)
            out[:, j] = pa * given_alive[pair_of]
        if not ok.all():  # P(alive) underflow: predict those customers directly
            sub = features.iloc[np.flatnonzero(~ok)]
            for j, t in enumerate(times):
                out[~ok, j] = self.expected_purchases(t, sub)
        return self._checked(out, "expected purchases", lower=0.0)

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
                "n_fit_customers": getattr(self, "n_fit_customers_", self.n_customers_),
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
        m.n_fit_customers_ = int(spec.get("n_fit_customers", m.n_customers_))
        m.n_params_ = len(model_cls.param_names)
        m.aic_ = 2 * m.n_params_ - 2 * m.log_likelihood_
        return m

    def summary(self) -> dict[str, float]:
        self._check_fitted()
        return {**self.params_, "log_likelihood": self.log_likelihood_, "aic": self.aic_,
                "n_customers": float(self.n_customers_),
                "n_fit_customers": float(getattr(self, "n_fit_customers_", self.n_customers_))}

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
    minimise lifetimes' own objective with L-BFGS-B over the log-parameters (far fewer
    likelihood evaluations than Nelder-Mead, each one a pass of Gaussian hypergeometric
    functions over the data) from a fixed point (on more than 20,000 customers: from the fit on
    a random 5,000 of them); when it does not report convergence we restart from its solution
    until the likelihood stops moving (a warning says when it did not).
    Gaussian hypergeometric terms can overflow on large or long data; that surfaces as a
    :class:`ConvergenceError`, not as nonsense.
    """

    kind = "pareto_nbd"
    label = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")
    max_restarts = 4
    warm_start_customers = 5_000

    def _minimise(self, x, t_x, T, w, scale, init):
        """Minimise lifetimes' Pareto/NBD objective (its negative log-likelihood on time scaled
        by ``scale``, divided by the mean weight, plus the penalty) over the log-parameters with
        L-BFGS-B from ``init``; returns (log-parameters, log-likelihood sum of the objective,
        whether the optimiser reports convergence)."""
        from lifetimes import ParetoNBDFitter
        from scipy.optimize import minimize

        args = (x, t_x * scale, T * scale, w, self.penalizer_coef)

        def objective(log_params):
            with np.errstate(all="ignore"):
                v = ParetoNBDFitter._negative_log_likelihood(np.exp(log_params), *args)
            return float(v) if np.isfinite(v) else 1e300

        init = np.asarray(init, dtype="float64")
        # stop when an iteration gains less than 1e-5 in the summed log-likelihood: far below
        # any statistical meaning, and it keeps the fit reproducing the published figures
        f0 = objective(init)
        f0 = abs(f0) if f0 < 1e300 else float(len(w))
        ftol = max(1e-5 / (f0 * float(w.mean())), 1e-15)
        res = minimize(objective, init, method="L-BFGS-B",
                       options={"ftol": ftol, "gtol": 1e-12, "maxiter": 5000})
        if not np.isfinite(res.fun) or res.fun >= 1e300:
            raise ConvergenceError(f"Pareto/NBD did not converge on {int(w.sum()):,} customers "
                                   f"({res.message})")
        return res.x, -float(res.fun) * float(w.mean()), bool(res.success)

    def _unscaled(self, log_params, scale) -> dict[str, float]:
        """Parameters in the data's time unit from log-parameters on scaled time."""
        values = np.exp(log_params) / np.array([1, scale, 1, scale])
        return {k: float(v) for k, v in zip(self.param_names, values, strict=True)}

    @classmethod
    def _fitter_class(cls):
        from lifetimes import ParetoNBDFitter
        return ParetoNBDFitter

    def _fit_params(self, x, t_x, T, w):
        scale = 1.0 / T.max()  # lifetimes' own time scaling (largest T = 1)
        init = np.zeros(4)     # log of lifetimes' usual start point (1, 1, 1, 1)
        if w.sum() > 4 * self.warm_start_customers:
            # start from the fit on a random subset of the customers (binomial thinning of the
            # pattern counts = a Bernoulli sample of customers): each likelihood evaluation
            # costs a fraction, and the full fit then needs about half as many
            rng = np.random.default_rng(0)
            sub = rng.binomial(w.astype("int64"), self.warm_start_customers / w.sum())
            keep = sub > 0
            init, _, _ = self._minimise(x[keep], t_x[keep], T[keep],
                                        sub[keep].astype("float64"), scale, init)
            # the likelihood must be finite for every customer near the maximum (it is
            # checked again at the final estimates): fail early rather than after the full fit
            self.params_ = self._unscaled(init, scale)
            with np.errstate(all="ignore"):
                bad = ~np.isfinite(self._loglik(x, t_x, T))
            if bad.any():
                raise ConvergenceError(
                    f"Pareto/NBD: the likelihood is not finite for {int(w[bad].sum()):,} "
                    f"customers (up to {int(x[bad].max())} repeat purchases) at the estimates "
                    f"from a random {self.warm_start_customers:,} of them {self.params_} "
                    "(hypergeometric overflow); try weeks as the time unit or BG/NBD")
        best, prev_ll = None, -np.inf
        for _ in range(self.max_restarts + 1):
            sol, ll, converged = self._minimise(x, t_x, T, w, scale, init)
            cand = self._unscaled(sol, scale)
            if best is not None and ll < prev_ll + 1e-4:
                if ll > prev_ll:
                    best = cand
                break
            best, prev_ll = cand, ll
            if converged:
                break
            init = sol
        else:
            warnings.warn("Pareto/NBD: the optimiser was still improving after "
                          f"{self.max_restarts} restarts; the estimates may not be the maximum",
                          ModelWarning, stacklevel=3)
        self.params_ = best
        with np.errstate(all="ignore"):
            ll = float(np.sum(w * self._loglik(x, t_x, T)))
        if not np.isfinite(ll):
            raise ConvergenceError("Pareto/NBD: the likelihood is not finite at the "
                                   f"optimiser's solution {best} (hypergeometric "
                                   "overflow); try weeks as the time unit or BG/NBD")
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
