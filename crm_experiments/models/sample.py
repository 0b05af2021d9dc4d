"""Which customers a model is fitted on when a shop is large: a bounded random sample drawn
by hashing the pseudonymous ids.

**The sample.** Each customer gets the position ``u(id)`` in [0, 1) of
:func:`crm_experiments.io.holdout.holdout_position` with the salt ``"model-sample:<seed>"``
(SHA-256 of salt and id, so a function of the id and the seed alone). The sample of ``n`` of a
population of ``N > n`` customers is the ``n`` with the smallest positions ("bottom-n"): a
simple random sample without replacement that is the same whatever the rows' order, the
machine or the engine (DuckDB, Spark: both compute SHA-256), nested (the sample of ``n`` is
inside the sample of any larger ``n``), and whose next ``n`` positions give a second sample
disjoint from the first (:func:`second_sample`), which is how the precision below is measured.

**Its effect on precision.** A figure estimated from a model fitted on ``n`` of ``N``
customers (a mean CLV, a model parameter, an AUC) has a sampling standard error about
``sqrt(N / n)`` times that of the same figure from a fit on all ``N``
(:func:`precision_factor`; standard errors shrink as ``1 / sqrt(n)``). Predictions are still
made for every customer, from his own history.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from crm_experiments.errors import CrmError
from crm_experiments.io.holdout import holdout_position

_cache: list = []  # [(weakref to the ids' Index, salt, positions)]: one entry


def salt_of(seed: int) -> str:
    """The hash salt of the model sample drawn with ``seed``."""
    return f"model-sample:{int(seed)}"


def sample_position(ids: pd.Index | np.ndarray, seed: int) -> np.ndarray:
    """``u(id)`` in [0, 1) of every id (module docstring). The last Index hashed is
    remembered (weakly), so several models fitted on one feature frame hash it once."""
    salt = salt_of(seed)
    if isinstance(ids, pd.Index) and _cache:
        ref, s, u = _cache[0]
        if s == salt and ref() is ids:
            return u
    u = holdout_position(salt, ids)
    if isinstance(ids, pd.Index):
        _cache[:] = [(weakref.ref(ids), salt, u)]
    return u


def sample_positions(ids: pd.Index | np.ndarray, max_customers: int | None, seed: int, *,
                     among: np.ndarray | None = None) -> np.ndarray | None:
    """Sorted row positions of the ``max_customers`` ids with the smallest ``u(id)``, or None
    (everyone) when there are not more ids than that or ``max_customers`` is None. With
    ``among`` (a boolean mask over ``ids``) the sample is drawn from the masked ids and the
    positions count among them (``ids[among][positions]``)."""
    n = len(ids) if among is None else int(np.count_nonzero(among))
    if max_customers is None or n <= max_customers:
        return None
    if max_customers < 1:
        raise CrmError("max_customers must be at least 1 (or None for no sampling)")
    u = sample_position(ids, seed)
    if among is not None:
        u = u[np.asarray(among, dtype=bool)]
    k = int(max_customers)
    return np.sort(np.argpartition(u, k - 1)[:k])


def second_sample(ids: pd.Index | np.ndarray, max_customers: int, seed: int, *,
                  among: np.ndarray | None = None) -> np.ndarray | None:
    """Sorted positions of the ids ranked ``max_customers`` .. ``2 * max_customers - 1`` by
    ``u(id)``: a sample of the same size, disjoint from :func:`sample_positions`' (None when
    the population has fewer than ``2 * max_customers`` ids). With ``among`` (a boolean mask
    over ``ids``), ranked among the masked ids, the positions counting among them, as in
    :func:`sample_positions`."""
    n = len(ids) if among is None else int(np.count_nonzero(among))
    k = int(max_customers)
    if n < 2 * k:
        return None
    u = sample_position(ids, seed)
    if among is not None:
        u = u[np.asarray(among, dtype=bool)]
    first_two = np.argpartition(u, [k - 1, 2 * k - 1])[:2 * k]
    return np.sort(first_two[k:])


def precision_factor(population: int, sample: int) -> float:
    """``sqrt(N / n)``: how many times larger a figure's sampling standard error is when the
    model is fitted on ``n`` of the ``N`` customers instead of all of them (1 when n >= N)."""
    if sample <= 0:
        raise CrmError("the sample must hold at least one customer")
    return float(np.sqrt(max(population, sample) / sample))
