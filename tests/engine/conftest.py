"""Fixtures of the engine tests: one Spark session (``local[2]``) per test process, one small
generated shop (Parquet) read by DuckDB and by Spark, and :func:`assert_same`, which compares
what an engine function returns on the two engines.

The parity rule (issue 19): the same numbers on both engines. Rows are compared after sorting
by keys (an engine may return rows in any order unless the function sorts); counts, ids, text,
dates and timestamps exactly; floats (money, rates) within :data:`REL` relative.
"""

from __future__ import annotations

import dataclasses
import os
import shutil

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
import yaml

from crm_experiments.demo.generator import generate_shop
from crm_experiments.io import engine
from crm_experiments.io.engine import collect
from crm_experiments.io.reader import load_shop
from crm_experiments.params import load_params
from tests.conftest import DEMO_PARAMS, write_params

#: Relative tolerance for floats (money sums are exact decimals; means and rates are divisions).
REL = 1e-9
#: Customers of the parity shop: every table non-empty, a few seconds per query on Spark.
N_CUSTOMERS = 3_000


@pytest.fixture(scope="session")
def spark_con():
    """The Spark engine on ``local[2]`` with 2 shuffle partitions (tiny data: few tasks).

    Skipped only when Java is missing; pyspark is a test dependency (the ``test`` extra pulls
    in ``spark``), so a missing pyspark is a failure.
    """
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("the Spark engine needs Java 17: no java on PATH and no JAVA_HOME")
    import pyspark  # noqa: F401

    con = engine.connect(engine="spark", spark_master="local[2]",
                         spark_conf={"spark.sql.shuffle.partitions": "2"})
    yield con
    con.session.stop()


@pytest.fixture(scope="session")
def parity_params(tmp_path_factory):
    """Params of a generated demo shop with the shop-wide holdout declared (so the holdout
    analysis has a group to compare)."""
    root = tmp_path_factory.mktemp("parity_shop")
    holdout = yaml.safe_load(DEMO_PARAMS.read_text(encoding="utf-8"))["shop_holdout"]
    path = write_params(root / "parity.yaml", root / "data", shop_holdout=holdout)
    params = load_params(path)
    generate_shop(root / "data", params, n_customers=N_CUSTOMERS)
    return params


@pytest.fixture(scope="session")
def shops(parity_params, spark_con):
    """``(params, duck, spark)``: the parity shop read by each engine (:class:`ShopData`)."""
    params = parity_params
    duck = load_shop(params.data.path, params=params, con=engine.connect(threads=2))
    spark_params = params.model_copy(update={"data": params.data.model_copy(
        update={"engine": "spark", "spark_master": "local[2]"})})
    spark = load_shop(params.data.path, params=spark_params, con=spark_con)
    return params, duck, spark


