"""Effect statistics: arm-vs-control estimates with intervals, SRM, multiple comparisons.

Modules: :mod:`.aggr` (per-arm sufficient statistics, one engine aggregation), :mod:`.effects`
(estimators), :mod:`.result` (the Effect value), :mod:`.srm`, :mod:`.multiple`,
:mod:`.table` (``compare_arms`` for any per-customer table), :mod:`.simulate` (error-rate
simulations), :mod:`.rates` and :mod:`.means` (shares, NPS and means with their intervals from
the counts and sums of :mod:`crm_experiments.metrics`).
"""

from crm_experiments.stats.aggr import MomentStats, moments_from_frame
from crm_experiments.stats.effects import (
    bootstrap_mean_diff,
    compare_cuped,
    compare_means,
    compare_proportions,
    compare_ratios,
)
from crm_experiments.stats.lin import compare_adjusted
from crm_experiments.stats.multiple import adjust
from crm_experiments.stats.result import Effect, effects_frame
from crm_experiments.stats.srm import SampleRatioResult, check_sample_ratio
from crm_experiments.stats.table import ComparisonResult, TableError, compare_arms, compare_moments

__all__ = [
    "ComparisonResult", "Effect", "MomentStats", "SampleRatioResult", "TableError", "adjust",
    "bootstrap_mean_diff", "check_sample_ratio", "compare_adjusted", "compare_arms",
    "compare_cuped", "compare_means", "compare_moments", "compare_proportions",
    "compare_ratios", "effects_frame", "moments_from_frame",
]
