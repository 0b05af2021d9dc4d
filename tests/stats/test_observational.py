"""Observational comparison (raw and ATT-weighted differences, balance): a simulated shop
with known confounding, through the engine's per-customer table, and hand-checked pieces."""

import numpy as np
import pandas as pd
import pytest

from crm_experiments.io.engine import collect, connect
from crm_experiments.metrics.interactions import FEATURES, OUTCOMES, participation_table
from crm_experiments.stats.observational import (
    att_weights,
    balance_table,
    compare_observational,
    weighted_difference,
)

START, END = pd.Timestamp("2025-11-01"), pd.Timestamp("2025-11-12")


def _simulate(n=20_000, tau=0.05, seed=7):
    """A shop where heavy, recent buyers both sign in more and buy more; sign-in adds
    ``tau`` to the probability of buying in the window (one order of 100 if so)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(2.0, 1.5, n)
    freq = rng.poisson(lam)
    cust = np.repeat(np.arange(n), freq)
    age_days = rng.uniform(0, 365, cust.size)            # days before START
    amount = np.round(rng.lognormal(np.log(100), 0.5, cust.size), 2)
    ids = np.array([f"C{i:05d}" for i in range(n)])
    pre = pd.DataFrame({"customer_id": ids[cust],
                        "created_at": START - pd.to_timedelta(age_days, unit="D"),
                        "amount": amount})
    pre["created_at"] = pre["created_at"].dt.floor("s")
    # features exactly as the engine computes them
    g = pre.assign(age=(START - pre["created_at"]).dt.total_seconds() / 86400).groupby(
        "customer_id").agg(rec=("age", "min"), mon=("amount", "sum"))
    g = g.reindex(ids)
    rec = g["rec"].fillna(365.0).to_numpy()
    logm = np.log1p(g["mon"].fillna(0.0).to_numpy())
    nohist = (freq == 0).astype(float)
    z = -1.5 + 0.30 * freq - 0.008 * rec + 0.15 * logm - 0.5 * nohist
    treat = rng.uniform(size=n) < 1 / (1 + np.exp(-z))
    p0 = 1 / (1 + np.exp(-(-2.2 + 0.25 * freq - 0.006 * rec)))
    buy = rng.uniform(size=n) < np.clip(p0 + tau * treat, 0, 1)
    post = pd.DataFrame({"customer_id": ids[buy], "created_at": START + pd.Timedelta(days=3),
                         "amount": 100.0})
    orders = pd.concat([pre, post], ignore_index=True)
    orders = orders.assign(order_id=[f"O{i}" for i in range(len(orders))],
                           paid_at=orders["created_at"] + pd.Timedelta(minutes=5),
                           discount=0.0, refund_amount=0.0)
    inter = pd.DataFrame({"customer_id": ids[treat], "at": START + pd.Timedelta(hours=9),
                          "kind": "sign_in", "value": 1.0})
    return orders, inter, pd.DataFrame({"customer_id": ids}), tau


@pytest.fixture(scope="module")
def simulated():
    """The simulated shop's per-customer table (engine) and its true effect."""
    orders, inter, members, tau = _simulate()
    con = connect(threads=1)
    frame = collect(participation_table(con.from_pandas(orders), con.from_pandas(inter),
                                        "sign_in", START, END,
                                        customers=con.from_pandas(members)))
    return frame, tau, len(inter)


