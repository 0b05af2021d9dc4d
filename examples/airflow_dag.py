"""Example Airflow DAG: run the crm-experiments scheduler once a day.

The DAG only calls the same command a cron job would; the scheduler itself decides what is due
(from the campaign YAML files and the MLflow runs), catches up missed days and never runs an
evaluation twice, so Airflow's retries and backfills are harmless.

Copy this file into your DAGs folder and set CRM_EXP_HOME to the checkout (with `.venv` made by
`make install`) and MLFLOW_TRACKING_URI to your tracking server.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow import DAG
from airflow.operators.bash import BashOperator

CRM_EXP_HOME = os.environ.get("CRM_EXP_HOME", "/opt/crm-experiments")

with DAG(
    dag_id="crm_experiments_schedule",
    description="Evaluate campaigns one week and one month after each sale",
    schedule="30 6 * * *",  # every day at 06:30, after the nightly data export
    start_date=dt.datetime(2025, 1, 1),
    catchup=False,  # the scheduler catches up by itself
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=15)},
    tags=["crm", "evaluation"],
) as dag:
    BashOperator(
        task_id="schedule_due_evaluations",
        cwd=CRM_EXP_HOME,
        bash_command=".venv/bin/crm-exp schedule --today {{ ds }}",
        env={"MLFLOW_TRACKING_URI": os.environ.get("MLFLOW_TRACKING_URI", "")},
        append_env=True,
    )
