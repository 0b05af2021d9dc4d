"""Degrade, never drop (issue 16): a part of the report that cannot run on a shop's data is
replaced by a note and the run still finishes; models fall back instead of failing.

* an imported shop's shape (customers without gender, tier, province) through the runner at
  30 days with both extra notebooks: a FINISHED run, every page, notes naming the features left
  out of the uplift model;
* an extra notebook whose analysis raises AnalysisSkipped and one with a bug: FINISHED run, the
  ``skipped`` / ``failed_parts`` tags, a note page for each, linked from the report;
* a Gamma-Gamma fit that does not converge without a penalizer: the CLV page says which
  penalizer was used; no purchase model / no usable feature: AnalysisSkipped with the reason.

The evaluation notebook failing still fails the run and leaves no report
(tests/pipeline/test_runner.py::test_failing_notebook_marks_run_failed_and_leaves_no_report).
"""

from __future__ import annotations

import json
import shutil

import nbformat
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from crm_experiments.analyses import clv as clv_analysis
from crm_experiments.analyses import uplift as uplift_analysis
from crm_experiments.errors import AnalysisSkipped, CrmError
from crm_experiments.io.reader import load_shop
from crm_experiments.models.gamma_gamma import GammaGammaModel
from crm_experiments.params import load_params
from crm_experiments.pipeline import runner
from crm_experiments.pipeline.runner import run_evaluation
from crm_experiments.report.clv_page import clv_page
from crm_experiments.report.pages import skipped_page
from tests.conftest import write_params
from tests.models.test_fallbacks import _fails_without_penalizer

EXTRAS = ("clv_churn", "coupon_uplift")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A working directory and MLflow store shared by the module's runs."""
    root = tmp_path_factory.mktemp("degrade")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.chdir(root)
        yield root, MlflowClient(tracking_uri=uri)


def _run_of(client: MlflowClient, run_id: str):
    return client.get_run(run_id)


@pytest.fixture(scope="module")
def imported_run(small_shop, store):
    """The small demo shop without gender, tier and province (as an import gives it), at 30
    days with both extra notebooks."""
    root, client = store
    data = root / "imported_data"
    shutil.copytree(small_shop.parent / "data", data)
    customers = pd.read_parquet(data / "customers.parquet")
    customers[["customer_id", "first_order_at"]].to_parquet(data / "customers.parquet")
    params_file = write_params(root / "imported.yaml", data,
                               extra_notebooks={name: [30] for name in EXTRAS})
    outcome = run_evaluation(params_file, 30, reports_root=root / "reports_imported")
    return outcome, _run_of(client, outcome.run_id)


def test_imported_shop_gets_every_page(imported_run):
    outcome, run = imported_run
    assert run.info.status == "FINISHED"
    assert "skipped" not in run.data.tags and "failed_parts" not in run.data.tags
    folder = outcome.report_path.parent
    report = outcome.report_path.read_text(encoding="utf-8")
    for name in EXTRAS:
        assert (folder / f"{name}.html").exists()
        assert f'href="{name}.html"' in report
    uplift = (folder / "coupon_uplift.html").read_text(encoding="utf-8")
    for text in ("Feature left out: gender (no values in the data).",
                 "Feature left out: province (no values in the data).",
                 "Feature left out: member tier"):
        assert text in uplift
    assert any(k.startswith("uplift.") for k in run.data.metrics)
    assert any(k.startswith("clv.") for k in run.data.metrics)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["skipped_parts"] == {}
    assert summary["pages"] == ["clv_churn.html", "coupon_uplift.html"]


