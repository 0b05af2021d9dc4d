"""Lin's interacted regression with HC2 errors, prepared once per (covariates, treatment) and
reused for every outcome, in chunks of rows.

Library choices explained (a deviation from "statsmodels, not by hand"): statsmodels'
``OLS(cov_type="HC2")`` builds the dense ``n x (2k+2)`` design, its pseudo-inverse by SVD and
the leverages for every outcome. In an evaluation every metric of one (arm, control) pair has
the same covariates and treatment, so the design, its factor and the leverages are the same
for every metric; and at millions of customers the dense design and its SVD are the memory
peak. :class:`LinDesign` factors the design once, streaming rows in chunks of
:data:`CHUNK_ROWS` (no dense design of the whole table exists), and per outcome only streams
``X'y``, the residuals and the HC2 meat. statsmodels stays the reference: tests/stats/test_lin.py
checks params, bse, conf_int and pvalues against ``OLS(...).fit(cov_type="HC2")`` on varied
designs. A design the factor finds singular (statsmodels would take the pseudo-inverse's
minimum-norm solution) goes to statsmodels unchanged.

Algebra. With ``T`` 0/1 and ``xc = x - x̄`` (pooled mean), Lin's columns
``[1, T, xc, T·xc]`` are an invertible linear transform of the per-arm columns
``[(1-T), T, (1-T)·xc, T·xc]``, which are block diagonal by arm: same fitted values,
residuals and leverages, so the fit splits into one OLS of ``y`` on ``z = [1, xc]`` per arm
``a`` (rows ``i`` of the arm):

    R_a = chol factor of Σ z z' (TSQR: R of the QR of the stacked chunks),
    β_a solves R_a'R_a β = Σ z y, refined once on the residuals (corrected semi-normal
        equations, Björck 1987: the accuracy of a QR solve without storing Q),
    h_i = |R_a^{-T} z_i|²,   V_a = (R_a'R_a)⁻¹ (Σ z z' e²/(1 - h)) (R_a'R_a)⁻¹   (HC2),

and Lin's coefficients are ``b0 = β_c[0]``, ``b_T = β_t[0] - β_c[0]``, slopes ``β_c[1:]``,
interactions ``β_t[1:] - β_c[1:]``; the arms' rows are disjoint, so their HC2 covariances are
independent: ``var(b0) = V_c[0,0]``, ``var(b_T) = V_t[0,0] + V_c[0,0]``, and the adjusted
means ``m_c = b0``, ``m_t = β_t[0]`` have covariance 0. Inference on the normal reference, as
statsmodels' robust covariance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats
from statsmodels.regression.linear_model import OLS

from crm_experiments.stats.effects import _LABELS, _relative, lin_design
from crm_experiments.stats.result import Effect

#: rows per chunk when streaming the design (bounds the memory beyond the inputs)
CHUNK_ROWS = 65_536


def _chunks(idx: np.ndarray):
    for s in range(0, len(idx), CHUNK_ROWS):
        yield idx[s:s + CHUNK_ROWS]


@dataclass(frozen=True)
class LinFit:
    """One outcome's Lin regression: ``params``, HC2 ``cov``, ``bse``, ``pvalues`` and
    ``conf_int(alpha)`` in the column order of
    :func:`~crm_experiments.stats.effects.lin_design` (const, T, xc..., T·xc...)."""

    params: np.ndarray
    cov: np.ndarray

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def pvalues(self) -> np.ndarray:
        return 2 * stats.norm.sf(np.abs(self.params / self.bse))

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        q = stats.norm.ppf(1 - alpha / 2)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])


def take(x: np.ndarray, rows: np.ndarray, columns: list[int] | None) -> np.ndarray:
    """``x[rows][:, columns]`` for increasing ``rows`` (``columns`` None: all): a view when
    the rows are consecutive (e.g. a matrix sorted by arm), else one gathered copy."""
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        block = x[rows[0]:rows[0] + len(rows)]
    else:
        return x[rows] if columns is None else x[np.ix_(rows, columns)]
    return block if columns is None else block[:, columns]


def column_means(x: np.ndarray, rows: np.ndarray | None = None,
                 columns: list[int] | None = None) -> np.ndarray:
    """Means of ``x``'s ``columns`` over ``rows`` (all when None), summed chunk by chunk."""
    rows = np.arange(len(x)) if rows is None else rows
    total = np.zeros(x.shape[1] if columns is None else len(columns))
    for idx in _chunks(rows):
        total += take(x, idx, columns).sum(axis=0)
    return total / len(rows)


