"""End to end: Papermill runs the evaluation notebook, the report is rendered from the result
it stored, MLflow records the run; a failing notebook leaves a FAILED run and no report."""

import json
import re
import shutil

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from crm_experiments.analyses.campaign import Evaluation
from crm_experiments.cli import main
from crm_experiments.errors import DataValidationError
from crm_experiments.pipeline.runner import EvaluationFailed, run_evaluation
from crm_experiments.report.pages import evaluation_page, page_nav
from tests.conftest import write_params


def _runs(uri):
    client = MlflowClient(tracking_uri=uri)
    exps = client.search_experiments()
    return client.search_runs([e.experiment_id for e in exps])


def test_run_writes_report_index_and_mlflow_run(small_shop, tracking, tmp_path, capfd):
    reports = tmp_path / "reports"
    params_file = write_params(tmp_path / "with_clv.yaml", small_shop.parent / "data",
                               extra_notebooks={"clv_churn": [7]})
    outcome = run_evaluation(params_file, 7, reports_root=reports)
    if __import__("zmq").has("curve"):  # the kernels' sockets were encrypted (CurveZMQ)
        assert "without encryption" not in capfd.readouterr().err
    report = reports / "demo_d11" / "7d" / "report.html"
    assert outcome.report_path == report and report.exists()
    html = report.read_text(encoding="utf-8")
    assert "Verdict" in html and "Executive summary" in html
    assert "Money per coupon arm" in html
    # no code: neither the notebook's source nor input cells reach the report
    for code in ("load_params(", "evaluate(params", "charts.show", "import "):
        assert code not in html
    assert "class=\"jp-InputArea" not in html and "highlight-ipynb" not in html
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 3
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert "demo_d11/7d/report.html" in index

    (run,) = _runs(tracking)
    assert run.info.status == "FINISHED"
    assert run.data.tags["campaign_id"] == "demo_d11"
    assert run.data.tags["horizon_days"] == "7"
    assert run.data.tags["report_type"] == "campaign_evaluation"
    assert run.data.params["sale.start"] == "2025-11-01"
    assert "effect.coupon_200_30.net_profit.estimate" in run.data.metrics
    assert "kpi.gmv" in run.data.metrics
    client = MlflowClient(tracking_uri=tracking)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"notebook", "report", "results"} <= artifacts
    summary = json.loads((report.parent / "summary.json").read_text())
    assert summary["mlflow_run_id"] == run.info.run_id
    # the page is the stored result's page: rendered again from the logged results, the same
    stored = Evaluation.read(client.download_artifacts(run.info.run_id, "results",
                                                       str(tmp_path / "logged")))
    assert evaluation_page(stored, nav=page_nav(["clv_churn"], "en", "coupon")) == html
    assert run.data.metrics["economics.coupon_200_30.incremental_profit"] == pytest.approx(
        stored.metrics()["economics.coupon_200_30.incremental_profit"])

    # campaigns side by side (tracking.headlines): the headline is the verdict's best arm,
    # the positional keys repeat the named ones, the experiment opens on its runs
    verdict = stored.summary()["verdict"]
    best, m = verdict["best_arm"], run.data.metrics
    assert run.data.tags["verdict"] == verdict["status"] and run.data.tags["best_arm"] == best
    for figure in ("incremental_profit", "incremental_profit_low", "roi_high"):
        assert m[f"best_arm.{figure}"] == pytest.approx(m[f"economics.{best}.{figure}"])
    position = next(k.removesuffix(".arm") for k, v in run.data.params.items()
                    if v == best and k.startswith("treatment_") and k.endswith(".arm"))
    assert m[f"{position}.roi"] == m[f"economics.{best}.roi"]
    assert m[f"{position}.effect.net_profit.estimate"] == m[f"effect.{best}.net_profit.estimate"]
    assert summary["mlflow_run_url"].endswith("?workflowType=machine_learning")

    # the per-customer table beside the report: the comparison's own rows and values
    assert summary["files"] == {"customers": "campaign_customers.parquet"}
    table = pd.read_parquet(report.parent / "campaign_customers.parquet")
    pd.testing.assert_frame_equal(table, stored.table("customers"))
    assert {"customer_id", "arm", "revenue", "pre_revenue", "net_profit"} <= set(table.columns)
    counts = table["arm"].value_counts()
    for e in stored.table("effects").itertuples():
        assert (e.n_arm, e.n_control) == (counts[e.arm], counts["control"])
    tables = {a.path for a in client.list_artifacts(run.info.run_id, "results/tables")}
    assert "results/tables/customers.parquet" in tables  # demo ids: nothing personal
    assert "customers_table" not in run.data.tags

    # the extra notebook: its own page, linked from the report, in the same MLflow run
    assert (report.parent / "clv_churn.html").exists()
    assert 'href="clv_churn.html"' in html
    assert any(k.startswith("clv.") for k in run.data.metrics)
    models = {a.path for a in client.list_artifacts(run.info.run_id, "results/clv_churn/models")}
    assert models, "CLV models are logged with the run"
    versions = client.search_model_versions(f"run_id = '{run.info.run_id}'")
    assert versions and {v.tags["campaign_id"] for v in versions} == {"demo_d11"}
    assert all(v.name.startswith("clv_churn.") for v in versions)


