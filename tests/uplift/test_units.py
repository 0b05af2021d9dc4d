"""Unit tests: feature encoding, learners on synthetic data with a known effect, Qini
normalisation, the policy and its value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_experiments.uplift import (
    FeatureEncoder,
    FeatureError,
    UpliftInputError,
    analyse_uplift,
    make_learner,
    policy_values,
    qini_coefficient,
    recommend,
)
from crm_experiments.uplift.evaluation import auuc, qini_curve


def synthetic(n=6000, seed=0) -> pd.DataFrame:
    """Arm a helps segment 'x', arm b helps segment 'y', nobody helps 'z' (costs 1 each)."""
    rng = np.random.default_rng(seed)
    seg = rng.choice(["x", "y", "z"], n)
    arm = rng.choice(["ctl", "a", "b"], n, p=[0.3, 0.35, 0.35])
    noise = rng.normal(0, 1, n)
    effect = np.where((arm == "a") & (seg == "x"), 3.0, 0) + np.where(
        (arm == "b") & (seg == "y"), 3.0, 0)
    return pd.DataFrame({"segment": seg, "arm": arm, "spend": rng.gamma(2, 50, n),
                         "profit": 5 + noise + effect - (arm != "ctl") * 1.0})


def test_encoder_text_numbers_dates_and_unknown_categories():
    df = pd.DataFrame({"city": ["a", "b", None], "n": ["1", "2", "3"],
                       "when": pd.to_datetime(["1970-01-02", "1970-01-03", None])})
    enc = FeatureEncoder().fit(df)
    out = enc.transform(pd.DataFrame({"city": ["zzz"], "n": ["4"], "when": [pd.NaT]}))
    assert enc.categorical_mask_.tolist() == [True, False, False]
    assert out[0, 0] == 2.0 and out[0, 1] == 4.0 and np.isnan(out[0, 2])
    with pytest.raises(FeatureError, match="'missing'"):
        FeatureEncoder(["missing"]).fit(df)


@pytest.mark.parametrize("name", ["t", "x", "dr"])
def test_learners_find_the_segment_effects(name):
    df = synthetic()
    enc = FeatureEncoder(["segment", "spend"]).fit(df)
    est = make_learner(name, control="ctl", categorical_mask=enc.categorical_mask_,
                       max_iter=60).fit(enc.transform(df), df["profit"], df["arm"])
    assert list(est.arms_) == ["a", "b"]
    tau = pd.DataFrame(est.predict(enc.transform(df)), columns=["a", "b"])
    means = tau.groupby(df["segment"].to_numpy()).mean()
    assert means.loc["x", "a"] == pytest.approx(2.0, abs=0.5)
    assert means.loc["y", "b"] == pytest.approx(2.0, abs=0.5)
    assert means.loc["z"].abs().max() < 1.5


def test_binary_outcome_uses_classifiers():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 2))
    t = rng.choice(["c", "t"], 2000)
    y = (rng.random(2000) < 0.2 + 0.2 * ((t == "t") & (X[:, 0] > 0))).astype(float)
    est = make_learner("t", control="c").fit(X, y, t)
    mu = est.predict_outcomes(X)
    assert est.binary_ and mu.min() >= 0 and mu.max() <= 1


def test_qini_perfect_model_scores_one_and_curve_starts_at_zero():
    rng = np.random.default_rng(2)
    t = rng.integers(0, 2, 500).astype(float)
    y = rng.random(500)
    perfect = y * t - y * (1 - t)
    assert qini_coefficient(y, perfect, t) == pytest.approx(1.0)
    assert auuc(y, perfect, t) == pytest.approx(1.0)
    x, v = qini_curve(y, rng.random(500), t)
    assert x[0] == 0 and v[0] == 0 and x[-1] == 500


def test_recommend_with_costs_budget_and_cap():
    tau = np.array([[3.0, 1.0], [0.5, 0.8], [2.0, 4.0], [-1.0, -2.0]])
    arm, gain = recommend(tau, ["a", "b"], "ctl", cost_per_treated={"a": 1.0, "b": 1.0})
    assert arm.tolist() == ["a", "ctl", "b", "ctl"]
    assert gain.tolist() == [2.0, 0.0, 3.0, 0.0]
    arm, _ = recommend(tau, ["a", "b"], "ctl", cost_per_treated={"a": 1.0, "b": 1.0},
                       budget=1.0)
    assert arm.tolist() == ["ctl", "ctl", "b", "ctl"]
    arm, _ = recommend(tau, ["a", "b"], "ctl", max_treated=1)
    assert arm.tolist() == ["ctl", "ctl", "b", "ctl"]


def test_policy_values_ipw_equals_difference_of_means_for_everyone():
    rng = np.random.default_rng(3)
    t = rng.choice(["c", "a"], 4000)
    y = rng.normal(0, 1, 4000) + (t == "a") * 1.0
    prop = {"c": np.mean(t == "c"), "a": np.mean(t == "a")}
    v = policy_values(y, t, np.zeros((4000, 2)), ["a"] * 4000, arms=["a"], control="c",
                      propensity=prop).set_index("policy")
    diff = y[t == "a"].mean() - y[t == "c"].mean()
    assert v.loc["everyone: a", "value_ipw"] == pytest.approx(diff)
    assert v.loc["learned policy", "value_dr"] == pytest.approx(diff)
    assert v.loc["gain over no one", "value_dr_low"] > 0


def test_analyse_uplift_targets_the_right_segments():
    df = synthetic(9000, seed=4)
    r = analyse_uplift(df, arm="arm", control="ctl", outcome="profit",
                       features=["segment", "spend"], n_boot=50, seed=1)
    targets = r.model.predict(df)
    share = pd.crosstab(df["segment"], targets["recommended_arm"], normalize="index")
    assert share.loc["x", "a"] > 0.9 and share.loc["y", "b"] > 0.9
    assert share.loc["z"].get("ctl", 0) > 0.9
    assert r.recommended_policy == "learned policy"
    v = r.policy_values.set_index("policy")
    assert v.loc["gain over no one", "value_dr_low"] > 0
    assert (r.ranking["qini_low"] > 0).all()
    assert set(r.metrics()) and all(k.startswith("uplift.") for k in r.metrics())


def test_without_heterogeneity_everyone_gets_the_best_single_arm():
    rng = np.random.default_rng(6)
    n = 6000
    arm = rng.choice(["ctl", "a", "b"], n)
    df = pd.DataFrame({"arm": arm, "f": rng.normal(size=n), "g": rng.choice(["u", "v"], n),
                       "y": rng.normal(0, 5, n) + (arm == "a") * 1.0 + (arm == "b") * 2.0})
    r = analyse_uplift(df, arm="arm", control="ctl", outcome="y", features=["f", "g"],
                       n_boot=20, seed=3)
    assert r.best_single_arm == "b"
    if r.recommended_policy != "learned policy":
        assert r.recommended_policy == "everyone: b"
        pred = r.model.predict(df)
        assert (pred["recommended_arm"] == "b").all()
        capped = r.model.predict(df, max_treated=0.5)
        assert (capped["recommended_arm"] == "b").mean() == pytest.approx(0.5, abs=0.01)


def _reference_areas(y, score, t):
    """Qini coefficient and AUUC straight from the definitions (sort, cumulate at each distinct
    score, trapezoids, normalise by the perfect ranking), for one sample."""
    def curves(s):
        order = np.argsort(-s, kind="mergesort")
        ys, ts, ss = y[order], t[order], s[order]
        last = np.r_[ss[1:] != ss[:-1], True]
        n = np.arange(1, len(s) + 1.0)[last]
        nt = np.cumsum(ts)[last]
        nc = n - nt
        yt, yc = np.cumsum(ys * ts)[last], np.cumsum(ys * (1 - ts))[last]
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(nc > 0, yt - yc * nt / nc, yt)
            u = (np.where(nt > 0, yt / nt, 0) - np.where(nc > 0, yc / nc, 0)) * n
        return np.r_[0, n], np.r_[0, q], np.r_[0, u]

    x, q, u = curves(score)
    xp, qp, up = curves(y * t - y * (1 - t))
    out = []
    for v, vp in ((q, qp), (u, up)):
        base = xp[-1] * vp[-1] / 2
        out.append((np.trapezoid(v, x) - base) / (np.trapezoid(vp, xp) - base))
    return out


@pytest.mark.parametrize("ties", [False, True])
def test_bootstrap_by_counts_equals_resampling_and_resorting(ties):
    """A resample is the customers counted as often as drawn: its Qini coefficient and AUUC,
    computed on the rankings sorted once, equal those of the resample sorted anew."""
    from crm_experiments.uplift import evaluation as ev

    rng = np.random.default_rng(7)
    n = 1500
    t = (rng.random(n) < 0.6).astype(float)
    y = np.where(rng.random(n) < 0.3, rng.gamma(2, 50, n), 0.0) - 0.5 * t
    s = rng.normal(size=n) + 0.01 * y * t
    if ties:
        s = np.round(s, 1)
    assert np.allclose([qini_coefficient(y, s, t), auuc(y, s, t)], _reference_areas(y, s, t))
    order, ends = ev._ranking(s)
    p_order, p_ends = ev._ranking(ev._perfect_score(y, t))
    draws = [np.r_[rng.choice(np.flatnonzero(t == 1), int(t.sum())),
                   rng.choice(np.flatnonzero(t == 0), int(n - t.sum()))] for _ in range(5)]
    w = np.stack([np.bincount(d, minlength=n) for d in draws]).astype(float)
    q, a = ev._areas(ev._cumulative(ends, y[order], t[order], w[:, order]),
                     ev._cumulative(p_ends, y[p_order], t[p_order], w[:, p_order]))
    expected = np.array([_reference_areas(y[d], s[d], t[d]) for d in draws])
    assert np.allclose(q, expected[:, 0], rtol=1e-9)
    assert np.allclose(a, expected[:, 1], rtol=1e-9)
    r = ev.ranking_score(y, s, t, n_boot=200, seed=1)
    assert r.qini_low < r.qini < r.qini_high and r.auuc_low < r.auuc < r.auuc_high
    # chunks of resamples: the same draws in any chunk size
    q1, a1 = ev._bootstrap_areas(y, order, ends, p_order, p_ends, t, 30,
                                 np.random.default_rng(2), chunk_cells=n * 7)
    q2, a2 = ev._bootstrap_areas(y, order, ends, p_order, p_ends, t, 30,
                                 np.random.default_rng(2))
    assert np.allclose(q1, q2) and np.allclose(a1, a2)


def _samples(r) -> str:
    """The uplift page's sentence on the training and evaluation samples of ``r``."""
    from crm_experiments.report.uplift_page import samples_text

    return samples_text({"language": "en", "n_train": r.n_train,
                         "n_train_split": r.n_train_split, "n_test": r.n_test,
                         "n_test_split": r.n_test_split})


