"""The CLV notebook runs on the small demo shop and writes aggregates and loadable models;
``crm-exp clv --json`` prints models and churn scorers."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
import pytest

from crm_experiments.analyses.clv import CampaignCLV
from crm_experiments.cli import main
from crm_experiments.params import load_params

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_notebook_runs_and_writes_results(small_shop, tmp_path):
    import papermill as pm

    results = tmp_path / "results"
    pm.execute_notebook(str(REPO / "notebooks" / "clv_churn.ipynb"), str(tmp_path / "out.ipynb"),
                        parameters={"params_path": str(small_shop), "horizon": 30,
                                    "results_dir": str(results)},
                        cwd=str(REPO / "notebooks"), progress_bar=False)
    stored = CampaignCLV.read(results)  # checks the declared tables and columns
    metrics = stored.metrics()
    assert all(k.startswith(("clv.", "churn.")) for k in metrics)
    assert all(isinstance(v, float) for v in metrics.values())
    assert "churn.model.auc" in metrics and "clv.bg_nbd.log_likelihood" in metrics
    params = load_params(small_shop)
    n_assigned = len(pd.read_parquet(params.data.path / "assignments.parquet"))
    for name, t in stored.tables().items():
        assert "customer_id" not in t.columns, name
        assert len(t) < n_assigned / 10, name  # aggregates, not customer rows
    inc = stored.tables()["clv_incremental"]
    assert set(inc["arm"]) == set(params.treatment_arms)
    assert (inc["ci_low"] <= inc["estimate"]).all() and (inc["estimate"] <= inc["ci_high"]).all()
    model = mlflow.pyfunc.load_model(str(results / "models" / "clv"))
    x = pd.DataFrame({"frequency": [0, 3], "recency": [0.0, 20.0], "T": [30.0, 40.0],
                      "monetary_value": [0.0, 150.0]})
    out = model.predict(x)
    assert (out["clv_12m"] > 0).all()
    assert (results / "models" / "churn_classifier" / "MLmodel").exists()
    nb = json.loads((REPO / "notebooks" / "clv_churn.ipynb").read_text())
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb["cells"] if c["cell_type"] == "code")
    assert nb["cells"][1]["metadata"]["tags"] == ["parameters"]


def test_cli_json(small_shop, capsys, tmp_path):
    params = load_params(small_shop)
    predictions = tmp_path / "out" / "predictions.parquet"
    rc = main(["clv", str(params.data.path), "--calibration-end", "2025-11-01",
               "--observation-end", "2025-12-12", "--churn-days", "30", "--json",
               "--predictions", str(predictions)])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    # per-customer predictions from the same fitted models: their holdout sums are the
    # validation's figures for the chosen model
    pred = pd.read_parquet(predictions)
    best = rep["best_model"]
    assert rep["predictions"] == {"file": str(predictions), "customers": rep["customers"],
                                  "model": best}
    assert len(pred) == rep["customers"] and pred["customer_id"].is_unique
    assert set(pred["model"]) == {best}
    assert pred["expected_purchases_holdout"].sum() == pytest.approx(
        rep["models"][best]["holdout_predicted"], rel=1e-6)
    assert pred["actual_purchases_holdout"].sum() == rep["models"][best]["holdout_actual"]
    assert pred["p_alive"].between(0, 1).all()
    assert (pred["clv_12m"] >= pred["clv_3m"]).all() and (pred["clv_3m"] >= 0).all()
    assert (pred["expected_purchases_12m"] >= pred["expected_purchases_6m"]).all()
    assert not list(tmp_path.glob("out/.*"))  # no temporary file left
    assert set(rep["models"]) >= {"bg_nbd", "pareto_nbd", "mbg_nbd", "gamma_gamma"}
    for m in ("bg_nbd", "pareto_nbd", "mbg_nbd"):
        assert rep["models"][m]["log_likelihood"] < 0
        assert rep["models"][m]["holdout_actual"] > 0
    assert set(rep["churn"]["scorers"]) >= {"model", "hiatus", "classifier"}
    assert all(0.5 < s["auc"] <= 1 for k, s in rep["churn"]["scorers"].items() if k != "p_alive")


def test_cli_predictions_file_must_be_parquet_or_csv(tmp_path, capsys):
    rc = main(["clv", str(tmp_path), "--calibration-end", "2025-11-01",
               "--observation-end", "2025-12-12", "--predictions", str(tmp_path / "p.xlsx")])
    err = capsys.readouterr().err
    assert rc == 2 and "p.xlsx" in err and ".parquet or .csv" in err and "Traceback" not in err
