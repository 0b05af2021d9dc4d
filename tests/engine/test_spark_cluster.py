"""The evaluation's engine part on a Spark standalone cluster (master + one worker started here,
on 127.0.0.1) reading the shop's Parquet = the same part on DuckDB, on a 4,000-customer shop.

The Spark side runs in a subprocess (``cluster_job.py``): Spark allows one session per process,
and ``test_spark.py``'s ``local[2]`` session may live in this one. Skipped only when Java is
missing; a cluster that does not start is a failure.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from crm_experiments.params import load_params
from tests.engine.cluster_job import engine_parts
from tests.engine.spark_cluster import HOST, LEAN_JVM, standalone_cluster

JOB = Path(__file__).with_name("cluster_job.py")

#: What the driver asks of the cluster: one executor of one core (the worker's only core),
#: few shuffle partitions for tiny data, everything on the loopback interface.
SPARK_CONF = {
    "spark.cores.max": "1",
    "spark.executor.cores": "1",
    "spark.executor.memory": "512m",
    "spark.sql.shuffle.partitions": "2",
    "spark.driver.host": HOST,
    "spark.driver.bindAddress": HOST,
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.extraJavaOptions": LEAN_JVM,
    "spark.executor.extraJavaOptions": LEAN_JVM,
}

FRAMES = ("campaign_customers", "kpis", "lifecycle_counts", "migration",
          "retention_curve", "stickiness", "rfm_features", "behaviour_features")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17: no java on PATH")
    # pyspark is a test dependency (the `test` extra pulls in `spark`): missing it is a failure
    import pyspark  # noqa: F401
    with standalone_cluster(tmp_path_factory.mktemp("spark_cluster")) as running:
        yield running


@pytest.fixture(scope="module")
def parts(small_shop, cluster, tmp_path_factory):
    """(DuckDB parts, cluster parts): :func:`engine_parts` in this process on DuckDB and in a
    subprocess on the cluster, with the same params but the engine."""
    tmp = tmp_path_factory.mktemp("cluster_run")
    raw = yaml.safe_load(small_shop.read_text(encoding="utf-8"))
    raw["data"].update(engine="spark", spark_master=cluster.url, spark_conf=SPARK_CONF)
    params_file = tmp / "cluster.yaml"
    params_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = tmp / "parts.pkl"
    env = dict(os.environ, SPARK_LOCAL_IP=HOST, PYSPARK_PYTHON=sys.executable)
    job = subprocess.Popen([sys.executable, str(JOB), str(params_file), str(out)], env=env,
                           cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    try:
        duck = engine_parts(load_params(small_shop))  # while the job's JVMs start
        log, _ = job.communicate(timeout=900)
    finally:
        if job.poll() is None:  # the job and its driver JVM
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
    assert job.returncode == 0, "the cluster job failed:\n" + log[-4000:]
    return duck, pickle.loads(out.read_bytes())


def test_ran_on_the_cluster(cluster, parts):
    duck, spark = parts
    assert duck["master"] is None
    assert spark["master"] == cluster.url
    state = cluster.state()
    assert state["aliveworkers"] == 1 and state["cores"] == 1
    apps = state["completedapps"] + state["activeapps"]
    assert [a["name"] for a in apps] == ["crm-experiments"]


@pytest.mark.parametrize("name", FRAMES)
def test_frame_equal_to_duckdb(parts, name):
    duck, spark = parts
    assert len(duck[name]) > 0, name  # a comparison of two empty frames would prove nothing
    pd.testing.assert_frame_equal(duck[name], spark[name], check_dtype=False, rtol=1e-9)


def test_sufficient_statistics(parts):
    duck, spark = parts
    a, b = duck["moments"], spark["moments"]
    assert list(a.index) == list(b.index) and len(a) > 1
    assert a["n"].tolist() == b["n"].tolist()
    sums = [c for c in a.columns if c != "n"]
    pd.testing.assert_frame_equal(a[sums].astype(float), b[sums].astype(float), rtol=1e-12)
