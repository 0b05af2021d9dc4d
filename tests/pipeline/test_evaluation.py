import json

import numpy as np
import pytest

from crm_experiments.analyses.campaign import OUTCOMES, evaluate
from crm_experiments.params import load_params


@pytest.fixture(scope="module")
def medium_evaluations(medium_shop):
    params = load_params(medium_shop)
    return params, {h: evaluate(params, h) for h in params.horizons}


def test_intervals_cover_the_generators_truth(medium_evaluations):
    params, evaluations = medium_evaluations
    truth = json.loads((params.data.path / "truth.json").read_text())
    checked = 0
    for h, ev in evaluations.items():
        for e in ev.comparison.effects:
            if e.metric not in OUTCOMES:
                continue
            true = truth["effects"][str(h)][e.arm]["overall"][e.metric]
            lo = e.ci_low_adjusted if e.ci_low_adjusted is not None else e.ci_low
            hi = e.ci_high_adjusted if e.ci_high_adjusted is not None else e.ci_high
            assert lo <= true <= hi, (h, e.arm, e.metric, lo, true, hi)
            checked += 1
    assert checked == len(params.horizons) * len(params.treatment_arms) * len(OUTCOMES)


def test_evaluation_tables_and_verdict(medium_evaluations):
    params, evaluations = medium_evaluations
    ev = evaluations[7]
    assert set(ev.economics.index) == set(params.treatment_arms)
    assert ev.comparison.srm.passed
    assert ev.verdict.status in {"profitable", "loses_money", "inconclusive"}
    assert ev.verdict.best_arm in params.treatment_arms
    assert ev.kpis.loc["orders", "sale"] > 0
    assert set(ev.migration) == set(params.arm_names)
    metrics = ev.metrics()
    assert all(np.isfinite(v) for v in metrics.values())
    assert "economics.coupon_100_10.incremental_profit" in metrics
    for name, frame in ev.tables().items():
        if name != "customers":  # nothing else customer-level leaves
            assert "customer_id" not in frame.columns, name
    # the per-customer table is the one the comparison used: its arms are the effects' samples
    customers = ev.tables()["customers"]
    assert len(customers) == ev.n_assigned and customers["customer_id"].is_unique
    counts = customers["arm"].value_counts()
    for e in ev.comparison.effects:
        assert (e.n_arm, e.n_control) == (counts[e.arm], counts[params.control_arm])


def test_cuped_narrows_money_intervals(medium_evaluations):
    _, evaluations = medium_evaluations
    for e in evaluations[30].comparison.effects:
        if e.metric in ("revenue", "gross_profit"):
            assert e.variance_reduction is not None and e.variance_reduction > 0.0


def test_evaluation_is_a_stored_result(medium_evaluations, tmp_path):
    """Short repr for notebooks; write/read through the declared schema; the same summary,
    metrics and tables back from disk."""
    import pandas as pd

    from crm_experiments.analyses.campaign import Evaluation
    from crm_experiments.analyses.result import ResultSchemaError

    _, evaluations = medium_evaluations
    ev = evaluations[30]
    assert len(repr(ev)) < 600 and "verdict=" in repr(ev) and "campaign_evaluation" not in repr(ev)
    assert len(ev._repr_html_()) < 20_000
    assert list(ev.to_frame()["arm"]) == list(ev.economics.index)
    stored = Evaluation.read(ev.write(tmp_path / "results"))
    assert stored.summary() == ev.summary() and stored.metrics() == ev.metrics()
    assert set(stored.tables()) == set(ev.tables())
    for name, frame in ev.tables().items():
        pd.testing.assert_frame_equal(stored.table(name), frame.reset_index(drop=True),
                                      check_dtype=False, obj=name)
    (tmp_path / "results" / "tables" / "economics.parquet").unlink()
    with pytest.raises(ResultSchemaError, match="economics"):
        Evaluation.read(tmp_path / "results")
