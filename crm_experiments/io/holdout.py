"""Membership of the shop-wide holdout (``params.shop_holdout``): the one function every
caller uses (campaign lists, the holdout analysis, the demo generator).

A customer is a member iff ``u(id) < share`` with ``u(id)`` = the first 8 bytes of
``SHA-256(salt + "\\x1f" + customer_id)`` (UTF-8) read as a big-endian integer / 2**64, a
uniform number in [0, 1) that depends on nothing but the salt and the pseudonymous id: the
same on every run, machine and engine, and nested in the share (raising the share keeps
every earlier member).

>>> holdout_position("s", ["C0000001", "C0000002"]).round(4).tolist()
[0.2433, 0.2234]
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import numpy as np
import pyarrow as pa

from crm_experiments.params import ShopHoldout

_SEP = "\x1f"
_SCALE = float(2 ** 64)
#: ``u(id)``'s 64-bit integer: the first 16 hex digits of DuckDB's SHA-256 (of the UTF-8 text)
_FIRST8 = "SELECT ('0x' || substr(sha256($salt || id), 1, 16))::UBIGINT AS u FROM ids"


def _as_text(customer_ids: Iterable[object]) -> pa.Array:
    """The ids as an Arrow string array, each id as ``str(id)`` (zero-copy for a column of
    text; other values, and missing ones, through Python's ``str``)."""
    values = customer_ids if hasattr(customer_ids, "__len__") else list(customer_ids)
    try:
        text = pa.array(values, type=pa.large_string())
        if text.null_count == 0:
            return text
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    return pa.array([str(c) for c in values], type=pa.large_string())


def holdout_position(salt: str, customer_ids: Iterable[object]) -> np.ndarray:
    """``u(id)`` in [0, 1) per customer id (module docstring); ids are taken as text.

    Hashed by DuckDB over an Arrow array of the ids, in parallel: 1M ids 0.70 s against
    4.76 s with :mod:`hashlib` id by id (measured side by side on a loaded machine);
    tests/io/test_holdout.py checks it against :mod:`hashlib`."""
    with duckdb.connect() as con:
        con.register("ids", pa.table({"id": _as_text(customer_ids)}))
        u = con.execute(_FIRST8, {"salt": salt + _SEP}).fetchnumpy()["u"]
    return np.asarray(u, dtype=np.uint64).astype("float64") / _SCALE


def holdout_members(holdout: ShopHoldout, customer_ids: Iterable[object]) -> np.ndarray:
    """Boolean array: which of ``customer_ids`` belong to the shop-wide holdout."""
    return holdout_position(holdout.salt, customer_ids) < holdout.share
