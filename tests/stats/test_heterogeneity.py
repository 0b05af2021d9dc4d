"""Heterogeneity across segments: parity with statsmodels and Cochran's Q, simulated error rates."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.effects import compare_means
from crm_experiments.stats.heterogeneity import (
    cochran_q,
    heterogeneity_frame,
    interaction_test,
)

SEGMENTS = ("active", "lapsed", "new", "vip")
BASE = np.array([60.0, 30.0, 45.0, 120.0])  # mean spend per segment


def _table(n=4000, vip_extra=0.0, seed=0):
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "coupon_a", "coupon_b"], n, p=[0.3, 0.35, 0.35])
    seg = rng.choice(len(SEGMENTS), n, p=[0.4, 0.25, 0.25, 0.1])
    pre = rng.gamma(2.0, BASE[seg] / 2)
    y = 0.5 * pre + rng.gamma(2.0, BASE[seg] / 4) + 4.0 * (arm != "control")
    y = y + vip_extra * ((arm == "coupon_a") & (seg == 3))
    return pd.DataFrame({"arm": arm, "tier": np.array(SEGMENTS)[seg], "revenue": y,
                         "revenue_pre": pre})


def test_interaction_wald_matches_formula_ols_hc2():
    df = _table(vip_extra=25.0)
    res = interaction_test(df, "arm", "control", "revenue", "tier", covariate="revenue_pre")
    assert [r.arm for r in res] == ["coupon_a", "coupon_b"]
    sub = df[df.arm.isin(["coupon_a", "control"])].assign(
        t=lambda d: (d.arm == "coupon_a").astype(float),
        xc=lambda d: d.revenue_pre - d.revenue_pre.mean())
    fit = smf.ols("revenue ~ t * C(tier) + xc", sub).fit(cov_type="HC2")
    names = [n for n in fit.params.index if n.startswith("t:")]
    ref = fit.wald_test(", ".join(f"{n} = 0" for n in names), use_f=False, scalar=True)
    a = res[0]
    assert a.statistic == pytest.approx(float(ref.statistic), rel=1e-8)
    assert a.p_value == pytest.approx(float(ref.pvalue), rel=1e-6)
    assert (a.df, a.n_segments, a.method) == (3, 4, "ols_hc2_interaction_wald")
    assert a.differs and "DIFFERS" in a.message
    assert not res[1].differs and "no evidence" in res[1].message
    assert len(heterogeneity_frame(res)) == 2


@pytest.mark.parametrize("covariate", ["revenue_pre", None])
def test_interaction_wald_in_chunks_equals_dense_statsmodels(monkeypatch, covariate):
    """The chunked HC2 fit (stats.lin.ChunkedOLS) against statsmodels on the dense design."""
    from statsmodels.regression.linear_model import OLS

    from crm_experiments.stats import heterogeneity, lin
    monkeypatch.setattr(lin, "CHUNK_ROWS", 300)
    df = _table(n=3000, vip_extra=10.0, seed=7)
    for r in interaction_test(df, "arm", "control", "revenue", "tier", covariate=covariate):
        sub = df[df.arm.isin([r.arm, "control"])]
        codes, _ = pd.factorize(sub.tier, sort=True)
        x = None if covariate is None else sub[covariate].to_numpy()
        y = sub.revenue.to_numpy()
        design, inter = heterogeneity._interaction_design(y, (sub.arm == r.arm).to_numpy(),
                                                          codes, 4, x)
        # full rank: the chunked fit, not its statsmodels fallback for singular designs
        assert np.linalg.matrix_rank(design) == design.shape[1]
        restriction = np.eye(design.shape[1])[inter]
        ref = OLS(y, design).fit(cov_type="HC2").wald_test(restriction, use_f=False,
                                                           scalar=True)
        assert r.statistic == pytest.approx(float(ref.statistic), rel=1e-9)
        assert r.p_value == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_without_covariate_interaction_wald_equals_cochran_q_of_welch_effects():
    df = _table(vip_extra=3.0, seed=1)
    (a, _) = interaction_test(df, "arm", "control", "revenue", "tier")
    effects = []
    for s in SEGMENTS:
        g = df[df.tier == s]
        effects.append(compare_means(MomentStats.from_arrays(g.revenue[g.arm == "coupon_a"]),
                                     MomentStats.from_arrays(g.revenue[g.arm == "control"]),
                                     metric="revenue", arm="coupon_a"))
    q = cochran_q(effects, segment="tier")
    assert q.statistic == pytest.approx(a.statistic, rel=1e-9)
    assert q.p_value == pytest.approx(a.p_value, rel=1e-7)
    # Q and I² by hand
    th = np.array([e.estimate for e in effects])
    w = 1 / np.array([e.se for e in effects]) ** 2
    qq = np.sum(w * (th - np.sum(w * th) / np.sum(w)) ** 2)
    assert q.statistic == pytest.approx(qq)
    assert q.p_value == pytest.approx(stats.chi2.sf(qq, 3))
    assert q.i_squared == pytest.approx(max(0.0, (qq - 3) / qq))
    assert (q.arm, q.metric, q.method) == ("coupon_a", "revenue", "cochran_q")
    assert q.to_frame().loc[0, "message"] == q.message


def test_clear_errors():
    df = _table(n=300)
    with pytest.raises(ValueError, match="not found"):
        interaction_test(df, "arm", "control", "revenue", "province")
    thin = pd.concat([df, pd.DataFrame({"arm": ["coupon_a"], "tier": ["mars"], "revenue": [1.0],
                                        "revenue_pre": [1.0]})])
    with pytest.raises(ValueError, match="mars"):
        interaction_test(thin, "arm", "control", "revenue", "tier")
    with pytest.raises(ValueError, match="at least 2"):
        cochran_q([])


def _segment_effects(rng, reps, lifts, n_arm=500, n_ctl=400):
    """Per-segment Welch effects of ``reps`` simulated experiments (array fields)."""
    out = []
    for base, lift in zip(BASE, lifts, strict=True):
        arm = rng.gamma(2.0, base / 2, (reps, n_arm)) + lift
        ctl = rng.gamma(2.0, base / 2, (reps, n_ctl))
        out.append(compare_means(MomentStats.from_arrays(arm, axis=1),
                                 MomentStats.from_arrays(ctl, axis=1)))
    return out


@pytest.mark.slow
def test_cochran_q_size_and_power_vectorised():
    rng = np.random.default_rng(42)
    null = cochran_q(_segment_effects(rng, 4000, [4.0, 4.0, 4.0, 4.0]))
    strong = cochran_q(_segment_effects(rng, 1000, [0.0, 0.0, 0.0, 35.0]))
    size, power = np.mean(null.differs), np.mean(strong.differs)
    print(f"cochran_q: rejection under no heterogeneity {size:.4f}, strong {power:.4f}")
    assert 0.04 <= size <= 0.06
    assert power > 0.95
    assert np.median(strong.i_squared) > 0.7 and np.median(null.i_squared) == 0.0


@pytest.mark.slow
def test_interaction_test_with_covariate_size_and_power():
    """400 small experiments through the public API (a statsmodels fit each, ~20 ms); the
    vectorised Cochran test above covers the no-covariate case (identical statistic) at 4,000."""
    rng = np.random.default_rng(7)
    reps, n = 400, 600

    def rate(vip_extra):
        hits = 0
        for _ in range(reps):
            seg = rng.choice(4, n, p=[0.4, 0.25, 0.25, 0.1])
            t = rng.random(n) < 0.5
            pre = rng.gamma(2.0, BASE[seg] / 2)
            y = 0.5 * pre + rng.gamma(2.0, BASE[seg] / 4) + 4.0 * t + vip_extra * t * (seg == 3)
            df = pd.DataFrame({"arm": np.where(t, "a", "control"), "seg": seg, "y": y,
                               "pre": pre})
            (r,) = interaction_test(df, "arm", "control", "y", "seg", covariate="pre")
            hits += r.differs
        return hits / reps

    size = rate(0.0)
    print(f"interaction_test: rejection under no heterogeneity {size:.4f}")
    assert 0.025 <= size <= 0.08
    power = np.mean([interaction_test(pd.DataFrame({
        "arm": np.where(t, "a", "control"), "seg": seg,
        "y": rng.normal(50, 10, 600) + 30 * t * (seg == 3)}), "arm", "control", "y", "seg")[0]
        .differs for t, seg in ((rng.random(600) < 0.5, rng.choice(4, 600)) for _ in range(50))])
    assert power > 0.95
