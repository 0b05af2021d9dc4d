"""Sufficient statistics per arm: everything the estimators need, without the rows.

For an outcome ``y`` (e.g. revenue per customer, currency units), an optional covariate ``x``
(e.g. pre-period revenue) and an optional ratio denominator ``d`` (e.g. orders), an arm is
summarised by ``n`` and the sums ``Σy, Σy², Σx, Σx², Σxy, Σd, Σd², Σyd``. Sums add up, so strata
(days, shards, provinces) combine with ``+``. Means and sample variances (``ddof=1``) follow:

    mean_y = Σy / n,   var_y = (Σy² - n·mean_y²) / (n - 1),
    cov_xy = (Σxy - n·mean_x·mean_y) / (n - 1)

Fields may also be numpy arrays of one shape (one arm of many simulated experiments at once);
every property then is an array too. The engine path, :func:`moments_from_frame`, computes the
per-arm sums in one aggregate query.

>>> a = MomentStats.from_arrays([1.0, 2.0, 3.0])
>>> (a.n, a.mean_y, a.var_y)
(3, 2.0, 1.0)
>>> (a + MomentStats.from_arrays([4.0])).mean_y
2.5
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import narwhals as nw
import numpy as np

from crm_experiments.io.engine import collect

_X_FIELDS = ("sum_x", "sum_xx", "sum_xy")
_D_FIELDS = ("sum_d", "sum_dd", "sum_yd")


def _add(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    return a + b


def _required(value: Any, name: str) -> Any:
    if value is None:
        raise ValueError(f"these MomentStats carry no {name} sums")
    return value


@dataclass(frozen=True)
class MomentStats:
    """Sufficient statistics of one arm (see module docstring). ``None`` = not collected."""

    n: Any
    sum_y: Any
    sum_yy: Any
    sum_x: Any = None
    sum_xx: Any = None
    sum_xy: Any = None
    sum_d: Any = None
    sum_dd: Any = None
    sum_yd: Any = None

    def __add__(self, other: MomentStats) -> MomentStats:
        if not isinstance(other, MomentStats):
            return NotImplemented
        return MomentStats(**{f.name: _add(getattr(self, f.name), getattr(other, f.name))
                              for f in fields(self)})

    @classmethod
    def from_arrays(cls, y, x=None, den=None, *, axis: int | None = None) -> MomentStats:
        """Sums of ``y`` (and ``x``, ``den``) along ``axis`` (``None``: all values).

        With a 2-D array and ``axis=1`` one gets one set of sums per row (per simulated
        experiment).
        """
        y = np.asarray(y, dtype=float)
        n = y.size if axis is None else y.shape[axis]
        out: dict[str, Any] = {"n": n, "sum_y": y.sum(axis=axis), "sum_yy": (y * y).sum(axis=axis)}
        if x is not None:
            x = np.asarray(x, dtype=float)
            out.update(sum_x=x.sum(axis=axis), sum_xx=(x * x).sum(axis=axis),
                       sum_xy=(x * y).sum(axis=axis))
        if den is not None:
            d = np.asarray(den, dtype=float)
            out.update(sum_d=d.sum(axis=axis), sum_dd=(d * d).sum(axis=axis),
                       sum_yd=(y * d).sum(axis=axis))
        if axis is None:
            out = {k: (v if k == "n" else float(v)) for k, v in out.items()}
        return cls(**out)

    @property
    def has_x(self) -> bool:
        return self.sum_x is not None

    @property
    def has_den(self) -> bool:
        return self.sum_d is not None

    def _cov(self, s_ab: Any, s_a: Any, s_b: Any) -> Any:
        return (s_ab - s_a * s_b / self.n) / (self.n - 1)

    @property
    def mean_y(self) -> Any:
        return self.sum_y / self.n

    @property
    def var_y(self) -> Any:
        """Sample variance of y (ddof=1)."""
        return self._cov(self.sum_yy, self.sum_y, self.sum_y)

    @property
    def mean_x(self) -> Any:
        return _required(self.sum_x, "covariate") / self.n

    @property
    def var_x(self) -> Any:
        return self._cov(_required(self.sum_xx, "covariate"), self.sum_x, self.sum_x)

    @property
    def cov_xy(self) -> Any:
        return self._cov(_required(self.sum_xy, "covariate"), self.sum_x, self.sum_y)

    @property
    def mean_d(self) -> Any:
        return _required(self.sum_d, "denominator") / self.n

    @property
    def var_d(self) -> Any:
        return self._cov(_required(self.sum_dd, "denominator"), self.sum_d, self.sum_d)

    @property
    def cov_yd(self) -> Any:
        return self._cov(_required(self.sum_yd, "denominator"), self.sum_y, self.sum_d)


def moments_from_frame(frame: nw.LazyFrame, arm_col: str, y: str, x: str | None = None,
                       den: str | None = None) -> dict[Any, MomentStats]:
    """Per-arm :class:`MomentStats` of columns of an engine frame (a Narwhals lazy frame, see
    :mod:`crm_experiments.io.engine`), in ONE aggregate query.

    Rows where any used column is null are left out (fill nulls first if they mean 0).
    """
    cols = [c for c in (y, x, den) if c is not None]
    t = frame.filter(*[~nw.col(c).is_null() for c in cols])
    yy = nw.col(y).cast(nw.Float64)
    aggs = [nw.len().alias("n"), yy.sum().alias("sum_y"), (yy * yy).sum().alias("sum_yy")]
    if x is not None:
        xx = nw.col(x).cast(nw.Float64)
        aggs += [xx.sum().alias("sum_x"), (xx * xx).sum().alias("sum_xx"),
                 (xx * yy).sum().alias("sum_xy")]
    if den is not None:
        dd = nw.col(den).cast(nw.Float64)
        aggs += [dd.sum().alias("sum_d"), (dd * dd).sum().alias("sum_dd"),
                 (yy * dd).sum().alias("sum_yd")]
    sums = collect(t.group_by(arm_col).agg(*aggs))
    out = {}
    for row in sums.to_dict("records"):
        arm = row.pop(arm_col)
        out[arm] = MomentStats(n=int(row.pop("n")), **{k: float(v) for k, v in row.items()})
    return out
