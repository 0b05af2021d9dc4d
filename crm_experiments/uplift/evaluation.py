"""How well an uplift score ranks held-out customers: Qini and uplift curves, their
normalised areas with bootstrap intervals, and uplift by decile. Binary and continuous outcomes
alike (a continuous outcome simply sums money instead of conversions).

For one treatment vs the control, customers sorted by the score (highest first), among the
top ``k``: ``N_t, N_c`` treated/control customers and ``Y_t, Y_c`` their outcome sums.

* Qini curve ``Q(k) = Y_t - Y_c N_t / N_c`` (incremental outcome of the top ``k``, in the
  treated group's scale);
* uplift curve ``U(k) = (Y_t / N_t - Y_c / N_c) (N_t + N_c)``.

The **Qini coefficient** is computed exactly as scikit-uplift's ``qini_auc_score`` does (so
figures compare with the literature): (area under the model's curve - area under the random
line) / (area under the perfect model's curve - area under the random line), where the random
line joins ``(0, 0)`` to the curve's end and the perfect model ranks treated customers by
descending outcome and controls by ascending outcome (``negative_effect=True``). The **AUUC**
reported is the same normalisation of the uplift curve (scikit-uplift's ``uplift_auc_score``).
0 is no better than random, 1 is the perfect ranking; with noisy outcomes good models score
small positive values.

>>> y = np.array([1, 0, 1, 0, 0, 1, 0, 0.0]); t = np.array([1, 1, 1, 1, 0, 0, 0, 0])
>>> round(qini_coefficient(y, np.array([.9, .1, .8, .2, .5, .5, .5, .5]), t), 3)
0.789
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def _sorted_cumulative(y: np.ndarray, score: np.ndarray, t: np.ndarray):
    """Cumulative counts and sums at each distinct score threshold, highest score first."""
    order = np.argsort(score, kind="mergesort")[::-1]
    y, t, score = y[order], t[order], score[order]
    distinct = np.where(np.diff(score))[0]
    at = np.r_[distinct, score.size - 1]
    n_t = np.cumsum(t)[at].astype(float)
    n_all = (at + 1).astype(float)
    n_c = n_all - n_t
    y_t = np.cumsum(y * t)[at]
    y_c = np.cumsum(y * (1 - t))[at]
    return n_all, n_t, n_c, y_t, y_c


def _start_at_zero(x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if x.size == 0 or x[0] != 0 or v[0] != 0:
        return np.r_[0.0, x], np.r_[0.0, v]
    return x, v


def qini_curve(y, score, treatment) -> tuple[np.ndarray, np.ndarray]:
    """``(number targeted, Q(k))`` at each distinct score, starting at ``(0, 0)``."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    n_all, n_t, n_c, y_t, y_c = _sorted_cumulative(y, score, t)
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c != 0)
    return _start_at_zero(n_all, y_t - y_c * ratio)


def uplift_curve(y, score, treatment) -> tuple[np.ndarray, np.ndarray]:
    """``(number targeted, U(k))`` at each distinct score, starting at ``(0, 0)``."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    n_all, n_t, n_c, y_t, y_c = _sorted_cumulative(y, score, t)
    mean_t = np.divide(y_t, n_t, out=np.zeros_like(y_t), where=n_t != 0)
    mean_c = np.divide(y_c, n_c, out=np.zeros_like(y_c), where=n_c != 0)
    return _start_at_zero(n_all, (mean_t - mean_c) * n_all)


def _normalised_area(curve, y, score, t) -> float:
    x, v = curve(y, score, t)
    xp, vp = curve(y, y * t - y * (1 - t), t)
    base = np.trapezoid([0.0, vp[-1]], [0.0, xp[-1]])
    perfect = np.trapezoid(vp, xp) - base
    actual = np.trapezoid(v, x) - base
    return float(actual / perfect) if perfect != 0 else float("nan")


def qini_coefficient(y, score, treatment) -> float:
    """Qini area normalised by the perfect model (scikit-uplift ``qini_auc_score``)."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    return _normalised_area(qini_curve, y, score, t)