def tsqr_r(blocks, p: int) -> np.ndarray:
    """``R`` of the QR of row ``blocks`` (``m_i x p`` each) stacked, without stacking them
    (TSQR: each block is factored under the ``R`` so far; at most ``p`` rows)."""
    r = np.zeros((0, p))
    for block in blocks:
        r = linalg.qr(np.vstack([r, block]), mode="r", overwrite_a=True,
                      check_finite=False)[0][:p]
    return r


class ChunkedOLS:
    """OLS with HC2 errors on ``n`` rows whose design is built chunk by chunk:
    ``design(start, stop)`` returns rows ``start:stop`` (``n x p`` in all). Factored once
    (TSQR ``R``, leverages); :meth:`fit` per outcome (module docstring's algebra for one arm).
    ``singular``: the factor found a column in the span of the others (no unique fit)."""

    def __init__(self, design, n: int, p: int):
        self.design, self.n, self.p = design, n, p
        r = tsqr_r((z for _, z in self.chunks()), p)
        # a column (nearly) in the span of the previous ones: |R_jj| tiny against its norm
        diag = np.abs(np.diag(r)) if len(r) == p else np.zeros(p)
        norms = np.sqrt((r**2).sum(axis=0)) if len(r) == p else np.ones(p)
        self.singular = not bool((diag > norms * 1e-12).all())
        self.r = r
        if self.singular:
            return
        self.bread = self._solve(np.eye(p))  # (Z'Z)⁻¹, the same for every outcome
        self.inv_1mh = np.empty(n)
        for at, z in self.chunks():
            u = linalg.solve_triangular(r, z.T, trans="T", check_finite=False)
            self.inv_1mh[at:at + len(z)] = 1 / (1 - np.einsum("ij,ij->j", u, u))

    def chunks(self):
        """``(offset, rows of the design)`` per chunk of :data:`CHUNK_ROWS`."""
        for at in range(0, self.n, CHUNK_ROWS):
            yield at, self.design(at, min(at + CHUNK_ROWS, self.n))

    def _solve(self, rhs: np.ndarray) -> np.ndarray:
        return linalg.cho_solve((self.r, False), rhs, check_finite=False)

    def fit(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(β, V)``: coefficients and HC2 covariance for outcome ``y`` (length ``n``)."""
        zy = np.zeros(self.p)
        for at, z in self.chunks():
            zy += z.T @ y[at:at + len(z)]
        beta = self._solve(zy)
        # one pass over the residuals: the HC2 meat, and the refinement step of β (corrected
        # semi-normal equations); the refinement moves β by rounding only, so the meat's
        # residuals before it differ from those after it in the last digits
        ze = np.zeros(self.p)
        meat = np.zeros((self.p, self.p))
        for at, z in self.chunks():
            e = y[at:at + len(z)] - z @ beta
            ze += z.T @ e
            zw = z * (e * np.sqrt(self.inv_1mh[at:at + len(z)]))[:, None]
            meat += zw.T @ zw
        beta = beta + self._solve(ze)
        return beta, self.bread @ meat @ self.bread


class _Arm(ChunkedOLS):
    """One arm's half of Lin's design: ``z = [1, x - x̄]`` on its rows (``local`` in the
    outcome, ``xrows`` in ``x``)."""

    def __init__(self, x, local, xrows, columns, centre):
        self.local = local

        def design(start: int, stop: int) -> np.ndarray:
            z = np.empty((stop - start, len(centre) + 1))
            z[:, 0] = 1.0
            np.subtract(take(x, xrows[start:stop], columns), centre, out=z[:, 1:])
            return z

        super().__init__(design, len(local), len(centre) + 1)

    def fit(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(β, V)`` of the arm's OLS of ``y`` (the whole outcome, indexed by ``local``)."""
        return super().fit(y[self.local])


class LinDesign:
    """Lin's design of covariates ``x`` (``n x k``, or ``n``) and a 0/1 ``treatment``,
    factored once (module docstring); :meth:`compare` gives each outcome's
    :class:`~crm_experiments.stats.result.Effect` (method ``lin_ols_hc2``), equal to
    :func:`compare_adjusted`.

    ``rows`` (indices into ``x``, one per treatment value) and ``columns`` select the part of
    a larger ``x`` the design uses, read chunk by chunk without copying it.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(10, 2, 400)
    >>> t = np.arange(400) % 2
    >>> d = LinDesign(x, t)
    >>> e = d.compare(x + 1.0 * t + rng.normal(0, 1, 400), metric="m")
    >>> round(e.estimate, 2), e.method
    (1.05, 'lin_ols_hc2')
    """

    def __init__(self, x, treatment, *, rows: np.ndarray | None = None,
                 columns: list[int] | None = None):
        self.on = np.asarray(treatment, dtype=float) == 1
        n = len(self.on)
        x = np.asarray(x, dtype=float)
        self.x = x.reshape(n if rows is None else len(x), -1)
        self.rows, self.columns = rows, columns
        self.k = self.x.shape[1] if columns is None else len(columns)
        centre = column_means(self.x, rows, columns) if n else np.zeros(self.k)
        self.arms = []
        for arm in (~self.on, self.on):
            local = np.flatnonzero(arm)
            self.arms.append(_Arm(self.x, local, local if rows is None else rows[local],
                                  columns, centre))
        self.singular = any(a.singular for a in self.arms)

    def fit(self, y) -> LinFit:
        """Lin's coefficients and their HC2 covariance for outcome ``y`` (length ``n``)."""
        y = np.asarray(y, dtype=float)
        if self.singular:  # the pseudo-inverse's solution, as before: statsmodels
            rows = np.arange(len(self.on)) if self.rows is None else self.rows
            x = take(self.x, rows, self.columns)
            res = OLS(*lin_design(y, x, self.on)).fit(cov_type="HC2")
            return LinFit(np.asarray(res.params), np.asarray(res.cov_params()))
        (b_c, v_c), (b_t, v_t) = (a.fit(y) for a in self.arms)
        p = self.k + 1
        # Lin's coefficients = A @ [β_c, β_t]: b0, b_T, slopes, interactions
        a = np.zeros((2 * p, 2 * p))
        a[0, 0] = 1
        a[1, 0], a[1, p] = -1, 1
        for j in range(1, p):
            a[1 + j, j] = 1
            a[p + j, j], a[p + j, p + j] = -1, 1
        block = linalg.block_diag(v_c, v_t)
        return LinFit(a @ np.concatenate([b_c, b_t]), a @ block @ a.T)

    def compare(self, y, alpha: float = 0.05, **labels: str) -> Effect:
        """The treatment effect on ``y`` as :func:`compare_adjusted`
        reports it."""
        y = np.asarray(y, dtype=float)
        fit = self.fit(y)
        b0, b1 = fit.params[0], fit.params[1]
        cov = fit.cov
        low, high = fit.conf_int(alpha)[1]
        v_c = cov[0, 0]
        v_t = cov[0, 0] + 2 * cov[0, 1] + cov[1, 1]
        c_tc = cov[0, 0] + cov[0, 1]
        z = stats.norm.ppf(1 - alpha / 2)
        rel, rel_se, rel_low, rel_high = _relative(b0 + b1, b0, v_t, v_c, c_tc, z)
        y_t, y_c = y[self.on], y[~self.on]
        unadjusted = y_t.var(ddof=1) / len(y_t) + y_c.var(ddof=1) / len(y_c)
        se = float(fit.bse[1])
        return Effect(
            **{**_LABELS, **labels}, n_arm=len(y_t), n_control=len(y_c),
            mean_arm=float(b0 + b1), mean_control=float(b0), estimate=float(b1),
            ci_low=float(low), ci_high=float(high), p_value=float(fit.pvalues[1]),
            rel_estimate=float(rel), rel_ci_low=float(rel_low), rel_ci_high=float(rel_high),
            method="lin_ols_hc2", alpha=alpha, se=se, rel_se=float(rel_se), df=math.inf,
            variance_reduction=float(1 - se**2 / unadjusted),
            var_mean_arm=float(v_t), var_mean_control=float(v_c), cov_means=float(c_tc),
        )


def compare_adjusted(y, x, treatment, alpha: float = 0.05, **labels: str) -> Effect:
    """Regression adjustment à la Lin (2013), method ``lin_ols_hc2``, on rows.

    OLS ``y ~ 1 + T + (x - x̄) + T·(x - x̄)`` (``x`` one or more covariate columns, ``T`` 0/1)
    with HC2 heteroskedasticity-robust errors, equal to statsmodels'
    ``OLS(...).fit(cov_type="HC2")`` (computed in row chunks by
    :class:`LinDesign`, which explains why; prepare one there to
    reuse the design for several outcomes). The coefficient of ``T`` is the effect; the
    robust inference uses the normal reference. Adjusted means are ``b0`` (control) and
    ``b0 + b_T`` (arm) at the pooled covariate mean; the relative effect ``b_T / b0`` gets
    Fieller's interval with the HC2 covariance of ``(b0, b0 + b_T)``.
    ``variance_reduction = 1 - se_HC2² / (v_t/n_t + v_c/n_c)``.
    """
    return LinDesign(x, treatment).compare(y, alpha, **labels)
