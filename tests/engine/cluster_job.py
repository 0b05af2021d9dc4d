"""The evaluation's engine part for the Spark-cluster parity test, on whatever engine the params
name: ``python tests/engine/cluster_job.py <params.yaml> <out.pkl>``.

Run in its own process for Spark (one SparkSession per process: the test's process may hold the
``local[2]`` session of ``test_spark.py``); imported and called directly for DuckDB. It calls
only the package's public functions on the shop ``load_shop`` returns, so it does not depend on
how the engine layer builds its expressions.
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
from pathlib import Path

import pandas as pd

from crm_experiments.analyses.campaign import retention_curve
from crm_experiments.io.reader import load_shop
from crm_experiments.metrics import kpis, lifecycle, stickiness
from crm_experiments.metrics.campaign import campaign_customers
from crm_experiments.models.features import behaviour_features, rfm_features
from crm_experiments.params import CampaignParams, load_params
from crm_experiments.stats import aggr


def engine_parts(params: CampaignParams) -> dict[str, object]:
    """Each engine computation of an evaluation at the first horizon, as pandas frames; and
    ``master``, the Spark master the work ran on (None on DuckDB)."""
    shop = load_shop(params.data.path, params=params)
    orders = shop["orders"]
    horizon = params.horizons[0]
    start, end = params.sale_start, params.window_end(horizon)
    period = params.lifecycle_period_months
    customers = campaign_customers(shop, params, horizon)
    stats = aggr.moments_from_frame(orders, "province", "amount", x="discount", den="refund_amount")
    windows = {"sale": (start, end), "weeks_before": (start - (end - start), start)}
    parts: dict[str, object] = {
        "campaign_customers": customers,
        "kpis": kpis.kpi_comparison(orders, windows),
        "lifecycle_counts": lifecycle.lifecycle_counts(orders, start, period,
                                                       customers=shop["customers"]),
        "migration": lifecycle.migration_matrix(orders, start, end, period),
        "retention_curve": retention_curve(orders, customers, params, end, engine=shop.con),
        "stickiness": stickiness.stickiness(orders, lifecycle.period_start(start, period), start,
                                            retention_days=30, as_of=start),
        "rfm_features": rfm_features(orders, start, end),
        "behaviour_features": behaviour_features(orders, start,
                                                 interactions=shop["interactions"]),
        "moments": pd.DataFrame({k: dataclasses.asdict(v) for k, v in stats.items()}).T
        .sort_index(),
        "master": None,
    }
    if params.data.engine == "spark":
        from pyspark.sql import SparkSession

        parts["master"] = SparkSession.getActiveSession().sparkContext.master
    return parts


def main(argv: list[str]) -> int:
    params_file, out = argv
    params = load_params(params_file)
    parts = engine_parts(params)
    Path(out).write_bytes(pickle.dumps(parts))
    if params.data.engine == "spark":  # end the application cleanly: the master lists it done
        from pyspark.sql import SparkSession

        SparkSession.getActiveSession().stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
