"""The metrics and the sufficient statistics on Spark (local[2]) = on DuckDB, on a demo shop.

One Spark session for the module. Skipped only when pyspark (the ``[spark]`` extra) or Java
is missing.
"""

from __future__ import annotations

import shutil

import ibis
import pandas as pd
import pytest

from crm_experiments.errors import CrmError, DataValidationError
from crm_experiments.io import engine
from crm_experiments.io.reader import load_shop
from crm_experiments.metrics import kpis, lifecycle, stickiness
from crm_experiments.metrics.orders import is_purchase, net_revenue, ts
from crm_experiments.params import DataSource, load_params
from crm_experiments.stats.aggr import moments_from_ibis


@pytest.fixture(scope="module")
def spark_con():
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17: no java on PATH")
    # pyspark is a test dependency (the `test` extra pulls in `spark`): missing it is a failure
    import pyspark  # noqa: F401
    # tiny data: 2 shuffle partitions instead of 8 keeps every query a few tasks
    con = engine.connect(engine="spark", spark_master="local[2]",
                         spark_conf={"spark.sql.shuffle.partitions": "2"})
    yield con
    con._session.stop()


@pytest.fixture(scope="module")
def shops(small_shop, spark_con):
    params = load_params(small_shop)
    duck = load_shop(params.data.path, params=params)
    spark_params = params.model_copy(update={"data": params.data.model_copy(
        update={"engine": "spark", "spark_master": "local[2]"})})
    spark = load_shop(params.data.path, params=spark_params)
    return params, duck, spark


def test_connect_gives_ibis_pyspark(spark_con, shops):
    assert spark_con.name == "pyspark"
    _params, duck, spark = shops
    assert spark.con.name == "pyspark"
    assert sorted(spark.tables) == sorted(duck.tables)
    for name in duck.tables:
        a, b = duck[name].schema(), spark[name].schema()
        assert list(b.names) == list(a.names), name
        # same types; timestamps differ only in the precision Ibis records (DuckDB: 6)
        assert [type(t) for t in b.types] == [type(t) for t in a.types], name
    assert any(w.rule == "not_validated" for w in spark.warnings)


def test_orders_identical(shops):
    _params, duck, spark = shops

    def fingerprint(o):
        return o.aggregate(n=o.count(), ids=o.customer_id.nunique(), amount=o.amount.sum(),
                           refund=o.refund_amount.sum(), first=o.created_at.min(),
                           last=o.paid_at.max()).to_pandas().iloc[0]

    a, b = fingerprint(duck["orders"]), fingerprint(spark["orders"])
    assert (a["n"], a["ids"], a["first"], a["last"]) == (b["n"], b["ids"], b["first"], b["last"])
    assert b["amount"] == pytest.approx(a["amount"], rel=1e-12)
    assert b["refund"] == pytest.approx(a["refund"], rel=1e-12)


def test_lifecycle_counts(shops):
    params, duck, spark = shops
    P = params.lifecycle_period_months
    after = pd.Timestamp(params.sale.end) + pd.Timedelta(days=31)
    start = pd.Timestamp(params.sale.start)
    a = lifecycle.lifecycle_counts(duck["orders"], start, P, customers=duck["customers"])
    b = lifecycle.lifecycle_counts(spark["orders"], start, P, customers=spark["customers"])
    pd.testing.assert_frame_equal(a, b)
    # the migration matrix holds the states at both dates
    a = lifecycle.migration_matrix(duck["orders"], params.sale.start, after, P)
    b = lifecycle.migration_matrix(spark["orders"], params.sale.start, after, P)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_sale_kpis(shops):
    params, duck, spark = shops
    start = pd.Timestamp(params.sale.start)
    windows = {"baseline": (start - pd.Timedelta(days=35), start - pd.Timedelta(days=14)),
               "sale": (start, pd.Timestamp(params.sale.end) + pd.Timedelta(days=1))}
    a = kpis.kpi_comparison(duck["orders"], windows)
    b = kpis.kpi_comparison(spark["orders"], windows)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)


def test_stickiness(shops):
    params, duck, spark = shops
    start = pd.Timestamp(params.sale.start)
    p1 = lifecycle.period_start(start, params.lifecycle_period_months)
    a = stickiness.stickiness(duck["orders"], p1, start, retention_days=30, as_of=start)
    b = stickiness.stickiness(spark["orders"], p1, start, retention_days=30, as_of=start)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)


def _per_customer(shop, params):
    """Per assigned customer: sale revenue (y), pre-period revenue (x) and sale orders (d)."""
    o = shop["orders"].filter(is_purchase(shop["orders"]))
    start = pd.Timestamp(params.sale.start)
    end = pd.Timestamp(params.sale.end) + pd.Timedelta(days=1)
    pre = start - pd.Timedelta(days=params.pre_period_days)
    o = o.mutate(v=net_revenue(o), sale=(o.created_at >= ts(start)) & (o.created_at < ts(end)),
                 before=(o.created_at >= ts(pre)) & (o.created_at < ts(start)))
    per = o.group_by("customer_id").aggregate(
        y=ibis.cases((o.sale, o.v), else_=0.0).sum(),
        x=ibis.cases((o.before, o.v), else_=0.0).sum(),
        d=o.sale.cast("int64").sum())
    a = shop["assignments"].filter(shop["assignments"].campaign_id == params.campaign_id)
    j = a.left_join(per, "customer_id")
    return j.select(arm=a.arm, y=j.y.fill_null(0.0), x=j.x.fill_null(0.0), d=j.d.fill_null(0))


def test_moments_from_ibis(shops):
    params, duck, spark = shops
    a = moments_from_ibis(_per_customer(duck, params), "arm", "y", x="x", den="d")
    b = moments_from_ibis(_per_customer(spark, params), "arm", "y", x="x", den="d")
    assert sorted(a) == sorted(b) and len(a) == len(params.arms)
    for arm in a:
        assert a[arm].n == b[arm].n
        for f in ("sum_y", "sum_yy", "sum_x", "sum_xx", "sum_xy", "sum_d", "sum_dd", "sum_yd"):
            assert getattr(b[arm], f) == pytest.approx(getattr(a[arm], f), rel=1e-12), f


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