def test_adjusted_difference_recovers_the_confounded_truth(simulated):
    frame, tau, n_signed_in = simulated
    r = compare_observational(frame, treatment="participant", covariates=FEATURES,
                              outcomes=OUTCOMES)
    assert r.label == "observational" and r.causal is False and "Observational" in r.warning
    raw, adj = r.effects.loc[("converted", "raw")], r.effects.loc[("converted", "ipw_att")]
    # raw: participants are heavier buyers, so the raw difference overstates the effect
    assert raw.estimate == pytest.approx(raw.mean_treated - raw.mean_untreated)
    assert raw.ci_low > tau + 0.03
    # adjusted: the truth is inside the interval
    assert adj.ci_low < tau < adj.ci_high
    assert abs(adj.estimate - tau) < abs(raw.estimate - tau) / 3
    rev = r.effects.loc[("revenue", "ipw_att")]       # each extra buyer brings 100
    assert rev.ci_low < 100 * tau < rev.ci_high
    # balance: large SMDs before, small after
    assert (r.balance["smd_before"].abs() > 0.2).sum() >= 2
    assert (r.balance["smd_after"].abs() < 0.1).all()
    assert r.balanced and r.max_abs_smd_after < 0.1 < r.max_abs_smd_before
    assert r.n_treated + r.n_untreated == 20_000
    assert r.n_treated == n_signed_in
    assert r.covariates == FEATURES and r.interval == "wls_hc1"
    assert 0 < r.ess_untreated < r.n_untreated and r.max_weight > 0
    frame_out = r.to_frame()
    assert set(frame_out["label"]) == {"observational"} and not frame_out["causal"].any()
    assert len(frame_out) == 4  # 2 outcomes x (raw, ipw_att)


def test_too_few_participants_is_an_error():
    frame = pd.DataFrame({"participant": [1, 0, 0], "recency_days": [1.0, 2, 3],
                          "frequency": [1.0, 2, 3], "log_monetary": [1.0, 2, 3],
                          "no_history": [0.0, 0, 0], "converted": [1.0, 0, 0],
                          "revenue": [1.0, 0, 0]})
    with pytest.raises(ValueError, match="at least 2"):
        compare_observational(frame, treatment="participant", covariates=FEATURES,
                              outcomes=OUTCOMES)


def test_weights_and_balance_by_hand():
    treat = np.array([1.0, 1, 0, 0, 0])
    e = np.array([0.5, 0.8, 0.2, 0.5, 0.75])
    w = att_weights(treat, e)
    assert w.tolist() == pytest.approx([1, 1, 0.25, 1, 3])
    x = np.array([[2.0], [4.0], [0.0], [1.0], [5.0]])
    b = balance_table(x, treat, w[treat == 0], ("x",)).loc["x"]
    # treated mean 3 (var 2), untreated mean 2 (var 7): sd = sqrt(4.5)
    assert b.mean_treated == 3 and b.mean_untreated == 2
    assert b.mean_untreated_weighted == pytest.approx((0 * 0.25 + 1 + 5 * 3) / 4.25)
    assert b.smd_before == pytest.approx(1 / np.sqrt(4.5))
    assert b.smd_after == pytest.approx((3 - 16 / 4.25) / np.sqrt(4.5))


def test_a_covariate_without_spread_is_left_out_of_the_propensity_model(simulated):
    frame, _, _ = simulated
    frame = frame.assign(constant=1.0)
    r = compare_observational(frame, treatment="participant",
                              covariates=(*FEATURES, "constant"), outcomes=("converted",))
    assert r.covariates == FEATURES
    assert r.balance.loc["constant", "smd_after"] == 0.0
    assert list(r.effects.index.get_level_values("outcome").unique()) == ["converted"]


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_weighted_difference_is_statsmodels_wls_hc1(alpha):
    """The closed form against statsmodels' WLS with HC1 errors, unweighted and weighted."""
    from statsmodels.regression.linear_model import WLS

    rng = np.random.default_rng(3)
    n = 3_000
    treat = (rng.uniform(size=n) < 0.3).astype(float)
    y = rng.lognormal(size=n) * (rng.uniform(size=n) < 0.4) + 0.2 * treat
    for w in (np.ones(n), att_weights(treat, rng.uniform(0.05, 0.9, n))):
        got = weighted_difference(y, treat, w, alpha)
        fit = WLS(y, np.column_stack([np.ones(n), treat]), weights=w).fit(cov_type="HC1")
        lo, hi = fit.conf_int(alpha=alpha)[1]
        want = {"estimate": fit.params[1], "se": fit.bse[1], "ci_low": lo, "ci_high": hi,
                "p_value": fit.pvalues[1]}
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
