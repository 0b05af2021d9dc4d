"""The interval an effect shows (:func:`shown_interval`): one rule, per effect, for an Effect
and for a stored row of the effects table."""

import math
from dataclasses import asdict, replace

import pytest

from crm_experiments.stats.result import Effect, shown_interval

PLAIN = Effect(metric="net_profit", arm="a", control="h", n_arm=100, n_control=100,
               mean_arm=2.0, mean_control=1.0, estimate=1.0, ci_low=0.5, ci_high=1.5,
               p_value=0.01, rel_estimate=1.0, rel_ci_low=0.4, rel_ci_high=1.6,
               method="welch", alpha=0.05)
CORRECTED = replace(PLAIN, p_value_adjusted=0.03, ci_low_adjusted=0.3, ci_high_adjusted=1.7,
                    rel_ci_low_adjusted=0.2, rel_ci_high_adjusted=1.8, correction="holm")


@pytest.mark.parametrize("as_row", [False, True])
def test_corrected_where_the_effect_has_it_else_plain(as_row):
    def show(e):
        return shown_interval(asdict(e) if as_row else e)

    assert tuple(show(PLAIN)) == (0.5, 1.5, 0.01, 0.4, 1.6, False)
    assert tuple(show(CORRECTED)) == (0.3, 1.7, 0.03, 0.2, 1.8, True)
    # no test (bootstrap): no corrected p, so the relative interval stays the plain one
    untested = replace(CORRECTED, p_value=math.nan, p_value_adjusted=math.nan)
    assert tuple(show(untested))[:2] == (0.3, 1.7)
    assert tuple(show(untested))[3:] == (0.4, 1.6, False)
    # an unbounded corrected Fieller set is shown blank, never the uncorrected one
    unbounded = replace(CORRECTED, rel_ci_low_adjusted=math.nan, rel_ci_high_adjusted=math.nan)
    shown = show(unbounded)
    assert shown.corrected and math.isnan(shown.rel_low) and math.isnan(shown.rel_high)


def test_a_stored_row_without_corrected_columns_shows_the_plain_interval():
    row = {k: v for k, v in asdict(PLAIN).items() if not k.endswith("_adjusted")}
    assert tuple(shown_interval(row)) == (0.5, 1.5, 0.01, 0.4, 1.6, False)
