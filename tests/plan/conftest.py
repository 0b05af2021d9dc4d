"""Three small demo campaigns with different true effects, evaluated into one isolated MLflow
store: the latest through the real ``run_evaluation`` (notebook, report, MLflow run), the other
two through :func:`crm_experiments.analyses.campaign.evaluate` logged with the same tags, params and
``results/`` artifact layout (a full notebook run per campaign would take ~30 s each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_experiments.analyses.campaign import evaluate
from crm_experiments.demo.generator import generate_shop
from crm_experiments.params import load_params
from crm_experiments.pipeline.runner import run_evaluation
from crm_experiments.tracking.client import REPORT_TYPE, mlflow_client
from tests.conftest import write_params

HORIZON = 7
N_CUSTOMERS = 3_000
ARMS = [
    {"name": "control", "planned_share": 0.25, "label": "Holdout"},
    {"name": "coupon_100_10", "planned_share": 0.25, "coupon_face_value": 10,
     "coupon_threshold": 100, "label": "10 off 100"},
    {"name": "coupon_200_30", "planned_share": 0.25, "coupon_face_value": 30,
     "coupon_threshold": 200, "label": "30 off 200"},
    {"name": "coupon_60_50", "planned_share": 0.25, "coupon_face_value": 50,
     "coupon_threshold": 60, "label": "50 off 60"},
]
# campaign: (sale start, sale end, seed, lift_scale per arm). The deep coupon 30 off 200 is
# clearly better everywhere (strongest in camp_a); 50 off 60 moves nobody (lift 0) and gives
# the discount away; 10 off 100 keeps the demo's modest response.
CAMPAIGNS = {
    "camp_a": ("2025-06-01", "2025-06-10", 101,
               {"coupon_100_10": 1.0, "coupon_200_30": 3.0, "coupon_60_50": 0.0}),
    "camp_b": ("2025-09-01", "2025-09-10", 202,
               {"coupon_100_10": 1.0, "coupon_200_30": 2.0, "coupon_60_50": 0.0}),
    "camp_c": ("2025-11-01", "2025-11-11", 303,
               {"coupon_100_10": 1.0, "coupon_200_30": 2.5, "coupon_60_50": 0.0}),
}
REAL = "camp_c"


def log_evaluation(params_path: Path, horizon: int, work: Path) -> str:
    """What ``run_evaluation`` logs, without the notebook: tags, flat params, results/."""
    params = load_params(params_path)
    ev = evaluate(params, horizon)
    results = ev.write(work / f"{params.campaign_id}-results")
    client, exp_id = mlflow_client()
    run = client.create_run(exp_id, tags={"campaign_id": params.campaign_id,
                                          "horizon_days": str(horizon),
                                          "report_type": REPORT_TYPE})
    flat = {**params.flat(), "params_file": params_path.name}
    for key, value in flat.items():
        client.log_param(run.info.run_id, key, value[:6000])
    client.log_artifacts(run.info.run_id, str(results), "results")
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


@pytest.fixture(scope="package")
def past(tmp_path_factory):
    """Root folder with params/campaigns, data and an MLflow store holding the three runs;
    truths per campaign. The store and working directory are set for the whole package."""
    root = tmp_path_factory.mktemp("plan")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp.chdir(root)
    folder = root / "params" / "campaigns"
    folder.mkdir(parents=True)
    truths = {}
    for cid, (start, end, seed, scale) in CAMPAIGNS.items():
        path = write_params(folder / f"{cid}.yaml", root / "data" / cid, campaign_id=cid,
                            sale={"start": start, "end": end}, horizons=[HORIZON],
                            extra_notebooks={}, arms=ARMS, seed=seed)
        generate_shop(root / "data" / cid, load_params(path), n_customers=N_CUSTOMERS,
                      lift_scale=scale)
        truths[cid] = json.loads((root / "data" / cid / "truth.json").read_text())
        if cid == REAL:
            run_evaluation(path, HORIZON, reports_root=root / "reports")
        else:
            log_evaluation(path, HORIZON, root / "work")
    yield {"root": root, "campaigns_dir": folder, "truths": truths}
    mp.undo()
