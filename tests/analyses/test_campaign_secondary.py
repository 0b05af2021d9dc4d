"""The other metrics beside the decision (analyses.campaign.secondary_comparison): repurchase,
retention of earlier buyers and average order value, adjusted like the decision's metrics, in
a Holm family of their own, on the page, and left out with a note where a shop cannot give them."""

import pandas as pd
import pytest

from crm_experiments.analyses.campaign import (
    adjustment_covariates,
    secondary_comparison,
)
from crm_experiments.metrics.campaign import campaign_customers
from crm_experiments.params import load_params
from crm_experiments.stats.multiple import adjust
from crm_experiments.stats.table import compare_arms


@pytest.fixture(scope="module")
def shop(small_shop):
    from crm_experiments.io.reader import load_shop

    params = load_params(small_shop)
    data = load_shop(params.data.path, timezone=params.timezone, params=params)
    return params, campaign_customers(data, params, 30)


def test_secondary_metrics_are_adjusted_in_their_own_holm_family(shop):
    params, customers = shop
    result, notes = secondary_comparison(customers, params)
    assert notes == ()
    got = {(e.metric, e.arm): e for e in result.effects}
    assert {m for m, _ in got} == {"repurchased", "retained", "aov"}
    assert len(got) == 3 * len(params.treatment_arms)
    family = f"over {len(got)} comparisons"
    assert all(e.correction.startswith("Holm") and family in e.correction
               for e in result.effects)
    # retention by hand: converted among the pre-period's buyers, same covariates, unadjusted
    # for multiplicity here, then Holm over the six comparisons
    frame, cols, _ = adjustment_covariates(customers, params)
    earlier = frame[frame.pre_converted == 1].assign(retained=lambda f: f.converted)
    by_hand = compare_arms(earlier, arm="arm", control=params.control_arm,
                           metrics=["retained"], covariates={"retained": list(cols)},
                           strata="lifecycle_state", correction=None)
    for e in by_hand.effects:
        mine = got[("retained", e.arm)]
        assert mine.estimate == pytest.approx(e.estimate) and mine.se == pytest.approx(e.se)
    holm = {(e.metric, e.arm): e.p_value_adjusted
            for e in adjust([replace_correction(e) for e in result.effects], "holm",
                            params.alpha)}
    assert holm == pytest.approx({k: e.p_value_adjusted for k, e in got.items()})
    # every comparison says what adjusted it; the reduction exists exactly where one did
    how = {(a.metric, a.arm): a.method for a in result.adjustments}
    assert set(how) == set(got)
    for key, e in got.items():
        assert (e.variance_reduction is not None) == (how[key] != "none"), key


def replace_correction(effect):
    from dataclasses import replace

    return replace(effect, p_value_adjusted=None, ci_low_adjusted=None, ci_high_adjusted=None,
                   correction=None)


def test_no_earlier_buyer_and_no_order_leave_metrics_out_with_a_note(shop):
    params, customers = shop
    no_history = customers.assign(pre_converted=0.0)
    result, notes = secondary_comparison(no_history, params)
    assert notes == ("note_no_retention",)
    assert {e.metric for e in result.effects} == {"repurchased", "aov"}
    arm = params.treatment_arms[0]
    no_orders = customers.copy()
    no_orders.loc[no_orders.arm == arm, ["orders", "revenue"]] = 0.0
    result, notes = secondary_comparison(no_orders, params)
    assert "note_no_aov" in notes and "aov" not in {e.metric for e in result.effects}


def test_the_page_shows_them(shop, tmp_path):
    from crm_experiments.analyses.campaign import evaluate
    from crm_experiments.report import pages
    from crm_experiments.report.i18n import tr

    params, _ = shop
    ev = evaluate(params, 7)
    page = pages.evaluation_page(ev)
    assert tr("secondary_effects", params.language) in page
    assert tr("retained", params.language) in page
    assert isinstance(ev.tables()["secondary_effects"], pd.DataFrame)
