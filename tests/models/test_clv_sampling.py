"""Large-shop shortcuts of the CLV models, each checked against an independent computation:

* models fitted on a seeded random sample of customers agree with full-data fits within a few
  standard errors (observed information of the full-data likelihood, by statsmodels' numerical
  Hessian), on a generated shop;
* CLV computed once per distinct (frequency, recency, T) equals lifetimes' per-customer values;
* the incremental-mean intervals (Welch and bootstrap) cover the true difference 95% of the time
  in simulated experiments with skewed, zero-inflated values, and Welch's interval equals
  statsmodels' and the bootstrap's;
* the churn comparison on a sample reports its size and agrees with the full comparison.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
from statsmodels.tools.numdiff import approx_hess3

from crm_experiments.io.reader import load_shop
from crm_experiments.models.btyd import (
    PURCHASE_MODELS,
    BetaGeoModel,
    FitSampleWarning,
    fit_sample,
    unique_patterns,
)
from crm_experiments.models.churn import compare_churn_scorers
from crm_experiments.models.clv import MONTH_DAYS, customer_clv, incremental_mean
from crm_experiments.models.features import rfm_features
from crm_experiments.models.gamma_gamma import GammaGammaModel
from crm_experiments.params import load_params

from .cdnow import CALIBRATION_END, cdnow_orders


@pytest.fixture(scope="module")
def shop_features(medium_shop):
    """BTYD features of the 30,000-customer generated shop at the sale start (weeks)."""
    params = load_params(medium_shop)
    shop = load_shop(params.data.path, params=params, validate=False)
    return rfm_features(shop["orders"], params.sale_start, unit="week")


def _log_se(loglik, params: dict[str, float]) -> np.ndarray:
    """Standard errors of the log-parameters from the observed information (numerical
    Hessian of the summed log-likelihood at ``params``)."""
    names = list(params)

    def ll(logp):
        return float(loglik(dict(zip(names, np.exp(logp), strict=True))))

    h = approx_hess3(np.log([params[k] for k in names]), ll)
    return np.sqrt(np.diag(np.linalg.inv(-h)))


@pytest.mark.parametrize("kind", ["bg_nbd", "mbg_nbd", "pareto_nbd"])
def test_sample_fit_is_close_to_full_fit(shop_features, kind):
    f = shop_features
    n_sample = 6_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitSampleWarning)
        full = PURCHASE_MODELS[kind]().fit(f, max_customers=None)
        part = PURCHASE_MODELS[kind]().fit(f, max_customers=n_sample, seed=3)
    assert part.n_fit_customers_ == n_sample and part.n_customers_ == len(f) > 4 * n_sample
    assert full.n_fit_customers_ == len(f)
    # the log-likelihood is over everyone in both, and the full fit maximises it
    assert part.log_likelihood_ <= full.log_likelihood_ + 1e-6
    probe = PURCHASE_MODELS[kind]()

    def loglik(p):
        probe.params_ = p
        return probe.log_likelihood(f).sum()

    se = _log_se(loglik, full.params_)
    # the sample estimate minus the full one has variance var(sample) - var(full), and
    # var(sample) ~ var(full) * N / n
    sd_diff = se * np.sqrt(len(f) / n_sample - 1)
    z = np.log([part.params_[k] for k in full.param_names]) - np.log(
        [full.params_[k] for k in full.param_names])
    assert np.all(np.abs(z) < 3 * sd_diff), (kind, full.params_, part.params_, z / sd_diff)


def test_gamma_gamma_sample_fit_is_close_to_full_fit(shop_features):
    f = shop_features
    with pytest.warns(FitSampleWarning, match="4,000 of the"):
        part = GammaGammaModel().fit(f, max_customers=4_000, seed=3)
    full = GammaGammaModel().fit(f, max_customers=None)
    assert part.n_customers_ == full.n_customers_ == int((f["frequency"] > 0).sum())
    x = f["frequency"].to_numpy(float)
    m = f["monetary_value"].to_numpy(float)
    keep = (x > 0) & (m > 0)
    probe = GammaGammaModel()

    def loglik(p):
        probe.params_ = p
        return probe._loglik(x[keep], m[keep]).sum()

    se = _log_se(loglik, full.params_)
    sd_diff = se * np.sqrt(keep.sum() / 4_000 - 1)
    z = np.log([part.params_[k] for k in "pqv"]) - np.log([full.params_[k] for k in "pqv"])
    assert np.all(np.abs(z) < 3 * sd_diff), (full.params_, part.params_, z / sd_diff)
    # what matters downstream, the population mean spend per purchase, agrees closely
    assert part.population_mean_ == pytest.approx(full.population_mean_, rel=0.05)


def test_small_data_is_not_sampled():
    f = rfm_features(cdnow_orders(), CALIBRATION_END, unit="week")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = BetaGeoModel().fit(f)
    assert m.n_fit_customers_ == m.n_customers_ == len(f)
    assert fit_sample(len(f), None, 0) is None and fit_sample(10, 10, 0) is None
    s = fit_sample(100, 10, 1)
    assert len(np.unique(s)) == 10 and (np.diff(s) > 0).all()
    np.testing.assert_array_equal(s, fit_sample(100, 10, 1))  # seeded


def test_clv_on_distinct_histories_equals_per_customer_lifetimes():
    f = rfm_features(cdnow_orders(), CALIBRATION_END, unit="week")
    pat, inverse = unique_patterns(f)
    assert len(pat) < len(f)
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(pat[col].to_numpy()[inverse], f[col].to_numpy())
    bg = BetaGeoModel().fit(f)
    gg = GammaGammaModel().fit(f)
    got = customer_clv(bg, gg, f, months=(1, 12), annual_discount_rate=0.1)
    # independent: lifetimes' fitter, customer by customer (no compression), own discounting
    lt = bg._fitter()
    x, t_x, T = (f[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    spend = gg.expected_spend(f)
    value, prev = np.zeros(len(f)), np.zeros(len(f))
    for m in range(1, 13):
        cum = np.asarray(lt.conditional_expected_number_of_purchases_up_to_time(
            m * MONTH_DAYS / 7, x, t_x, T), float)
        value += (cum - prev) * spend / 1.1 ** (m / 12)
        prev = cum
    np.testing.assert_allclose(got["clv_12m"], value, rtol=1e-12)
    np.testing.assert_allclose(got["p_alive"], lt.conditional_probability_alive(x, t_x, T),
                               rtol=1e-12)
    lean = customer_clv(bg, gg, f, months=(1, 12), annual_discount_rate=0.1, clv_only=True)
    pd.testing.assert_frame_equal(lean, got[["clv_1m", "clv_12m"]])  # the same, alone


def _experiments(rng, n_sims, n_control, n_treated):
    """Zero-inflated Gamma values (like CLV: most customers 0, a long right tail); the true
    difference of means is known."""
    def draw(p, n):
        return rng.binomial(1, p, (n_sims, n)) * rng.gamma(0.8, 300.0, (n_sims, n))
    truth = (0.40 - 0.35) * 0.8 * 300.0
    return draw(0.35, n_control), draw(0.40, n_treated), truth


def _cover(values_c, values_t, truth, **kwargs) -> float:
    arms = pd.Series(["control"] * values_c.shape[1] + ["treated"] * values_t.shape[1])
    hits = []
    for c, t in zip(values_c, values_t, strict=True):
        r = incremental_mean(pd.Series(np.concatenate([c, t])), arms, "control", seed=7,
                             **kwargs).iloc[0]
        assert r.ci_low <= r.estimate <= r.ci_high
        hits.append(r.ci_low <= truth <= r.ci_high)
    return float(np.mean(hits))


@pytest.mark.slow
def test_welch_interval_coverage():
    rng = np.random.default_rng(20251111)
    c, t, truth = _experiments(rng, 1000, 300, 600)
    cover = _cover(c, t, truth, method="welch")
    assert 0.935 <= cover <= 0.965, cover


@pytest.mark.slow
def test_bootstrap_interval_coverage():
    rng = np.random.default_rng(11)
    c, t, truth = _experiments(rng, 800, 300, 600)
    cover = _cover(c, t, truth, method="bootstrap", n_boot=400)
    assert 0.935 <= cover <= 0.965, cover


def test_welch_matches_statsmodels_and_the_bootstrap():
    rng = np.random.default_rng(5)
    c, t, _ = _experiments(rng, 1, 20_000, 40_000)
    values = pd.Series(np.concatenate([c[0], t[0]]))
    arms = pd.Series(["control"] * 20_000 + ["treated"] * 40_000)
    w = incremental_mean(values, arms, "control", seed=1).iloc[0]  # auto: 60,000 x 1,000
    assert w.method.startswith("Welch")
    low, high = CompareMeans(DescrStatsW(t[0]), DescrStatsW(c[0])).tconfint_diff(
        alpha=0.05, usevar="unequal")
    assert (w.ci_low, w.ci_high) == pytest.approx((low, high), rel=1e-9)
    b = incremental_mean(values, arms, "control", seed=1, n_boot=1000,
                         method="bootstrap").iloc[0]
    assert b.estimate == pytest.approx(w.estimate)
    width = w.ci_high - w.ci_low
    assert abs(b.ci_low - w.ci_low) < 0.06 * width and abs(b.ci_high - w.ci_high) < 0.06 * width
    small = incremental_mean(values[:3000], arms[:3000].where(np.arange(3000) % 3 > 0,
                                                              "treated"), "control", seed=1)
    assert small["method"].iloc[0].startswith("bootstrap")


def test_churn_comparison_on_a_sample(small_shop):
    params = load_params(small_shop)
    shop = load_shop(params.data.path, params=params, validate=False)
    cutoff = params.sale_start
    full = compare_churn_scorers(shop["orders"], cutoff, 30, seed=1,
                                 interactions=shop["interactions"])
    part = compare_churn_scorers(shop["orders"], cutoff, 30, seed=1, max_customers=1500,
                                 interactions=shop["interactions"])
    assert not full.sampled and part.sampled
    assert part.population == full.population == int(full.scores["n"].iloc[0])
    assert (part.scores["n"] == 1500).all()
    assert "random sample" in part.reason and "1,500 customers" in part.reason
    assert part.metrics()["churn.customers_scored"] == 1500
    a = full.scores.set_index("scorer")
    b = part.scores.set_index("scorer")
    assert (abs(a["auc"] - b["auc"]) < 0.05).all()
    assert abs(a.loc["model", "churn_rate"] - b.loc["model", "churn_rate"]) < 0.05
    # the sample drawn by the caller from positions among a larger index (as campaign_clv
    # does from its feature frame): the same comparison
    from crm_experiments.models.churn import _purchasers_before
    from crm_experiments.models.sample import sample_positions

    population = _purchasers_before(shop["orders"], cutoff)
    wider = population.append(pd.Index(["zz-never-bought-1", "zz-never-bought-2"]))
    among = np.arange(len(wider)) < len(population)
    given = population[sample_positions(wider, 1500, 1, among=among)]
    again = compare_churn_scorers(shop["orders"], cutoff, 30, seed=1, max_customers=1500,
                                  interactions=shop["interactions"], population=population,
                                  sample=given)
    pd.testing.assert_frame_equal(again.scores, part.scores)
    # the sample does not depend on the order of the population's ids (no sort needed)
    from crm_experiments.models.churn import _purchasers_before

    ids = _purchasers_before(shop["orders"], cutoff)
    shuffled = compare_churn_scorers(shop["orders"], cutoff, 30, seed=1, max_customers=1500,
                                     interactions=shop["interactions"],
                                     population=ids[::-1])
    pd.testing.assert_frame_equal(shuffled.scores, part.scores)


def test_campaign_clv_on_samples(small_shop):
    """The whole campaign analysis with caps below the shop's size: every shortcut is applied,
    reported, and the results stay usable."""
    from crm_experiments.analyses.clv import campaign_clv
    from crm_experiments.params import ModelSample

    params = load_params(small_shop)
    # the sizes come from the params (model_sample), as in a campaign's YAML
    params = params.model_copy(update={"model_sample": ModelSample(clv_customers=1000,
                                                                   churn_customers=1500)})
    shop = load_shop(params.data.path, params=params, validate=False)
    res = campaign_clv(shop, params, 30, n_boot=200)
    pm = res.purchase_model
    assert pm.n_fit_customers_ == 1000 < pm.n_customers_
    assert res.spend_model.n_fit_customers_ == 1000 < res.spend_model.n_customers_
    assert all(r == 1000 for r in res.validation.summary["n_fit_customers"])
    assert res.churn.sampled and (res.churn.scores["n"] == 1500).all()
    from crm_experiments.report.clv_page import note_text

    notes = " ".join(note_text(n, "en") for n in res.method_notes)
    assert "random sample of customers (1,000 of" in notes and "Churn scorers" in notes
    assert not any("parameters estimated on a random sample" in note_text(n, "en")
                   for n in res.notes)
    assert res.summary()["method_notes"] == [dict(n) for n in res.method_notes]
    # the sample's effect on precision: sqrt(N / n), and measured on a second, disjoint sample
    (check,) = [n for n in res.method_notes if n["key"] == "clv_method_sample_precision"]
    assert check["n"] == 1000 and check["population"] == pm.n_customers_
    assert check["factor"] == pytest.approx(np.sqrt(pm.n_customers_ / 1000))
    # the spend model's second sample: 1,000 repeat customers too (the shop has > 2,000)
    assert check["spend_refitted"] and check["spend_n"] == 1000
    assert check["repeat_customers"] == res.spend_model.n_customers_
    assert check["mean_first"] > 0 and check["mean_second"] > 0
    assert check["spread_pct"] == pytest.approx(
        abs(check["mean_first"] - check["mean_second"]) / check["mean_first"] * 100)
    factor = f"{check['factor']:.1f}"
    assert f"about {factor} times" in notes and "second random sample" in notes
    assert "spend model on 1,000 of the" in notes
    zh = " ".join(note_text(n, "zh") for n in res.method_notes)
    assert f"{factor} 倍" in zh and "第二个随机样本" in zh
    m = res.metrics()
    assert m["clv.fit.sample_customers"] == 1000 and m["churn.customers_scored"] == 1500
    assert m["clv.fit.precision_factor"] == pytest.approx(check["factor"])
    assert m["churn.precision_factor"] == pytest.approx(np.sqrt(res.churn.population / 1500))
    assert "standard errors about" in notes.split("Churn scorers")[1]
    assert m["clv.fit.sample_check.spread_pct"] == pytest.approx(check["spread_pct"])
    inc = res.incremental
    assert (inc["ci_low"] <= inc["estimate"]).all() and (inc["estimate"] <= inc["ci_high"]).all()
    assert inc["method"].str.startswith("bootstrap").all()  # 4,000 customers: still bootstrap


def test_training_labels_follow_from_test_features(small_shop):
    """The churn comparison derives the training labels (no purchase in [c - N, c)) from the
    days since the last purchase at c; the label query gives the same."""
    from crm_experiments.models.churn import _feature_matrix, _labels

    params = load_params(small_shop)
    orders = load_shop(params.data.path, params=params, validate=False)["orders"]
    cutoff = params.sale_start
    train_at = cutoff - pd.Timedelta(days=30)
    train = _feature_matrix(orders, train_at, None)
    test = _feature_matrix(orders, cutoff, None)
    derived = (test["days_since_last"].reindex(train.index).to_numpy() > 30).astype(int)
    np.testing.assert_array_equal(derived, _labels(orders, train.index, train_at, 30))
    assert 0 < derived.mean() < 1


@pytest.mark.parametrize("kind", ["bg_nbd", "mbg_nbd", "pareto_nbd"])
def test_expected_purchases_at_several_horizons(kind):
    """P(alive) x E[purchases | alive, x, T] per distinct (x, T) equals lifetimes' conditional
    expectation per customer."""
    f = rfm_features(cdnow_orders(), CALIBRATION_END, unit="week")
    m = PURCHASE_MODELS[kind]().fit(f)
    times = [0.5, 4.35, 13.0, 52.2]
    got = m.expected_purchases_at(times, f)
    lt = m._fitter()
    x, t_x, T = (f[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    for j, t in enumerate(times):
        want = np.asarray(lt.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T),
                          float)
        np.testing.assert_allclose(got[:, j], want, rtol=1e-12)


def test_sample_check_refits_each_model_on_a_second_sample_of_its_own_population():
    """The precision check draws the spend model's second sample among the repeat customers
    (ranked n .. 2n - 1 there, like its first), keeps a spend model fitted on all of them, and
    is not measured when the repeat customers hold one sample but not two."""
    from crm_experiments.analyses.clv import _sample_check
    from crm_experiments.models.sample import sample_positions, second_sample

    f = rfm_features(cdnow_orders(), CALIBRATION_END, unit="week")
    repeat = ((f["frequency"] > 0) & (f["monetary_value"] > 0)).to_numpy()
    r = int(repeat.sum())
    assert 2 * r <= len(f)  # CDNOW: fewer than half repeat

    def check(n):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm = BetaGeoModel().fit(f, max_customers=n, seed=4)
            gg = GammaGammaModel().fit(f, max_customers=n, seed=4)
        return gg, _sample_check(pm, gg, f, n, 4, 0.1)

    n = r // 2 - 10  # both models sampled, both hold a second sample
    gg, out = check(n)
    assert out["spend_refitted"] and out["spend_n"] == gg.n_fit_customers_ == n
    assert out["repeat_customers"] == r and out["mean_second"] > 0
    first = set(f.index[repeat][sample_positions(f.index, n, 4, among=repeat)])
    second = set(f.index[repeat][second_sample(f.index, n, 4, among=repeat)])
    assert len(second) == n and not first & second
    # the customers ranked n .. 2n - 1 among all, not among the repeat customers, would hold
    # fewer repeat customers: what the spend model was refitted on before
    old = f.index[second_sample(f.index, n, 4)]
    assert repeat[f.index.get_indexer(old)].sum() < n
    gg, out = check(r)  # spend model on every repeat customer: kept, purchase model refitted
    assert gg.n_fit_customers_ == r and out["spend_refitted"] is False
    assert out["spend_n"] == r and out["mean_second"] != out["mean_first"]
    _, out = check(r * 2 // 3)  # one spend sample fits, a second does not: not measured
    assert "mean_second" not in out and out["n"] == r * 2 // 3
