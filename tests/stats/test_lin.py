"""stats.lin: Lin's HC2 regression by arm in row chunks against statsmodels' dense OLS."""

import numpy as np
import pandas as pd
import pytest
from scipy import linalg
from statsmodels.regression.linear_model import OLS

from crm_experiments.stats import adjustment, lin
from crm_experiments.stats.adjustment import compare_regression, usable_columns
from crm_experiments.stats.effects import lin_design
from crm_experiments.stats.lin import LinDesign, compare_adjusted
from crm_experiments.stats.table import compare_arms

RTOL = 1e-9


def _data(n, share, *, binary=False, money=1.0, seed=0):
    """Covariates like the campaign's: a money column, counts, 0/1 and lifecycle dummies."""
    rng = np.random.default_rng(seed)
    t = (rng.random(n) < share).astype(float)
    pre = rng.gamma(0.5, 300.0, n) * money
    orders = rng.poisson(1.0, n).astype(float)
    state = rng.integers(0, 4, n)
    x = np.column_stack([pre, orders, (orders > 0).astype(float),
                         *[(state == v).astype(float) for v in (1, 2, 3)]])
    if binary:
        y = (rng.random(n) < 0.1 + 0.05 * t + 0.1 * (orders > 0)).astype(float)
    else:
        y = 0.3 * pre + 5 * t * (1 + orders) + rng.gamma(1.0, 50.0, n) * money
    return y, x, t


def _reference(y, x, t):
    """statsmodels' OLS HC2 on Lin's design with its columns scaled to max |value| 1 (an exact
    reparametrisation: params / s, cov / s s'); unscaled, its pseudo-inverse loses digits
    on money-scale columns."""
    yy, design = lin_design(y, x, t)
    s = np.abs(design).max(axis=0)
    fit = OLS(yy, design / s).fit(cov_type="HC2")
    return fit.params / s, fit.bse / s, fit.conf_int(0.05) / s[:, None], fit.pvalues


def _close(got, want, scale):
    """``|got - want| <= RTOL · max(|want|, scale)`` elementwise (scale: the coefficient's se,
    for coefficients near 0)."""
    got, want = np.asarray(got), np.asarray(want)
    scale = np.broadcast_to(np.asarray(scale), want.shape)
    assert np.all(np.abs(got - want) <= RTOL * np.maximum(np.abs(want), scale)), (got, want)


@pytest.mark.parametrize(("n", "share", "binary", "money", "chunk"), [
    (4000, 0.5, False, 1.0, lin.CHUNK_ROWS),
    (4000, 0.5, False, 1.0, 333),       # many chunks, an uneven last one
    (5000, 0.1, False, 1e4, 700),       # unbalanced arms, money-scale covariate and outcome
    (3000, 0.9, True, 1.0, 500),        # binary outcome (linear probability model)
    (6000, 0.3, True, 1e3, 1024),
])
def test_fit_equals_statsmodels_hc2(monkeypatch, n, share, binary, money, chunk):
    monkeypatch.setattr(lin, "CHUNK_ROWS", chunk)
    y, x, t = _data(n, share, binary=binary, money=money, seed=n + int(10 * share))
    params, bse, ci, p = _reference(y, x, t)
    design = LinDesign(x, t)
    assert not design.singular  # the chunked path, not the statsmodels fallback
    fit = design.fit(y)
    _close(fit.params, params, bse)
    _close(fit.bse, bse, 0.0)
    _close(fit.conf_int(0.05), ci, bse[:, None])
    _close(fit.pvalues, p, 1e-3)


def test_effect_equals_statsmodels_unscaled_design():
    """On a well-scaled design the plain dense statsmodels fit (the code before stats.lin)
    gives the same effect, interval and p-value."""
    y, x, t = _data(3000, 0.4, seed=11)
    x = x[:, 1:]  # no money column
    e = compare_adjusted(y, x, t, alpha=0.1, metric="revenue")
    ref = OLS(*lin_design(y, x, t)).fit(cov_type="HC2")
    _close([e.estimate, e.se, e.p_value], [ref.params[1], ref.bse[1], ref.pvalues[1]], 0.0)
    _close([e.ci_low, e.ci_high], ref.conf_int(0.1)[1], ref.bse[1])
    cov = ref.cov_params()
    _close([e.mean_control, e.var_mean_control, e.var_mean_arm],
           [ref.params[0], cov[0, 0], cov[0, 0] + 2 * cov[0, 1] + cov[1, 1]], 0.0)
    assert e.method == "lin_ols_hc2" and e.metric == "revenue"


def test_one_design_serves_every_outcome(monkeypatch):
    monkeypatch.setattr(lin, "CHUNK_ROWS", 512)
    y, x, t = _data(3000, 0.5, seed=3)
    design = LinDesign(x, t)
    for outcome in (y, np.log1p(y), (y > 100).astype(float)):
        assert design.compare(outcome) == compare_adjusted(outcome, x, t)


