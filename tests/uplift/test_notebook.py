"""The coupon-uplift notebook runs with papermill on the small demo shop."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "coupon_uplift.ipynb"


@pytest.mark.slow
def test_notebook_writes_results(small_shop, tmp_path):
    results = tmp_path / "results"
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"),
                        parameters={"params_path": str(small_shop), "horizon": 30,
                                    "results_dir": str(results)},
                        cwd=str(NOTEBOOK.parent), progress_bar=False)
    metrics = json.loads((results / "metrics.json").read_text())
    assert metrics and all(k.startswith("uplift.") for k in metrics)
    assert all(isinstance(v, float) for v in metrics.values())
    for name in ("uplift_arm_money", "uplift_ranking", "uplift_curves", "uplift_deciles",
                 "uplift_policy_values", "uplift_segment_effects"):
        assert not pd.read_csv(results / "tables" / f"{name}.csv").empty
    targets = pd.read_csv(results / "tables" / "next_round_targets.csv")
    assert list(targets.columns) == ["customer_id", "recommended_arm",
                                     "expected_incremental_profit"]
    assert targets["customer_id"].is_unique
    assert (results / "models" / "uplift" / "MLmodel").is_file()
    import mlflow.pyfunc
    model = mlflow.pyfunc.load_model(str(results / "models" / "uplift"))
    assert model is not None
    nb = json.loads(NOTEBOOK.read_text())
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