def _notebook(path, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    params = nbformat.v4.new_code_cell('params_path = ""\nhorizon = 7\nresults_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def broken_extras_run(small_shop, store, tmp_path_factory):
    """At 7 days: clv_churn's analysis cannot run (AnalysisSkipped, with markup in its reason),
    coupon_uplift has a bug (ZeroDivisionError)."""
    root, client = store
    notebooks = tmp_path_factory.mktemp("notebooks")
    _notebook(notebooks / "clv_churn.ipynb",
              "from crm_experiments.errors import AnalysisSkipped\n"
              "raise AnalysisSkipped('skip_clv_no_purchase_model', 'CLV and churn skipped: test',"
              " reason='no repeat purchase <b>at all</b>')")
    _notebook(notebooks / "coupon_uplift.ipynb", "1 / 0")
    params_file = write_params(root / "broken_extras.yaml", small_shop.parent / "data",
                               extra_notebooks={name: [7] for name in EXTRAS})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "NOTEBOOKS_DIR", notebooks)
        outcome = run_evaluation(params_file, 7, reports_root=root / "reports_broken")
    return outcome, _run_of(client, outcome.run_id)


def test_skipped_and_failed_extras_keep_the_report(broken_extras_run):
    outcome, run = broken_extras_run
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["skipped"] == "clv_churn" and tags["failed_parts"] == "coupon_uplift"
    assert tags["part.clv_churn"] == "CLV and churn skipped: test"
    assert tags["part.coupon_uplift"].startswith("ZeroDivisionError: division by zero")
    folder = outcome.report_path.parent
    report = outcome.report_path.read_text(encoding="utf-8")
    assert "Verdict" in report
    assert 'href="clv_churn.html"' in report and 'href="coupon_uplift.html"' in report
    clv = (folder / "clv_churn.html").read_text(encoding="utf-8")
    assert "Customer lifetime value" in clv or "CLV" in clv
    assert "not in this report" in clv and 'data-part-status="skipped"' in clv
    assert "no purchase model (BG/NBD" in clv
    assert "&lt;b&gt;at all&lt;/b&gt;" in clv and "<b>at all" not in clv
    assert 'href="report.html"' in clv  # the navigation
    uplift = (folder / "coupon_uplift.html").read_text(encoding="utf-8")
    assert 'data-part-status="failed"' in uplift
    assert "<code>ZeroDivisionError</code>: division by zero" in uplift
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["skipped_parts"]["clv_churn"]["key"] == "skip_clv_no_purchase_model"
    assert summary["skipped_parts"]["coupon_uplift"]["status"] == "failed"
    assert summary["pages"] == ["clv_churn.html", "coupon_uplift.html"]
    assert not any(k.startswith(("clv.", "uplift.")) for k in run.data.metrics)


def test_skipped_page_in_chinese():
    part = {"status": "skipped", "key": "skip_uplift_no_features",
            "facts": {"features": "gender, province"}, "message": "x"}
    html = skipped_page("coupon_uplift", part, "zh", nav=[("报告", "report.html")],
                        campaign_type="coupon")
    assert 'lang="zh-CN"' in html and "本报告未包含" in html
    assert "gender, province 为空或只有一个取值" in html
    unknown = skipped_page("clv_churn", {"status": "failed", "error": "KeyError",
                                         "message": "'x'"}, "en", campaign_type="coupon")
    assert "<code>KeyError</code>: &#39;x&#39;" in unknown


@pytest.fixture(scope="module")
def small(small_shop):
    params = load_params(small_shop)
    return load_shop(params.data.path, params=params), params


def test_clv_page_names_the_penalizer(small, monkeypatch):
    shop, params = small
    _fails_without_penalizer(monkeypatch, times=99)
    result = clv_analysis.campaign_clv(shop, params, 30, n_boot=200)
    notes = [n for n in result.summary()["method_notes"]
             if n["key"] == "clv_method_gg_penalizer"]
    assert [n["penalizer"] for n in notes] == [0.001, 0.001]  # calibration and window end
    assert result.spend_model.penalizer_coef == 0.001
    html = clv_page(result)
    assert "did not converge without a penalty; it was fitted with penalizer_coef = 0.001" \
        in html
    assert "penalizer_coef = 0.001" in clv_page(result.__class__.read(result.write(
        params.data.path.parent / "clv_penalized")))


def test_clv_skipped_when_no_model_fits(small, monkeypatch):
    shop, params = small

    def nothing(*args, **kwargs):
        raise CrmError("no purchase model could be fitted (test)")

    monkeypatch.setattr(clv_analysis, "fit_purchase_models", nothing)
    with pytest.raises(AnalysisSkipped) as info:
        clv_analysis.campaign_clv(shop, params, 30)
    assert info.value.key == "skip_clv_no_purchase_model"
    assert "(test)" in info.value.facts["reason"]
    assert AnalysisSkipped.parse(str(info.value)) == (info.value.key, info.value.facts)


def test_spend_model_failing_skips_clv(small, monkeypatch):
    shop, params = small
    monkeypatch.setattr(GammaGammaModel, "fit", lambda self, *a, **k: (_ for _ in ()).throw(
        clv_analysis.CrmError("too few customers (test)")))
    with pytest.raises(AnalysisSkipped, match="too few customers") as info:
        clv_analysis.campaign_clv(shop, params, 30)
    assert info.value.key == "skip_clv_no_spend_model"


def test_uplift_skipped_without_usable_features(small, monkeypatch):
    shop, params = small
    real = uplift_analysis.customer_table

    def only_empty(*args, **kwargs):
        df, _ = real(*args, **kwargs)
        df["gender"] = None
        df["tier"] = "normal"
        return df, ["gender", "tier"]

    monkeypatch.setattr(uplift_analysis, "customer_table", only_empty)
    with pytest.raises(AnalysisSkipped) as info:
        uplift_analysis.analyse_campaign_uplift(shop, params, 30)
    assert info.value.key == "skip_uplift_no_features"
    assert info.value.facts == {"features": "gender, tier"}