def test_singular_design_takes_statsmodels_pseudo_inverse():
    y, x, t = _data(2000, 0.5, seed=4)
    x = np.column_stack([x, x[:, 0] + x[:, 1]])  # collinear: no unique coefficients
    design = LinDesign(x, t)
    assert design.singular
    with pytest.warns(Warning):  # statsmodels says the design is rank-deficient
        ref = OLS(*lin_design(y, x, t)).fit(cov_type="HC2")
    with pytest.warns(Warning):
        got = design.fit(y)
    np.testing.assert_allclose(got.params, ref.params, rtol=1e-12)


def _usable_dense(x, on):
    """The rank rule on the whole arm's matrix at once (usable_columns before chunking)."""
    keep = [j for j in range(x.shape[1]) if np.ptp(x[on, j]) > 0 and np.ptp(x[~on, j]) > 0]
    for rows in (on, ~on):
        centred = x[rows][:, keep] - x[rows][:, keep].mean(axis=0)
        _, r, pivot = linalg.qr(centred / np.abs(centred).max(axis=0), mode="economic",
                                pivoting=True)
        diag = np.abs(np.diag(r))
        keep = sorted(keep[p] for p in pivot[:int((diag > diag.max() * 1e-9).sum())])
    return keep


def test_usable_columns_in_chunks_drops_the_same_columns(monkeypatch):
    y, x, t = _data(3000, 0.3, seed=5)
    # column 6 = orders + 3·bought (dependent), column 7 constant in the treated arm
    x = np.column_stack([x, x[:, 1] + 3 * x[:, 2], np.where(t == 1, 1.0, x[:, 2])])
    on = t == 1
    want = _usable_dense(x, on)
    assert len(want) == 6 and 7 not in want and not {1, 2, 6} <= set(want)
    assert usable_columns(x, on) == want
    monkeypatch.setattr(lin, "CHUNK_ROWS", 250)
    assert usable_columns(x, on) == want


def test_compare_arms_factors_one_design_per_arm_and_covariate_set(monkeypatch):
    built = []

    class Counting(LinDesign):
        def __init__(self, x, treatment, **kw):
            built.append(len(treatment))
            super().__init__(x, treatment, **kw)

    monkeypatch.setattr(adjustment, "LinDesign", Counting)
    rng = np.random.default_rng(6)
    n = 3000
    df = pd.DataFrame({"arm": rng.choice(["c", "a", "b"], n), "pre": rng.gamma(1, 50, n),
                       "hist": rng.poisson(2, n).astype(float)})
    df["revenue"] = 0.5 * df["pre"] + rng.normal(0, 5, n)
    df["orders"] = df["hist"] + rng.poisson(1, n)
    df["bought"] = (df["orders"] > 2).astype(float)
    metrics = ["revenue", "orders", "bought"]
    r = compare_arms(df, arm="arm", control="c", metrics=metrics,
                     covariates={m: ["pre", "hist"] for m in metrics},
                     correction=None)
    assert len(built) == 2  # arms a and b; every metric reuses its arm's design
    shared: dict = {}
    first = compare_arms(df, arm="arm", control="c", metrics=["revenue"],
                         covariates={"revenue": ["pre", "hist"]}, designs=shared)
    second = compare_arms(df, arm="arm", control="c", metrics=["orders"],
                          covariates={"orders": ["pre", "hist"]}, designs=shared)
    assert len(built) == 4  # the second family on the same table reused the first's designs
    assert [e.estimate for e in first.effects + second.effects] == pytest.approx(
        [e.estimate for e in r.effects if e.metric in ("revenue", "orders")], rel=1e-12)
    for e in r.effects:
        keep = df["arm"].isin([e.arm, "c"]).to_numpy()
        alone, _ = compare_regression(df.loc[keep, e.metric], df.loc[keep, ["pre", "hist"]],
                                      (df.loc[keep, "arm"] == e.arm).to_numpy(),
                                      metric=e.metric, arm=e.arm, control="c")
        assert (e.estimate, e.se) == pytest.approx((alone.estimate, alone.se), rel=1e-12)


def test_rows_and_columns_of_a_larger_matrix_equal_the_copied_design(monkeypatch):
    monkeypatch.setattr(lin, "CHUNK_ROWS", 400)
    y, x, t = _data(3000, 0.5, seed=8)
    rows = np.flatnonzero(np.arange(3000) % 3 != 0)  # a pair's rows of a 3-arm table
    columns = [0, 2, 3, 5]
    got = LinDesign(x, t[rows], rows=rows, columns=columns).fit(y[rows])
    want = LinDesign(x[rows][:, columns], t[rows]).fit(y[rows])
    np.testing.assert_allclose(got.params, want.params, rtol=1e-12)
    np.testing.assert_allclose(got.bse, want.bse, rtol=1e-12)
    assert usable_columns(x, t[rows] == 1, rows=rows) == usable_columns(x[rows], t[rows] == 1)
