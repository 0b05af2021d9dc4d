"""bench/bench_methods.py runs on tiny sizes (so it cannot rot), its truths are right, its
simulation catches a miscalibrated estimator, and its parity rows agree where they should."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from bench import bench_methods as bm
from crm_experiments.stats.effects import compare_means


@pytest.fixture(scope="module")
def tiny(small_shop):
    args = ["--params", str(small_shop), "--data-dir", str(small_shop.parent / "data"),
            "--experiments", "30", "--fit-experiments", "4", "--small-arms", "40,20",
            "--seed", "3"]
    return bm.run(args)


def test_every_method_has_a_row_with_rates(tiny):
    names = {(c.method.split(" ")[0], c.metric) for c in tiny["cases"]}
    expected = {("welch_t", "revenue"), ("welch_t", "net_profit"),
                ("two_proportion_z_unpooled", "converted"), ("delta_ratio", "aov"),
                ("cuped", "revenue"), ("lin_ols_hc2", "revenue"), ("lin_ols_hc2", "converted")}
    if bm.adjustment is not None:
        expected |= {("lin_ridge", "converted"), ("post_stratified", "converted")}
    if bm.capping is not None:
        expected.add(("welch_t", "revenue_capped"))
    assert expected <= names
    for case in tiny["cases"]:
        r = case.result
        assert r["experiments"] == (4 if case.fitted else 30)
        for phase in ("aa", "ab"):
            assert 0 <= r[phase]["rejected"] <= r["experiments"]
            assert 0 <= r[phase]["covered"] <= r["experiments"]
            assert r[phase]["mean_se"] > 0
    lines = bm.format_rows(tiny["cases"])
    assert len(lines) == len(tiny["cases"]) + 1 and "A/A FP" in lines[0]


def test_truths_follow_the_injected_effects(tiny):
    pool = tiny["pool"]
    rev = pool.cols["revenue"]
    assert bm.truth(pool, bm.Lift("scale", "revenue", 0.1), "revenue") == pytest.approx(
        (0.1 * rev.mean(), 0.1))
    assert bm.truth(pool, bm.Lift("scale", "revenue", 0.1), "aov")[0] == pytest.approx(
        0.1 * rev.sum() / pool.cols["orders"].sum())
    p = pool.cols["converted"].mean()
    assert bm.truth(pool, bm.Lift("flip", "converted", 0.02), "converted") == pytest.approx(
        (0.02 * (1 - p), 0.02 * (1 - p) / p))
    # the mixture of two copies of one sample is that sample: its empirical percentile
    y = np.arange(1.0, 101.0)
    assert bm.mixture_percentile(y, y, 0.3, 99) == np.percentile(y, 99, method="inverted_cdf")


def test_the_simulation_catches_a_miscalibrated_estimator(tiny):
    """Intervals at level 0.3 labelled 95 % cover the truth in about 70 % of experiments: out
    of the band; the right intervals cover about 95 %."""
    pool = tiny["pool"]
    lift = bm.Lift("scale", "revenue", 0.05)
    wrong = bm.Case("wrong", "revenue", lift,
                    bm.vectorised(lambda t, c, alpha: compare_means(t, c, 0.3), "revenue"),
                    ("revenue",), pool=pool)
    right = bm.Case("right", "revenue", lift, bm.vectorised(compare_means, "revenue"),
                    ("revenue",), pool=pool)
    bad, good = bm.simulate(wrong, 400, seed=1), bm.simulate(right, 400, seed=1)
    assert bad["ab"]["covered"] / 400 < 0.85 and not bm.in_bands(bad)
    assert good["ab"]["covered"] / 400 > 0.9


def test_parity_rows_agree_where_the_quantity_is_the_same(tiny):
    rows = tiny["parity"]
    same = [r for r in rows if r.same_quantity]
    assert {r.peer.split(" ")[0] for r in same} >= {"statsmodels"}
    assert max(r.rel_diff for r in same) < 1e-8
    peers = {r.peer.split(" ")[0] for r in same}
    # the peers are in the bench extra only (make bench), not the test extra: without them
    # the benchmark must say so in its notes rather than drop their rows silently
    for peer, module in (("tea-tasting", "tea_tasting"), ("gbstats", "gbstats")):
        if importlib.util.find_spec(module) is not None:
            assert peer in peers
        else:
            assert peer not in peers
            assert any(n.startswith(f"{peer} not installed") for n in tiny["notes"])
