"""Capping (winsorising) heavy-tailed money outcomes at a pre-registered upper percentile.

A few very big spenders make the per-customer revenue heavy-tailed: they dominate the variance
of a difference in means, and whether one of them falls into the holdout or the treatment arm
moves the estimate. Capping replaces every value above the cap ``c`` by ``c``:
``y_capped = min(y, c)``, which bounds each customer's weight and narrows the interval. The
price is bias: the effect measured is the effect on the capped outcome, which misses the part
of a true effect carried by customers above the cap (towards 0 for a lift that scales
everyone's spending).

Rules of :func:`cap_money`:

* **Pooled cap.** ``c`` is the ``percentile``-th percentile of the column over *all* customers
  of the table (every arm together, non-buyers' zeros included), so the cap is one number that
  does not depend on the arm a customer is in, and treats every arm alike. The percentile is
  the empirical one (:func:`numpy.percentile` with ``method="inverted_cdf"``: the smallest
  observed value with at least ``percentile`` % of the values at or below it), so the cap is a
  value some customer has, at most ``100 - percentile`` % of the customers are above it, and
  capping a capped table again changes nothing (an interpolated percentile would move the cap
  down at every pass).
* **Upper tail only.** Values below the cap are untouched (refunds can make revenue small, not
  heavy-tailed below).
* **Revenue and gross profit** are capped each at its own percentile; **net profit** is not
  capped separately: it is recomputed from the capped gross profit,
  ``net_capped = net - (gross - gross_capped)``, i.e. ``gross_capped - costs``. The costs
  (messages, benefits) are known amounts, not heavy-tailed, and keeping
  ``net = gross - costs`` keeps incremental profit equal to incremental gross profit minus
  incremental costs on the capped scale as well.
* **A cap of 0 or less caps nothing.** When fewer than ``100 - percentile`` % of customers have
  a positive value (e.g. 99.5 with 0.3% buyers), the percentile is 0 and capping would erase
  the outcome; that column is left as it is and listed in ``CappingApplied.not_capped``.

The percentile is declared in the params before the analysis (``capping.percentile``), never
chosen after seeing the effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: The money columns of the per-customer campaign table that are capped, each at its own
#: pooled percentile (net profit follows gross profit, see the module docstring).
MONEY_COLUMNS = ("revenue", "gross_profit")
#: The column recomputed from the capped gross profit.
NET_COLUMN, NET_FROM = "net_profit", "gross_profit"


@dataclass(frozen=True)
class CappingApplied:
    """What :func:`cap_money` did: the percentile, each column's cap (currency), how many
    customers were above it (``n_capped``), the customers in the table, and the columns left
    uncapped because their cap would be 0 or less (``not_capped``)."""

    percentile: float
    caps: dict[str, float]
    n_capped: dict[str, int]
    n_customers: int
    not_capped: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """Plain values (for a result's summary)."""
        return {"percentile": float(self.percentile),
                "caps": {k: float(v) for k, v in self.caps.items()},
                "n_capped": {k: int(v) for k, v in self.n_capped.items()},
                "n_customers": int(self.n_customers),
                "not_capped": list(self.not_capped)}


def pooled_cap(values: Sequence[float] | np.ndarray | pd.Series, percentile: float) -> float:
    """The empirical ``percentile``-th percentile (0-100) of ``values``, NaN ignored: the
    smallest value with at least ``percentile`` % of the values at or below it; the cap of
    :func:`winsorize`.

    >>> pooled_cap([0, 0, 10, 20, 1000], 50), pooled_cap([0, 0, 10, 20, 1000], 90)
    (10.0, 1000.0)
    """
    _check_percentile(percentile)
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    if not arr.size:
        return float("nan")
    return float(np.percentile(arr, percentile, method="inverted_cdf"))


def winsorize(values: Sequence[float] | np.ndarray | pd.Series, percentile: float
              ) -> tuple[np.ndarray, float]:
    """``(min(values, cap), cap)`` with ``cap = pooled_cap(values, percentile)``: the upper
    tail of ``values`` set to its ``percentile``-th percentile (NaN stays NaN).

    >>> capped, cap = winsorize([1.0, 2.0, 3.0, 4.0, 100.0], 75)
    >>> cap, capped.tolist()
    (4.0, [1.0, 2.0, 3.0, 4.0, 4.0])
    """
    cap = pooled_cap(values, percentile)
    arr = np.asarray(values, dtype=float)
    return np.minimum(arr, cap, where=~np.isnan(arr), out=arr.copy()), cap


def cap_money(customers: pd.DataFrame, percentile: float | None,
              columns: Sequence[str] = MONEY_COLUMNS) -> tuple[pd.DataFrame, CappingApplied | None]:
    """The per-customer table with its money ``columns`` capped at their pooled
    ``percentile``-th percentile and ``net_profit`` recomputed from the capped gross profit
    (module docstring), and the record of what was applied. ``percentile`` None: capping is
    off, the table comes back as it is (the same object) with None. Other columns (arm,
    costs, pre-period covariates, counts) are untouched; the input is not modified.

    >>> df = pd.DataFrame({"arm": ["c", "t"] * 5,
    ...                    "revenue": [0, 0, 10, 20, 30, 40, 50, 60, 70, 1000.0],
    ...                    "gross_profit": [0, 0, 4, 8, 12, 16, 20, 24, 28, 400.0],
    ...                    "message_cost": [0.05] * 10})
    >>> df["net_profit"] = df["gross_profit"] - df["message_cost"]
    >>> out, applied = cap_money(df, 90)
    >>> applied.caps, applied.n_capped
    ({'revenue': 70.0, 'gross_profit': 28.0}, {'revenue': 1, 'gross_profit': 1})
    >>> out["revenue"].tolist()[-2:], round(float(out["net_profit"].iloc[-1]), 2)
    ([70.0, 70.0], 27.95)
    """
    if percentile is None:
        return customers, None
    _check_percentile(percentile)
    out = customers.copy()
    caps, n_capped, skipped = {}, {}, []
    for col in columns:
        if col not in out.columns:
            continue
        values = out[col].astype(float)
        cap = pooled_cap(values, percentile)
        if not cap > 0:  # 0 (too few positive values) or NaN (empty): capping would erase it
            skipped.append(col)
            continue
        above = values > cap
        caps[col], n_capped[col] = cap, int(above.sum())
        out[col] = values.where(~above, cap)
    if NET_FROM in caps and NET_COLUMN in out.columns:
        cut = customers[NET_FROM].astype(float) - out[NET_FROM]
        out[NET_COLUMN] = customers[NET_COLUMN].astype(float) - cut
    return out, CappingApplied(percentile=float(percentile), caps=caps, n_capped=n_capped,
                               n_customers=len(out), not_capped=tuple(skipped))


def _check_percentile(percentile: float) -> None:
    if not (isinstance(percentile, int | float | np.number) and 0 <= percentile <= 100):
        raise ValueError(f"percentile must be a number from 0 to 100, got {percentile!r}")