def auuc(y, score, treatment) -> float:
    """Uplift-curve area normalised by the perfect model (scikit-uplift ``uplift_auc_score``)."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    return _normalised_area(uplift_curve, y, score, t)


@dataclass(frozen=True)
class RankingScore:
    """Qini coefficient and AUUC of one arm's score on held-out customers, with percentile
    bootstrap intervals (customers resampled within the treated and the control group)."""

    arm: str
    n_treated: int
    n_control: int
    qini: float
    qini_low: float
    qini_high: float
    auuc: float
    auuc_low: float
    auuc_high: float
    n_boot: int
    alpha: float


def ranking_score(y, score, treatment, *, arm: str = "treatment", n_boot: int = 200,
                  alpha: float = 0.05, seed: int = 0) -> RankingScore:
    """Qini coefficient and AUUC of ``score`` with bootstrap intervals (``treatment`` 0/1)."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    rng = np.random.default_rng(seed)
    treated, control = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    q = np.empty(n_boot)
    a = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.r_[rng.choice(treated, treated.size), rng.choice(control, control.size)]
        q[b] = qini_coefficient(y[idx], score[idx], t[idx])
        a[b] = auuc(y[idx], score[idx], t[idx])
    lo, hi = 100 * alpha / 2, 100 * (1 - alpha / 2)
    return RankingScore(
        arm=arm, n_treated=int(treated.size), n_control=int(control.size),
        qini=qini_coefficient(y, score, t), qini_low=float(np.nanpercentile(q, lo)),
        qini_high=float(np.nanpercentile(q, hi)), auuc=auuc(y, score, t),
        auuc_low=float(np.nanpercentile(a, lo)), auuc_high=float(np.nanpercentile(a, hi)),
        n_boot=n_boot, alpha=alpha)


def curves_frame(y, score, treatment, *, arm: str, points: int = 101) -> pd.DataFrame:
    """Qini, uplift and random-line values at ``points`` evenly spaced shares targeted (for
    charts and CSV): columns arm, share_targeted, qini, uplift, qini_random, qini_perfect."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    grid = np.linspace(0, 1, points)
    n = len(y)
    xq, vq = qini_curve(y, score, t)
    xu, vu = uplift_curve(y, score, t)
    xp, vp = qini_curve(y, y * t - y * (1 - t), t)
    qini = np.interp(grid * n, xq, vq)
    return pd.DataFrame({
        "arm": arm, "share_targeted": grid, "qini": qini,
        "uplift": np.interp(grid * n, xu, vu), "qini_random": grid * vq[-1],
        "qini_perfect": np.interp(grid * n, xp, vp),
    })


def uplift_by_decile(y, score, treatment, *, arm: str, bins: int = 10) -> pd.DataFrame:
    """Observed treated - control mean outcome within each score decile (1 = highest score),
    with a normal interval (Welch standard error) and the mean predicted uplift."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    rank = pd.Series(score).rank(method="first", ascending=False).to_numpy()
    decile = np.ceil(rank / len(score) * bins).astype(int).clip(1, bins)
    rows = []
    for d in range(1, bins + 1):
        m = decile == d
        yt, yc = y[m & (t == 1)], y[m & (t == 0)]
        diff = yt.mean() - yc.mean() if yt.size and yc.size else np.nan
        se = (np.sqrt(yt.var(ddof=1) / yt.size + yc.var(ddof=1) / yc.size)
              if yt.size > 1 and yc.size > 1 else np.nan)
        rows.append({"arm": arm, "decile": d, "n_treated": int(yt.size),
                     "n_control": int(yc.size), "predicted_uplift": float(score[m].mean()),
                     "observed_uplift": diff, "ci_low": diff - 1.96 * se,
                     "ci_high": diff + 1.96 * se})
    return pd.DataFrame(rows)
