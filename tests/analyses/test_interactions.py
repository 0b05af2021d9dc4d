"""The evaluation's comparison of activity participants (observational): one activity on the
confounded simulation, and the per-activity table on a demo shop."""

import math

import narwhals as nw
import numpy as np
import pytest

from crm_experiments.analyses.interactions import (
    COLUMNS,
    MIN_PARTICIPANTS,
    activity_comparisons,
    interaction_comparison,
    interaction_methods,
)
from crm_experiments.io.engine import connect
from crm_experiments.io.reader import load_shop
from crm_experiments.metrics.interactions import FEATURES
from crm_experiments.params import load_params
from tests.stats.test_observational import END, START, _simulate


def test_interaction_comparison_of_one_activity():
    orders, inter, members, tau = _simulate()
    con = connect(threads=1)
    r = interaction_comparison(con.from_pandas(orders), con.from_pandas(inter), "sign_in",
                               START, END, customers=con.from_pandas(members))
    assert r.label == "observational" and r.causal is False and "Observational" in r.warning
    adj = r.effects.loc[("converted", "ipw_att")]
    assert adj.ci_low < tau < adj.ci_high
    assert {"mean_participants", "mean_non_participants"} <= set(r.effects.columns)
    assert r.n_participants + r.n_non_participants == 20_000
    assert r.n_participants == len(inter) and r.participants_outside_population == 0
    assert r.window == (START, END) and r.outcome_window == (START, END)
    frame = r.to_frame()
    assert set(frame["label"]) == {"observational"} and not frame["causal"].any()
    assert set(frame["kind"]) == {"sign_in"}


@pytest.fixture(scope="module")
def demo(small_shop):
    params = load_params(small_shop)
    shop = load_shop(params.data.path, timezone=params.timezone, params=params)
    return shop, params


def test_activity_table_of_a_demo_shop(demo):
    shop, params = demo
    table, notes = activity_comparisons(shop, params, (params.sale_start, params.window_end(7)))
    assert notes == () and tuple(table.columns) == COLUMNS
    by = table.set_index(["kind", "outcome"])
    assert list(dict.fromkeys(table["kind"])) == ["sign_in", "lottery", "vote"]
    assert set(table["outcome"]) == {"converted", "revenue"}
    assert set(table["participation_start"]) == {"2025-11-01"}
    assert set(table["participation_end"]) == {"2025-11-11"}
    sign_in = by.loc[("sign_in", "converted")]
    assert sign_in.n_participants >= MIN_PARTICIPANTS and sign_in.participants_outside >= 0
    # the demo's activities change nothing by construction; the participants are the
    # shop's heavier buyers, which the weighting partly removes
    assert sign_in.raw_estimate > sign_in.adjusted_estimate
    assert sign_in.raw_estimate == pytest.approx(sign_in.mean_participants
                                                 - sign_in.mean_non_participants)
    assert sign_in.max_abs_smd_after < 0.1 < sign_in.max_abs_smd_before
    assert sign_in.balanced == 1.0 and sign_in.method == "ipw_att"
    assert sign_in.covariates == ",".join(FEATURES)
    # the 4,000-customer shop has too few voters: counts, no estimates
    vote = by.loc[("vote", "converted")]
    assert 0 < vote.n_participants < MIN_PARTICIPANTS and math.isnan(vote.adjusted_estimate)
    methods = interaction_methods(table, params.alpha)
    compared = list(dict.fromkeys(table.loc[np.isfinite(table["adjusted_estimate"]), "kind"]))
    assert methods["kinds"] == compared and "sign_in" in compared and "vote" not in compared
    assert methods["covariates"] == list(FEATURES) and methods["level"] == 0.95
    assert methods["method"] == ["ipw_att"] and methods["interval"] == ["wls_hc1"]
    assert methods["observational"] is True and methods["correction"] is None


class _Shop:
    """A shop whose interactions table is missing, or holds only some kinds."""

    def __init__(self, shop, kinds=None):
        self.shop, self.kinds = shop, kinds

    def has(self, name):
        return self.kinds is not None if name == "interactions" else self.shop.has(name)

    def __getitem__(self, name):
        t = self.shop[name]
        return t.filter(nw.col("kind").is_in(self.kinds)) if name == "interactions" else t


def test_missing_table_or_activities_give_a_note(demo):
    shop, params = demo
    window = (params.sale_start, params.window_end(7))
    table, notes = activity_comparisons(_Shop(shop), params, window)
    assert notes == ("note_no_interactions",) and table.empty
    assert tuple(table.columns) == COLUMNS
    table, notes = activity_comparisons(_Shop(shop, ["visit", "cart"]), params, window)
    assert notes == ("note_no_activities",) and table.empty
    assert interaction_methods(table, params.alpha) == {}
