"""The money's decision figures (:func:`profit_posterior`, :func:`disagreement`): the
probability that an arm beats the holdout on profit and the expected loss of rolling it out,
against an independent numerical integration, calibrated on draws with a known truth, and
stored per arm by :func:`economics`."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import integrate, stats

from crm_experiments.analyses.campaign import evaluate
from crm_experiments.analyses.economics import disagreement, profit_posterior
from crm_experiments.params import load_params


def _by_quadrature(estimate, se, n, fixed, tau):
    """P(n d - fixed > 0) and E[max(0, fixed - n d)] under prior N(0, tau^2) x likelihood
    N(estimate; d, se^2), integrated numerically over d (no conjugate formula)."""
    def density(d):
        return stats.norm.pdf(d, 0, tau) * stats.norm.pdf(estimate, d, se)

    lo, hi = estimate - 12 * se, estimate + 12 * se
    edge = fixed / n
    z = integrate.quad(density, lo, hi, points=[edge], limit=200)[0]
    win = integrate.quad(density, max(edge, lo), hi, limit=200)[0] if edge < hi else 0.0
    loss = (integrate.quad(lambda d: (fixed - n * d) * density(d), lo, min(edge, hi),
                           limit=200)[0] if edge > lo else 0.0)
    return win / z, loss / z


@pytest.mark.parametrize(("estimate", "se", "n", "fixed", "tau"), [
    (1.5, 0.8, 1_200, 300.0, 40.0),      # weak prior: close to Phi(estimate / se)
    (-0.4, 0.5, 800, 0.0, 40.0),         # losing arm
    (3.0, 2.0, 30, 10.0, 2.5),           # small arm: the prior pulls towards 0
])
def test_probability_and_expected_loss_equal_numerical_integration(estimate, se, n, fixed,
                                                                   tau):
    prob, loss = profit_posterior(SimpleNamespace(estimate=estimate, se=se), n, fixed, tau)
    want_prob, want_loss = _by_quadrature(estimate, se, n, fixed, tau)
    assert prob == pytest.approx(want_prob, abs=1e-3)
    assert loss == pytest.approx(want_loss, rel=1e-3, abs=1e-3)


def test_missing_effect_or_se_gives_no_figures_and_no_spread_falls_back_to_se_prior():
    assert all(math.isnan(x) for x in profit_posterior(None, 100))
    assert all(math.isnan(x) for x in profit_posterior(
        SimpleNamespace(estimate=1.0, se=math.nan), 100))
    # a holdout without spread: tau = 10 se, so w = 100 / 101
    prob, _ = profit_posterior(SimpleNamespace(estimate=1.0, se=1.0), 100, 0.0, 0.0)
    w = 100 / 101
    assert prob == pytest.approx(stats.norm.cdf(w / math.sqrt(w)), abs=1e-9)


def test_probability_is_calibrated_on_draws_with_a_known_truth():
    """Truths drawn from the prior, estimates from the likelihood: among arms given
    P in [0.8, 0.9] (and [0.5, 0.7]), the share truly above 0 matches their average P."""
    rng = np.random.default_rng(18)
    tau, n, fixed = 1.0, 500, 0.0
    se = rng.uniform(0.3, 1.5, 6_000)
    truth = rng.normal(0.0, tau, se.size)
    estimate = rng.normal(truth, se)
    prob = np.array([profit_posterior(SimpleNamespace(estimate=e, se=s), n, fixed, tau)[0]
                     for e, s in zip(estimate, se, strict=True)])
    for low, high in ((0.8, 0.9), (0.5, 0.7)):
        band = (prob >= low) & (prob < high)
        assert band.sum() > 150
        share = (truth[band] > 0).mean()
        assert share == pytest.approx(prob[band].mean(), abs=0.06), (low, high)
    # a model that ignored the prior's pull would be off on the small arms: check it can fail
    flat = stats.norm.cdf(estimate / se * 3)
    band = (flat >= 0.8) & (flat < 0.9)
    assert abs((truth[band] > 0).mean() - flat[band].mean()) > 0.06


@pytest.mark.parametrize(("decision", "prob", "why"), [
    ("test_again", 0.97, "adjusted"), ("test_again", 0.02, "adjusted"),
    ("test_again", 0.80, None), ("roll_out", 0.99, None), ("roll_out", 0.90, "prior"),
    ("stop", 0.10, "prior"), ("stop", 0.01, None), ("withheld", 0.99, None),
    ("test_again", math.nan, None),
])
def test_disagreement_names_why(decision, prob, why):
    assert disagreement(decision, prob, 0.05) == why


def test_economics_stores_them_per_arm_from_the_unadjusted_effect(small_shop):
    result = evaluate(load_params(small_shop), 7)
    econ, p = result.economics, result.params
    effects = {e.arm: e for e in result.comparison.effects if e.metric == "net_profit"}
    customers = result.customers
    assert "net_profit" in customers
    for arm, row in econ.iterrows():
        assert 0 <= row["prob_beats_holdout"] <= 1 and row["expected_loss"] >= 0
        e = effects[arm]
        sd = customers.loc[customers["arm"] == p.control_arm, "net_profit"].std()
        want = profit_posterior(e, row["customers"], row["fixed_cost"], sd)
        assert (row["prob_beats_holdout"], row["expected_loss"]) == pytest.approx(want)
        # a weak prior: the probability is close to the flat-prior Phi(profit / sd_profit)
        flat = stats.norm.cdf((e.estimate * row["customers"] - row["fixed_cost"])
                              / (e.se * row["customers"]))
        assert row["prob_beats_holdout"] == pytest.approx(flat, abs=0.02)
    stored = result.tables()["economics"]
    assert {"prob_beats_holdout", "expected_loss"} <= set(stored.columns)
    # and MLflow gets them per arm (as the other economics figures, also by arm position)
    metrics = result.metrics()
    for arm, row in econ.iterrows():
        for col in ("prob_beats_holdout", "expected_loss"):
            assert metrics[f"economics.{arm}.{col}"] == pytest.approx(row[col])
