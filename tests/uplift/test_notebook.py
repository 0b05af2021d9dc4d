"""The coupon-uplift notebook runs with papermill on the small demo shop."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import pytest

from crm_experiments.analyses.uplift import UpliftAnalysis

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "coupon_uplift.ipynb"


@pytest.mark.slow
def test_notebook_writes_results(small_shop, tmp_path):
    results = tmp_path / "results"
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"),
                        parameters={"params_path": str(small_shop), "horizon": 30,
                                    "results_dir": str(results)},
                        cwd=str(NOTEBOOK.parent), progress_bar=False)
    stored = UpliftAnalysis.read(results)  # checks the declared tables and columns
    metrics = stored.metrics()
    assert metrics and all(k.startswith("uplift.") for k in metrics)
    assert all(isinstance(v, float) for v in metrics.values())
    assert not any(k.startswith("uplift.arm.") for k in metrics)  # money: the evaluation's
    tables = stored.tables()
    for name in ("economics", "ranking", "curves", "deciles", "policy_values",
                 "segment_effects"):
        assert not tables[name].empty, name
    targets = tables["next_round_targets"]
    assert list(targets.columns) == ["customer_id", "recommended_arm",
                                     "expected_incremental_profit"]
    assert targets["customer_id"].is_unique
    assert (results / "models" / "uplift" / "MLmodel").is_file()
    import mlflow.pyfunc
    model = mlflow.pyfunc.load_model(str(results / "models" / "uplift"))
    assert model is not None
    nb = json.loads(NOTEBOOK.read_text())
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    out = json.loads((tmp_path / "out.ipynb").read_text())
    shown = "".join("".join(o.get("data", {}).get("text/html", ""))
                    for c in out["cells"] for o in c.get("outputs", []))
    assert "<h1>" in shown and "data:image/png;base64," in shown  # the page body
