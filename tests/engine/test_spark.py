"""The Spark engine (local[2]): connection, loading a shop with DuckDB's schema, errors, and
the params fields. The parity of every engine function is in ``test_parity_*.py``; fixtures
(one Spark session per test process) in ``conftest.py``."""

from __future__ import annotations

import narwhals as nw
import pytest

from crm_experiments.errors import CrmError, DataValidationError
from crm_experiments.io import engine
from crm_experiments.io.engine import SparkEngine, collect
from crm_experiments.io.reader import load_shop
from crm_experiments.params import DataSource


def test_connect_gives_spark_engine(spark_con, shops):
    assert spark_con.name == "spark" and isinstance(spark_con, SparkEngine)
    _params, duck, spark = shops
    assert spark.con is spark_con
    assert sorted(spark.tables) == sorted(duck.tables)
    for name in duck.tables:
        # the same Narwhals schema: names, order and types (timestamps naive, microseconds)
        assert spark[name].collect_schema() == duck[name].collect_schema(), name
    assert any(w.rule == "not_validated" for w in spark.warnings)


def test_orders_identical(shops):
    _params, duck, spark = shops

    def fingerprint(o):
        return collect(o.select(
            nw.len().alias("n"), nw.col("customer_id").n_unique().alias("ids"),
            nw.col("amount").sum().alias("amount"),
            nw.col("refund_amount").sum().alias("refund"),
            nw.col("created_at").min().alias("first"), nw.col("paid_at").max().alias("last"),
        )).iloc[0]

    a, b = fingerprint(duck["orders"]), fingerprint(spark["orders"])
    assert (a["n"], a["ids"], a["first"], a["last"]) == (b["n"], b["ids"], b["first"], b["last"])
    assert b["amount"] == pytest.approx(a["amount"], rel=1e-12)
    assert b["refund"] == pytest.approx(a["refund"], rel=1e-12)


def test_every_table_identical(shops):
    """Row for row, every table read by Spark is the one DuckDB stages (after sorting)."""
    _params, duck, spark = shops
    for name in duck.tables:
        a = collect(duck[name])
        b = collect(spark[name])
        keys = list(a.columns)
        a = a.sort_values(keys, ignore_index=True, na_position="last")
        b = b.sort_values(keys, ignore_index=True, na_position="last")
        assert list(b.dtypes) == list(a.dtypes), name
        assert b.astype(object).where(b.notna(), None).values.tolist() \
            == a.astype(object).where(a.notna(), None).values.tolist(), name


def test_cache_and_release(spark_con, shops):
    _params, _duck, spark = shops
    cached = spark_con.cache(spark["orders"].filter(nw.col("amount") > 100))
    n = int(collect(cached.select(nw.len())).iloc[0, 0])
    assert n == int(collect(spark["orders"].filter(nw.col("amount") > 100)
                            .select(nw.len())).iloc[0, 0]) > 0
    spark_con.release(cached)
    assert engine.engine_of(spark["orders"]).session is spark_con.session


def test_missing_orders_is_an_error(spark_con, tmp_path):
    with pytest.raises(DataValidationError, match="orders"):
        load_shop(tmp_path, con=spark_con)


def test_params_spark_fields():
    d = DataSource(path="x", engine="spark", spark_master="local[2]",
                   tables={"orders": "s3a://bucket/shop/orders/"})
    assert d.engine == "spark" and d.tables["orders"].startswith("s3a://")
    with pytest.raises(ValueError, match="only apply to engine: spark"):
        DataSource(path="x", spark_master="local[2]")
    with pytest.raises(ValueError, match="Parquet only"):
        DataSource(path="x", engine="spark", format="csv")
    with pytest.raises(CrmError, match="unknown engine"):
        engine.connect(engine="postgres")