def test_analyse_uplift_caps_training_and_evaluation_samples():
    df = synthetic(6000, seed=8)
    r = analyse_uplift(df, arm="arm", control="ctl", outcome="profit",
                       features=["segment", "spend"], n_boot=20, seed=2, test_size=0.5,
                       max_train=1000, max_test=1500)
    assert (r.n_train, r.n_test, r.n_customers) == (1000, 1500, 6000)
    assert (r.n_train_split, r.n_test_split) == (3000, 3000)
    assert "1,000 of the 3,000 training" in _samples(r)
    assert r.metrics()["uplift.n_train"] == 1000 and len(r.test_effects) == 1500
    shares = df.loc[r.test_index, "arm"].value_counts(normalize=True)
    overall = df["arm"].value_counts(normalize=True)
    assert (shares - overall).abs().max() < 0.01   # stratified by arm
    assert r.ranking[["n_treated", "n_control"]].sum(axis=1).max() <= 1500
    assert "about 1.4 times as wide" in _samples(r)        # sqrt(3,000 / 1,500)
    assert r.metrics()["uplift.test_precision_factor"] == pytest.approx(np.sqrt(2))
    # within the held-out half, each arm's sample is its customers with the smallest hash
    # positions of their ids (models.sample), whatever the order of the half's rows
    from crm_experiments.models.sample import sample_position

    ids = df.assign(cid=[f"K{i:05d}" for i in range(len(df))])
    capped = analyse_uplift(ids, arm="arm", control="ctl", outcome="profit", id_column="cid",
                            features=["segment", "spend"], n_boot=5, seed=2, test_size=0.5,
                            max_train=1000, max_test=1500)
    whole = analyse_uplift(ids, arm="arm", control="ctl", outcome="profit", id_column="cid",
                           features=["segment", "spend"], n_boot=5, seed=2, test_size=0.5)
    half = ids.loc[whole.test_index]
    u = pd.Series(sample_position(pd.Index(half["cid"]), 2), index=half.index)
    for _, rows in half.groupby("arm"):
        kept = capped.test_index.intersection(rows.index)
        assert u[kept].max() < u[rows.index.difference(kept)].min()
    full = analyse_uplift(df, arm="arm", control="ctl", outcome="profit",
                          features=["segment", "spend"], n_boot=20, seed=2, test_size=0.5)
    assert (full.n_train, full.n_test) == (3000, 3000)
    assert "all 3,000 training" in _samples(full)
    with pytest.raises(UpliftInputError, match="max_test"):
        analyse_uplift(df, arm="arm", control="ctl", outcome="profit", features=["spend"],
                       max_test=10)
