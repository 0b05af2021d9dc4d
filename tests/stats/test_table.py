import numpy as np
import pandas as pd
import pytest

from crm_experiments.errors import CrmError
from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.effects import compare_means, compare_ratios
from crm_experiments.stats.lin import compare_adjusted
from crm_experiments.stats.table import TableError, compare_arms


@pytest.fixture
def customers():
    rng = np.random.default_rng(5)
    n = 3000
    arm = rng.choice(["control", "coupon_a", "coupon_b"], n, p=[0.2, 0.4, 0.4])
    pre = rng.gamma(2, 50, n)
    bought = (rng.random(n) < np.where(arm == "control", 0.20, 0.24)).astype(int)
    orders = bought * (1 + rng.poisson(0.5, n))
    revenue = orders * rng.gamma(2, 40, n) + 0.3 * pre * bought
    return pd.DataFrame({"arm": arm, "bought": bought, "orders": orders, "revenue": revenue,
                         "revenue_pre": pre})


def test_picks_estimator_per_metric_and_equals_direct_calls(customers):
    r = compare_arms(customers, arm="arm", control="control",
                     metrics=["bought", "revenue", "orders"],
                     covariates={"orders": "revenue_pre"}, ratios={"aov": ("revenue", "orders")},
                     correction=None)
    f = r.to_frame()
    assert len(f) == 8  # 4 metrics x 2 arms
    methods = dict(zip(f.metric, f.method, strict=False))
    assert methods == {"bought": "two_proportion_z_unpooled", "revenue": "welch_t",
                       "orders": "lin_ols_hc2", "aov": "delta_ratio"}
    a, c = customers[customers.arm == "coupon_a"], customers[customers.arm == "control"]
    want = compare_means(MomentStats.from_arrays(a.revenue), MomentStats.from_arrays(c.revenue))
    got = next(e for e in r.effects if e.metric == "revenue" and e.arm == "coupon_a")
    assert (got.estimate, got.ci_low, got.p_value) == pytest.approx(
        (want.estimate, want.ci_low, want.p_value))
    both = pd.concat([a, c])
    lin = compare_adjusted(both.orders, both.revenue_pre, both.arm == "coupon_a")
    got = next(e for e in r.effects if e.metric == "orders" and e.arm == "coupon_a")
    assert got.estimate == pytest.approx(lin.estimate) and got.variance_reduction is not None
    ratio = compare_ratios(MomentStats.from_arrays(a.revenue, den=a.orders),
                           MomentStats.from_arrays(c.revenue, den=c.orders))
    got = next(e for e in r.effects if e.metric == "aov" and e.arm == "coupon_a")
    assert got.se == pytest.approx(ratio.se)
    assert r.srm is None and not r.verdict_withheld


def test_holm_over_the_whole_family_and_srm(customers):
    r = compare_arms(customers, arm="arm", control="control", metrics=["bought", "revenue"],
                     planned_shares={"control": 0.2, "coupon_a": 0.4, "coupon_b": 0.4})
    assert all(e.p_value_adjusted >= e.p_value for e in r.effects)
    assert "Holm" in r.correction and "4 comparisons" in r.correction
    assert r.srm.passed
    bad = compare_arms(customers, arm="arm", control="control", metrics=["revenue"],
                       planned_shares={"control": 1, "coupon_a": 1, "coupon_b": 1})
    assert bad.verdict_withheld and "MISMATCH" in bad.srm.message