def test_failing_notebook_marks_run_failed_and_leaves_no_report(small_shop, tracking, tmp_path):
    broken = tmp_path / "broken_data"
    shutil.copytree(small_shop.parent / "data", broken)
    (broken / "assignments.parquet").unlink()  # the holdout comparison cannot run
    params_file = write_params(tmp_path / "broken.yaml", broken, campaign_id="broken_campaign")
    reports = tmp_path / "reports"
    with pytest.raises(EvaluationFailed, match="assignments"):
        run_evaluation(params_file, 7, reports_root=reports)
    assert not (reports / "broken_campaign").exists()
    (run,) = _runs(tracking)
    assert run.info.status == "FAILED"
    assert "assignments" in run.data.tags["error"]


def test_cli_run_reports_errors_without_traceback(tmp_path, capsys, tracking):
    bad = tmp_path / "bad.yaml"
    bad.write_text("campaign_id: x\nunknown_key: 1\n", encoding="utf-8")
    assert main(["run", str(bad), "--horizon", "7"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "unknown_key" in err and "Traceback" not in err
    assert _runs(tracking) == []  # invalid params never start a run


def test_bad_data_fails_the_run_before_any_notebook(small_shop, tracking, tmp_path):
    bad = tmp_path / "bad_data"
    shutil.copytree(small_shop.parent / "data", bad)
    orders = pd.read_parquet(bad / "orders.parquet")
    orders.loc[2, "amount"] = -20.0
    orders.to_parquet(bad / "orders.parquet")
    params_file = write_params(tmp_path / "bad.yaml", bad, campaign_id="bad_campaign")
    reports = tmp_path / "reports"
    steps: list[str] = []
    with pytest.raises(DataValidationError, match=r"orders.parquet, column 'amount', row 3"):
        run_evaluation(params_file, 7, reports_root=reports, progress=steps.append)
    assert not any("executing" in s for s in steps)  # validated once, before the notebooks
    assert not (reports / "bad_campaign").exists()
    (run,) = _runs(tracking)
    assert run.info.status == "FAILED" and "row 3" in run.data.tags["error"]


def test_kernels_get_encrypted_sockets_where_supported():
    import zmq

    from crm_experiments.pipeline.runner import _kernel_manager_class

    manager = _kernel_manager_class()()
    assert manager.transport_encryption == ("auto" if zmq.has("curve") else "disabled")



def test_a_customer_table_with_personal_looking_ids_stays_out_of_mlflow(tmp_path):
    from crm_experiments.pipeline.runner import _customers_file

    class Client:
        def __init__(self):
            self.tags = {}

        def set_tag(self, run_id, key, value):
            self.tags[key] = value

    results, work = tmp_path / "results", tmp_path / "work"
    (results / "tables").mkdir(parents=True)
    work.mkdir()
    for ids, logged in ((["C0001", "c_0123456789abcdef"], True),
                        (["C0001", "ann@example.com"], False)):
        table = pd.DataFrame({"customer_id": ids, "arm": ["a", "b"], "revenue": [1.0, 2.0]})
        table.to_parquet(results / "tables" / "customers.parquet")
        client = Client()
        path = _customers_file(client, "run", results, work)
        assert (path.parent == results / "tables") is logged
        assert (results / "tables" / "customers.parquet").exists() is logged
        assert pd.read_parquet(path).equals(table)  # still published beside the report
        if not logged:
            assert "e-mail" in client.tags["customers_table"]
            assert "ann@" not in client.tags["customers_table"]  # the reason names no id