def _kind(s: pd.Series) -> str:
    """A column's kind for the comparison: f(loat), i(nteger), b(ool), M (timestamp), O."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "O"
    if pd.api.types.is_bool_dtype(dtype):
        return "b"
    if pd.api.types.is_integer_dtype(dtype):
        return "i"
    if pd.api.types.is_float_dtype(dtype):
        return "f"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "M"
    return "O"


def _plain(s: pd.Series) -> list:
    """Values of a non-float column as Python objects, missing values as None."""
    values = s.astype(object).tolist()
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT
            or v is pd.NA else v for v in values]


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    order = frame.assign(**{f"__{i}": (frame[k].astype(str) if _kind(frame[k]) == "O"
                                       else frame[k]) for i, k in enumerate(keys)})
    order = order.sort_values([f"__{i}" for i in range(len(keys))], kind="mergesort",
                              na_position="last")
    return frame.loc[order.index].reset_index(drop=True)


def _frames(a: pd.DataFrame, b: pd.DataFrame, keys, rel: float, path: str) -> None:
    if not isinstance(a.index, pd.RangeIndex) or not isinstance(b.index, pd.RangeIndex):
        assert list(a.index.names) == list(b.index.names), f"{path}: index names"
        a, b = a.reset_index(), b.reset_index()
    assert list(a.columns) == list(b.columns), f"{path}: columns {list(a.columns)} vs " \
                                               f"{list(b.columns)}"
    assert len(a) == len(b), f"{path}: {len(a)} rows on DuckDB, {len(b)} on Spark"
    kinds = {c: _kind(a[c]) for c in a.columns}
    for c in a.columns:
        assert kinds[c] == _kind(b[c]), f"{path}.{c}: dtype {a[c].dtype} vs {b[c].dtype}"
    if keys is None:  # all non-float columns first, then the floats
        keys = [c for c in a.columns if kinds[c] != "f"] + [c for c in a.columns
                                                            if kinds[c] == "f"]
    a, b = _sorted(a, list(keys)), _sorted(b, list(keys))
    for c in a.columns:
        if kinds[c] == "f":
            np.testing.assert_allclose(b[c].to_numpy(float), a[c].to_numpy(float), rtol=rel,
                                       atol=1e-12 if rel else 0.0, equal_nan=True,
                                       err_msg=f"{path}.{c}")
        else:
            assert _plain(b[c]) == _plain(a[c]), f"{path}.{c} differs"


def assert_same(a, b, keys=None, *, rel: float = REL, path: str = "result",
                skip: frozenset[str] = frozenset()) -> None:
    """``b`` (Spark) equals ``a`` (DuckDB): frames (lazy ones are collected) row by row after
    sorting by ``keys`` (default: every column, non-floats first), with the same columns and
    dtype kinds; dicts (in any key order), sequences and dataclasses element by element (fields
    named in ``skip`` are left out), other objects by ``==`` else by their attributes (fitted
    models); floats within ``rel``."""
    if isinstance(a, nw.LazyFrame):
        assert isinstance(b, nw.LazyFrame), f"{path}: {type(b).__name__} on Spark"
        a, b = collect(a), collect(b)
    numbers = (int, float, np.integer, np.floating)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool | np.bool_):
        if isinstance(a, int | np.integer) and isinstance(b, int | np.integer):
            assert int(a) == int(b), f"{path}: {a!r} on DuckDB, {b!r} on Spark"
        else:
            assert (np.isnan(a) and np.isnan(b)) or \
                float(b) == pytest.approx(float(a), rel=rel, abs=1e-12), f"{path}: {a!r} vs {b!r}"
        return
    assert type(a) is type(b), f"{path}: {type(a).__name__} on DuckDB, {type(b).__name__} on Spark"
    if isinstance(a, pd.DataFrame):
        _frames(a, b, keys, rel, path)
    elif isinstance(a, pd.Series):
        _frames(a.to_frame(a.name if a.name is not None else "value"),
                b.to_frame(b.name if b.name is not None else "value"), keys, rel, path)
    elif isinstance(a, pd.Index):
        assert sorted(_plain(a.to_series())) == sorted(_plain(b.to_series())), path
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            if f.name not in skip:
                assert_same(getattr(a, f.name), getattr(b, f.name), rel=rel,
                            path=f"{path}.{f.name}", skip=skip)
    elif isinstance(a, dict):  # key order may follow the engine's group order: not compared
        assert sorted(a, key=repr) == sorted(b, key=repr), f"{path}: keys {list(a)} vs {list(b)}"
        for k in a:
            assert_same(a[k], b[k], rel=rel, path=f"{path}[{k!r}]", skip=skip)
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, rel=rel, path=f"{path}[{i}]", skip=skip)
    elif isinstance(a, np.ndarray):
        if a.dtype.kind == "f":
            np.testing.assert_allclose(b, a, rtol=rel, atol=1e-12, equal_nan=True,
                                       err_msg=path)
        else:
            np.testing.assert_array_equal(b, a, err_msg=path)
    else:
        try:
            equal = bool(a == b)
        except (TypeError, ValueError):
            equal = False
        if not equal and hasattr(a, "__dict__"):  # e.g. a fitted model: its attributes
            assert_same(vars(a), vars(b), rel=rel, path=path, skip=skip)
        else:
            assert equal, f"{path}: {a!r} on DuckDB, {b!r} on Spark"