def test_integer_arm_labels_and_boolean_metric():
    df = pd.DataFrame({"group": [0, 1] * 20, "clicked": [True, False, True, True] * 10})
    r = compare_arms(df, arm="group", control=0, metrics=["clicked"])
    assert r.effects[0].arm == "1" and r.effects[0].method == "two_proportion_z_unpooled"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"arm": "variant"}, "arm column 'variant' not found"),
    ({"control": "holdout"}, "control arm 'holdout' not found in column 'arm'"),
    ({"metrics": ["gmv"]}, "metric column 'gmv' not found"),
    ({"metrics": ["note"]}, "metric column 'note' is not numeric (e.g. 'vip')"),
    ({"metrics": ["gap"]}, "'gap' has 1 missing value"),
    ({"covariates": {"gmv": "revenue_pre"}}, "covariate given for gmv"),
    ({"ratios": {"aov": ("revenue", "zero")}}, "denominator 'zero' sums to 0"),
    ({"planned_shares": {"control": 0.5}}, "planned shares: arms without a planned share"),
])
def test_bad_input_names_file_column_and_reason(customers, kwargs, message):
    df = customers.assign(note="vip", gap=[np.nan] + [1.0] * (len(customers) - 1), zero=0)
    args = {"arm": "arm", "control": "control", "metrics": ["revenue"], "source": "shop.csv",
            **kwargs}
    with pytest.raises(TableError) as info:
        compare_arms(df, **args)
    assert isinstance(info.value, CrmError)
    assert str(info.value).startswith("shop.csv: ")
    assert message in str(info.value)


@pytest.mark.parametrize(("kind", "x", "den"), [("mean", None, None), ("ratio", None, "orders"),
                                                ("cuped", "revenue_pre", None),
                                                ("proportion", None, None)])
def test_engine_path_equals_row_path(customers, kind, x, den):
    from crm_experiments.io.engine import connect
    from crm_experiments.stats.aggr import moments_from_frame
    from crm_experiments.stats.effects import compare_cuped, compare_proportions
    from crm_experiments.stats.table import compare_moments

    y = "bought" if kind == "proportion" else "revenue"
    con = connect(threads=1)
    moments = moments_from_frame(con.from_pandas(customers), "arm", y, x=x, den=den)
    got = compare_moments(moments, control="control", metric=y, kind=kind)
    assert [e.arm for e in got] == ["coupon_a", "coupon_b"]
    estimator = {"mean": compare_means, "ratio": compare_ratios, "cuped": compare_cuped,
                 "proportion": compare_proportions}[kind]
    c = customers[customers.arm == "control"]
    for e in got:
        a = customers[customers.arm == e.arm]
        want = estimator(
            MomentStats.from_arrays(a[y], None if x is None else a[x], None if den is None
                                    else a[den]),
            MomentStats.from_arrays(c[y], None if x is None else c[x], None if den is None
                                    else c[den]))
        for field in ("estimate", "ci_low", "ci_high", "p_value", "rel_ci_low", "rel_ci_high"):
            assert getattr(e, field) == pytest.approx(getattr(want, field), rel=1e-9)


def test_too_few_rows_for_the_covariate_slopes_get_welch():
    """Two holdout rows cannot fit Lin's per-arm slopes (saturated: HC2 errors undefined);
    the metric gets Welch's comparison, equal to scipy's, and says so in its method; with
    enough rows the same data get the adjustment."""
    from scipy import stats as sps

    rng = np.random.default_rng(3)
    y_t, y_c = rng.gamma(2.0, 30.0, 40), np.array([12.0, 85.0])
    x = np.r_[rng.gamma(2.0, 20.0, 40), [10.0, 60.0]]
    df = pd.DataFrame({"arm": ["t"] * 40 + ["c"] * 2, "y": np.r_[y_t, y_c], "x": x})
    e = compare_arms(df, arm="arm", control="c", metrics=["y"], covariates={"y": "x"},
                     binary_metrics=()).effects[0]
    assert e.method == "welch_t"
    welch = sps.ttest_ind(y_t, y_c, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert e.estimate == pytest.approx(y_t.mean() - y_c.mean())
    assert (e.ci_low, e.ci_high, e.p_value) == pytest.approx((ci.low, ci.high, welch.pvalue))
    more = pd.concat([df, df[df.arm == "c"].assign(y=[30.0, 5.0], x=[25.0, 3.0])])
    # four holdout rows identify the slopes: Lin's OLS when asked for, while the automatic
    # rule wants 20 rows per parameter (stats.adjustment) and keeps Welch
    assert compare_arms(more, arm="arm", control="c", metrics=["y"], covariates={"y": "x"},
                        binary_metrics=(), adjustment="ols").effects[0].method == "lin_ols_hc2"
    assert compare_arms(more, arm="arm", control="c", metrics=["y"], covariates={"y": "x"},
                        binary_metrics=()).effects[0].method == "welch_t"
