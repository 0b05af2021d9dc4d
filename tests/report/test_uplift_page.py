"""The coupon-uplift page: its money is the evaluation's (the same customers, the same
function), the same page from a live result and from the stored copies, markup in params and
data shown as text, a Chinese page without untranslated keys."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_experiments.io.reader import load_shop
from crm_experiments.params import load_params
from tests.report.test_clv_page import check_escaped, check_translated, payload_shop  # noqa: F401

MONEY = ["incremental_profit", "incremental_profit_low", "incremental_profit_high", "roi",
         "cost_per_incremental_order"]


@pytest.fixture(scope="module")
def analysed(payload_shop):  # noqa: F811
    from crm_experiments.analyses.campaign import evaluate
    from crm_experiments.analyses.uplift import analyse_campaign_uplift

    params = load_params(payload_shop)
    shop = load_shop(params.data.path, timezone=params.timezone, params=params)
    evaluation = evaluate(params, 30, shop)
    return evaluation, analyse_campaign_uplift(shop, params, 30, max_train=1_000)


def test_money_is_the_evaluations(analysed):
    from crm_experiments.report.uplift_page import uplift_body

    evaluation, uplift = analysed
    ours = uplift.tables()["economics"].set_index("arm")[MONEY]
    theirs = evaluation.tables()["economics"].set_index("arm")[MONEY]
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert not ours.isna().all().any()
    # the page shows the same money from either source
    assert uplift_body(uplift) == uplift_body(uplift, evaluation=evaluation)
    # and MLflow gets no second copy of it
    assert not any(k.startswith("uplift.arm.") or "roi" in k for k in uplift.metrics())


def test_page_from_stored_copies_is_the_same(analysed, tmp_path):
    from crm_experiments.analyses.campaign import Evaluation
    from crm_experiments.analyses.uplift import UpliftAnalysis
    from crm_experiments.report.uplift_page import uplift_body, uplift_page

    evaluation, uplift = analysed
    nav = [("评估报告", "report.html")]
    stored = UpliftAnalysis.read(uplift.write(tmp_path / "uplift"))
    stored_evaluation = Evaluation.read(evaluation.write(tmp_path / "evaluation"))
    assert (uplift_page(uplift, evaluation=evaluation, nav=nav)
            == uplift_page(stored, evaluation=stored_evaluation, nav=nav))
    assert uplift_body(uplift) == uplift_body(stored)
    assert (tmp_path / "uplift" / "models" / "uplift" / "MLmodel").is_file()
    targets = stored.tables()["next_round_targets"]
    assert list(targets.columns) == ["customer_id", "recommended_arm",
                                     "expected_incremental_profit"]


def test_markup_is_text_and_chinese_is_complete(analysed):
    from crm_experiments.report.uplift_page import uplift_page

    evaluation, uplift = analysed
    page = uplift_page(uplift, evaluation=evaluation)
    check_escaped(page, not_shown=("control",))  # the holdout's label is not on this page
    check_translated(page)
    assert "@font-face" in page and page.count("data:image/png;base64,") == 2
    # the training sample was capped: the page says so
    s = uplift.summary()
    assert s["n_train"] == 1_000 < s["n_train_split"]
    assert "1,000" in page and "随机样本" in page


def test_pages_state_sqrt_n_over_sample_through_the_one_function(monkeypatch):
    """The uplift and CLV pages' precision factors are :func:`precision_factor`'s (as the
    results' MLflow metrics), not a formula of their own."""
    from crm_experiments.report import clv_page, uplift_page

    monkeypatch.setattr(uplift_page, "precision_factor", lambda population, sample: 9.0)
    monkeypatch.setattr(clv_page, "precision_factor", lambda population, sample: 9.0)
    text = uplift_page.samples_text({"language": "en", "n_train": 100, "n_train_split": 100,
                                     "n_test": 1000, "n_test_split": 4000})
    assert "9.0 times" in text
    note = {"key": "clv_method_churn_sample", "n": 1000, "population": 4000,
            "date": "2026-11-01", "seed": 0}
    assert "9.0" in clv_page.note_text(note, "en")
