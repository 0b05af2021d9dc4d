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

Intervals are percentile bootstrap intervals, customers resampled with replacement within the
treated and within the control group. A resample is computed as the original customers
counted as often as they were drawn: the score and the perfect ranking are sorted once, the
resamples' counts are cumulated in that order (many resamples per array operation, in chunks
of bounded memory), which gives exactly the figures of sorting each resample anew.

>>> y = np.array([1, 0, 1, 0, 0, 1, 0, 0.0]); t = np.array([1, 1, 1, 1, 0, 0, 0, 0])
>>> round(qini_coefficient(y, np.array([.9, .1, .8, .2, .5, .5, .5, .5]), t), 3)
0.789
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def _ranking(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``order`` (customers by descending score) and ``ends``: the position in that order of
    the last customer of each group of equal scores (the curves' points)."""
    order = np.argsort(score, kind="mergesort")[::-1]
    s = score[order]
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), s.size - 1]
    return order, ends


def _cumulative(ends: np.ndarray, y: np.ndarray, t: np.ndarray, w: np.ndarray | None = None):
    """Cumulative counts and sums at ``ends``, for customers already in ranking order.

    ``w`` (optional, shape ``(B, n)``): how often each customer counts, one row per
    bootstrap resample; the results then have shape ``(B, len(ends))``. A resample drawn
    with replacement is exactly the original customers counted with such multiplicities,
    and its curve points are the same tie groups (a group nobody was drawn from repeats the
    previous point, which adds no area), so nothing needs re-sorting."""
    yt, yc = y * t, y * (1 - t)
    if w is None:
        n_all = (ends + 1).astype(float)
        n_t = np.cumsum(t)[ends]
        return n_all, n_t, n_all - n_t, np.cumsum(yt)[ends], np.cumsum(yc)[ends]
    # two running sums per pass: real and imaginary parts of a complex cumulative sum are
    # added independently, exactly as two float cumulative sums (half the passes)
    counts = np.cumsum(w * (1 + 1j * t), axis=1)    # customers, treated customers
    sums = np.cumsum(w * (yt + 1j * yc), axis=1)      # treated outcome, control outcome
    if ends.size < y.size:  # ties: keep the last customer of each tie group
        counts, sums = counts[:, ends], sums[:, ends]
    n_all, n_t = counts.real, counts.imag
    return n_all, n_t, n_all - n_t, sums.real, sums.imag


def _qini_values(n_all, n_t, n_c, y_t, y_c) -> np.ndarray:
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c != 0)
    return y_t - y_c * ratio


def _uplift_values(n_all, n_t, n_c, y_t, y_c) -> np.ndarray:
    mean_t = np.divide(y_t, n_t, out=np.zeros_like(y_t), where=n_t != 0)
    mean_c = np.divide(y_c, n_c, out=np.zeros_like(y_c), where=n_c != 0)
    return (mean_t - mean_c) * n_all


def _sorted_cumulative(y: np.ndarray, score: np.ndarray, t: np.ndarray):
    """Cumulative counts and sums at each distinct score threshold, highest score first."""
    order, ends = _ranking(score)
    return _cumulative(ends, y[order], t[order])


