"""The run cache: staged and validated once, reused by load_shop while the run lasts."""

from __future__ import annotations

import os
import subprocess
import sys

import narwhals as nw
import pandas as pd
import pytest

from crm_experiments.errors import DataValidationError
from crm_experiments.io.cache import SHOP_CACHE_ENV, shop_cache
from crm_experiments.io.engine import collect, scalar
from crm_experiments.io.reader import load_shop
from crm_experiments.params import load_params


def _summary(shop) -> pd.Series:
    o = shop["orders"]
    return collect(o.select(n=nw.len(), customers=nw.col("customer_id").n_unique(),
                            amount=nw.col("amount").sum(), first=nw.col("created_at").min(),
                            last=nw.col("created_at").max())).iloc[0]


def _negative_amount_copy(params, tmp_path):
    """A data directory with the shop's orders and one negative amount (data row 3)."""
    bad = tmp_path / "bad"
    bad.mkdir()
    orders = pd.read_parquet(params.data.path / "orders.parquet")
    orders.loc[2, "amount"] = -20.0
    orders.to_parquet(bad / "orders.parquet")
    return bad


def test_notebooks_of_a_run_reuse_the_cache_with_the_same_tables(small_shop):
    params = load_params(small_shop)
    direct = load_shop(params.data.path, params=params)
    assert direct.cache is None
    with shop_cache(params) as folder:
        assert os.environ[SHOP_CACHE_ENV] == str(folder)
        cached = load_shop(params.data.path, params=params)
        assert cached.cache == folder
        assert set(cached.tables) == set(direct.tables)
        for name, table in direct.tables.items():
            assert cached[name].collect_schema() == table.collect_schema(), name
            assert scalar(cached[name].select(nw.len())) == scalar(table.select(nw.len()))
        pd.testing.assert_series_equal(_summary(cached), _summary(direct))
        # a kernel is a child process: it inherits the variable and attaches the same file
        code = ("from crm_experiments.io.reader import load_shop\n"
                "from crm_experiments.params import load_params\n"
                f"p = load_params({str(small_shop)!r})\n"
                "print(load_shop(p.data.path, params=p).cache)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.strip()
        assert out == str(folder)
    assert SHOP_CACHE_ENV not in os.environ and not folder.exists()


def test_a_data_file_changed_during_the_run_is_read_again(small_shop, tmp_path):
    params = load_params(small_shop)
    with shop_cache(params):
        path = params.data.path / "orders.parquet"
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        try:
            assert load_shop(params.data.path, params=params).cache is None
        finally:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_bad_data_fails_before_any_notebook_and_leaves_nothing(small_shop, tmp_path):
    params = load_params(small_shop)
    bad = _negative_amount_copy(params, tmp_path)
    bad_params = params.model_copy(update={"data": params.data.model_copy(update={"path": bad})})
    with (pytest.raises(DataValidationError, match=r"orders.parquet, column 'amount', row 3"),
          shop_cache(bad_params)):
        pass
    assert SHOP_CACHE_ENV not in os.environ


def test_the_preflights_staged_tables_are_the_runs_cache(small_shop, tmp_path, monkeypatch):
    """`crm-exp run` reads the data once: the preflight writes the cache, the run uses it
    (never building its own) and leaves it to its owner; load_shop gets the same tables."""
    from crm_experiments.io import cache
    from crm_experiments.pipeline.preflight import preflight

    params = load_params(small_shop)
    folder = tmp_path / "cache"
    assert preflight(small_shop, 7, cache_dir=folder).ok
    assert (folder / cache.MANIFEST).is_file()

    def no_second_staging(*args, **kwargs):
        raise AssertionError("the run staged the data again")

    monkeypatch.setattr(cache, "build_shop_cache", no_second_staging)
    direct = load_shop(params.data.path, params=params)
    with shop_cache(params, folder) as used:
        assert used == folder
        cached = load_shop(params.data.path, params=params)
        assert cached.cache == folder
        assert set(cached.tables) == set(direct.tables)
        pd.testing.assert_series_equal(_summary(cached), _summary(direct))
    assert folder.is_dir() and SHOP_CACHE_ENV not in os.environ  # the owner removes it


def test_a_failed_preflight_writes_no_cache(small_shop, tmp_path):
    from crm_experiments.pipeline.preflight import preflight

    params = load_params(small_shop)
    bad = _negative_amount_copy(params, tmp_path)
    raw = small_shop.read_text(encoding="utf-8")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text(raw.replace(str(params.data.path), str(bad)), encoding="utf-8")
    assert load_params(bad_yaml).data.path == bad
    checked = preflight(bad_yaml, 7, cache_dir=tmp_path / "cache")
    assert not checked.ok
    assert not (tmp_path / "cache" / "manifest.json").exists()


def test_tables_are_staged_into_the_cache_file_and_a_failed_build_leaves_none(small_shop,
                                                                              tmp_path):
    """The staged tables themselves (row numbers included) are the file's tables: no second
    copy; a build that fails validation leaves neither a database file nor a manifest."""
    import json

    import duckdb

    from crm_experiments.io import cache
    from crm_experiments.io.staging import ROW

    params = load_params(small_shop)
    folder = cache.build_shop_cache(params, tmp_path / "good")
    manifest = json.loads((folder / cache.MANIFEST).read_text(encoding="utf-8"))
    con = duckdb.connect(str(folder / cache.DATABASE), read_only=True)
    try:
        names = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        assert names == {t["sql_name"] for t in manifest["tables"].values()}
        orders = manifest["tables"]["orders"]["sql_name"]
        columns = [r[0] for r in con.execute(f'DESCRIBE "{orders}"').fetchall()]
        assert ROW in columns
    finally:
        con.close()
    assert not (folder / "spill").exists()

    bad = _negative_amount_copy(params, tmp_path)
    bad_params = params.model_copy(update={"data": params.data.model_copy(update={"path": bad})})
    with pytest.raises(DataValidationError):
        cache.build_shop_cache(bad_params, tmp_path / "bad")
    assert not (tmp_path / "bad" / cache.DATABASE).exists()
    assert not (tmp_path / "bad" / cache.MANIFEST).exists()
    assert not (tmp_path / "bad" / "spill").exists()
