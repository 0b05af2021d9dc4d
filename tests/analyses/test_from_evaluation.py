"""analyses.from_evaluation: the extra notebooks take the evaluation's per-customer table
(stored or live) instead of computing it again, and it is the table they would compute."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_experiments.analyses.from_evaluation import evaluation_customers, stored_evaluation
from crm_experiments.metrics.campaign import campaign_customers
from crm_experiments.params import load_params


@pytest.fixture(scope="module")
def evaluated(small_shop, tmp_path_factory):
    from crm_experiments.analyses.campaign import evaluate
    from crm_experiments.io.reader import load_shop

    params = load_params(small_shop)
    shop = load_shop(params.data.path, params=params, validate=False)
    live = evaluate(params, 30, shop)
    folder = tmp_path_factory.mktemp("evaluated") / "results"
    live.write(folder)
    return params, shop, live, stored_evaluation(folder)


def test_the_stored_table_is_the_computed_one(evaluated):
    params, shop, live, stored = evaluated
    computed = campaign_customers(shop, params, 30)
    pd.testing.assert_frame_equal(evaluation_customers(stored, params, 30), computed)
    pd.testing.assert_frame_equal(evaluation_customers(live, params, 30), computed)
    some = evaluation_customers(stored, params, 30, columns=["arm", "revenue", "no_such"])
    assert list(some.columns) == ["customer_id", "arm", "revenue"]
    pd.testing.assert_frame_equal(some, computed[["customer_id", "arm", "revenue"]])
    mine = evaluation_customers(live, params, 30)
    mine["extra"] = 1.0
    assert "extra" not in live.customers  # a new frame: the evaluation's is left as it was
    assert evaluation_customers(stored, params, 7) is None   # another horizon's
    other = params.model_copy(update={"campaign_id": "another"})
    assert evaluation_customers(stored, other, 30) is None   # another campaign's
    assert evaluation_customers(None, params, 30) is None


def test_clv_takes_the_evaluations_customers(evaluated, monkeypatch):
    """The same CLV result as computing the per-customer table, without computing it."""
    import crm_experiments.analyses.clv as clv

    params, shop, _, stored = evaluated
    own = clv.campaign_clv(shop, params, 30, n_boot=50)
    monkeypatch.setattr(clv, "campaign_customers",
                        lambda *a, **k: pytest.fail("the customer table was computed again"))
    reused = clv.campaign_clv(shop, params, 30, n_boot=50, evaluation=stored)
    # equal but for the fits' last digits (two fits on the same data differ there too)
    assert _rounded(reused.summary()) == _rounded(own.summary())
    for name, table in own.tables().items():
        pd.testing.assert_frame_equal(reused.tables()[name], table, obj=name, rtol=1e-9)


def _rounded(value):
    """``value`` with every float rounded to 9 significant digits (recursively)."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return float(f"{value:.9g}") if isinstance(value, float) else value