def _start_at_zero(x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if x.size == 0 or x[0] != 0 or v[0] != 0:
        return np.r_[0.0, x], np.r_[0.0, v]
    return x, v


def qini_curve(y, score, treatment) -> tuple[np.ndarray, np.ndarray]:
    """``(number targeted, Q(k))`` at each distinct score, starting at ``(0, 0)``."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    cum = _sorted_cumulative(y, score, t)
    return _start_at_zero(cum[0], _qini_values(*cum))


def uplift_curve(y, score, treatment) -> tuple[np.ndarray, np.ndarray]:
    """``(number targeted, U(k))`` at each distinct score, starting at ``(0, 0)``."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    cum = _sorted_cumulative(y, score, t)
    return _start_at_zero(cum[0], _uplift_values(*cum))


def _area(dx: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Trapezoid area under the points ``(x, v)`` (``dx``: steps of ``x``) along the last
    axis, from ``(0, 0)`` (a repeated ``(0, 0)`` adds nothing, as ``_start_at_zero`` would
    leave it out)."""
    return (np.einsum("...i,...i->...", dx, v)
            + np.einsum("...i,...i->...", dx[..., 1:], v[..., :-1])) / 2


def _areas(model_cum, perfect_cum) -> tuple[np.ndarray, np.ndarray]:
    """Normalised Qini and uplift-curve areas (see the module docstring) from the model's
    and the perfect ranking's cumulative sums (1-d, or ``(B, points)`` for resamples)."""
    dx = np.diff(model_cum[0], axis=-1, prepend=0.0)
    dxp = np.diff(perfect_cum[0], axis=-1, prepend=0.0)
    out = []
    for values in (_qini_values, _uplift_values):
        vp = values(*perfect_cum)
        base = perfect_cum[0][..., -1] * vp[..., -1] / 2
        perfect = _area(dxp, vp) - base
        actual = _area(dx, values(*model_cum)) - base
        out.append(np.divide(actual, perfect, out=np.full_like(actual, np.nan),
                             where=perfect != 0))
    return out[0], out[1]


def _perfect_score(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The perfect model's ranking: treated by descending, controls by ascending outcome."""
    return y * t - y * (1 - t)


def _normalised(y, score, t) -> tuple[float, float]:
    """``(Qini coefficient, AUUC)`` of ``score``."""
    order, ends = _ranking(score)
    p_order, p_ends = _ranking(_perfect_score(y, t))
    q, a = _areas(_cumulative(ends, y[order], t[order]),
                  _cumulative(p_ends, y[p_order], t[p_order]))
    return float(q), float(a)


def qini_coefficient(y, score, treatment) -> float:
    """Qini area normalised by the perfect model (scikit-uplift ``qini_auc_score``)."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    return _normalised(y, score, t)[0]


def auuc(y, score, treatment) -> float:
    """Uplift-curve area normalised by the perfect model (scikit-uplift ``uplift_auc_score``)."""
    y, score, t = (np.asarray(a, dtype=float) for a in (y, score, treatment))
    return _normalised(y, score, t)[1]


def _bootstrap_areas(y, order, ends, p_order, p_ends, t, n_boot: int, rng,
                     chunk_cells: int = 1_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Qini coefficient and AUUC of ``n_boot`` stratified bootstrap resamples (treated and
    control customers each drawn with replacement, their group sizes kept).

    Each resample is the vector of how often each customer was drawn (a multinomial count,
    drawn as in ``rng.choice``), applied to the rankings sorted once; resamples are processed
    ``chunk_cells // n`` at a time to bound memory."""
    n = y.size
    ys, ts = y[order], t[order]
    groups = [np.flatnonzero(ts == 1), np.flatnonzero(ts == 0)]
    position = np.empty(n, dtype=np.intp)
    position[order] = np.arange(n)
    to_perfect = position[p_order]  # model-order position of each customer in perfect order
    yp, tp = ys[to_perfect], ts[to_perfect]
    q, a = np.empty(n_boot), np.empty(n_boot)
    step = max(1, min(n_boot, chunk_cells // max(n, 1)))
    for start in range(0, n_boot, step):
        size = min(step, n_boot - start)
        w = np.empty((size, n))
        for b in range(size):
            drawn = np.concatenate([g[rng.integers(0, g.size, g.size)] for g in groups])
            w[b] = np.bincount(drawn, minlength=n)
        q[start:start + size], a[start:start + size] = _areas(
            _cumulative(ends, ys, ts, w), _cumulative(p_ends, yp, tp, np.take(w, to_perfect, 1)))
    return q, a


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
    order, ends = _ranking(score)
    p_order, p_ends = _ranking(_perfect_score(y, t))
    qini, area = _areas(_cumulative(ends, y[order], t[order]),
                        _cumulative(p_ends, y[p_order], t[p_order]))
    q, a = _bootstrap_areas(y, order, ends, p_order, p_ends, t, n_boot, rng)
    lo, hi = 100 * alpha / 2, 100 * (1 - alpha / 2)
    n_treated = int(np.sum(t == 1))
    return RankingScore(
        arm=arm, n_treated=n_treated, n_control=int(t.size - n_treated),
        qini=float(qini), qini_low=float(np.nanpercentile(q, lo)),
        qini_high=float(np.nanpercentile(q, hi)), auuc=float(area),
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
