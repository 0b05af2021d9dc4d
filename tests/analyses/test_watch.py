"""The sale watch (analyses.watch): group-sequential intervals (and the confidence sequence kept
beside them) recomputed from pandas per-customer data, wider than the fixed-sample Welch
interval, daily peeking under A/A at the nominal rate, the sample-ratio check and the
refusals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crm_experiments.analyses.watch import LEAD_DAYS, SPENDING, default_day, watch_sale
from crm_experiments.errors import CrmError
from crm_experiments.io.engine import collect
from crm_experiments.io.reader import load_shop
from crm_experiments.params import load_params
from crm_experiments.stats.aggr import MomentStats
from crm_experiments.stats.group_sequential import LookMoments, group_sequential
from crm_experiments.stats.sequential import confidence_sequence
from crm_experiments.stats.srm import check_sample_ratio

DAY = dt.date(2025, 11, 4)
PLANNED = 11  # the demo sale's days: 2025-11-01 .. 2025-11-11


@pytest.fixture(scope="module")
def setup(small_shop):
    params = load_params(small_shop)
    shop = load_shop(params.data.path, params=params)
    return params, shop, watch_sale(shop, params, DAY)


@pytest.fixture(scope="module")
def per_customer_by_day(setup):
    """Independent pandas computation: per assigned customer, net revenue since the sale
    start through each day (purchases = paid and not fully refunded)."""
    params, shop, _ = setup
    o = collect(shop["orders"])
    a = collect(shop["assignments"])
    a = a[a["campaign_id"] == params.campaign_id][["customer_id", "arm"]]
    refund = o["refund_amount"].fillna(0)
    o = o[o["paid_at"].notna() & ((refund <= 0) | (refund < o["amount"]))].copy()
    o["rev"] = o["amount"] - o["refund_amount"].fillna(0)
    start = pd.Timestamp(params.sale.start)
    out = {}
    for d in pd.date_range(start, pd.Timestamp(DAY)):
        w = o[(o["created_at"] >= start) & (o["created_at"] < d + pd.Timedelta(days=1))]
        rev = w.groupby("customer_id")["rev"].sum()
        t = a.assign(revenue=a["customer_id"].map(rev).fillna(0.0).astype(float))
        t["converted"] = a["customer_id"].isin(rev.index).astype(float)
        out[d.date()] = t
    return out


def _outcomes(per_customer_by_day, days, arm, metric):
    """A ``(customers, looks)`` matrix of the arm's cumulative outcomes."""
    return np.column_stack([
        per_customer_by_day[d].loc[per_customer_by_day[d]["arm"] == arm, metric].to_numpy()
        for d in days])


def test_intervals_equal_group_sequential_on_pandas_data(setup, per_customer_by_day):
    """lower/upper: the group-sequential interval of the per-customer matrices (cross sums
    recomputed in pandas: y.T @ y), spending over the sale's 11 planned days."""
    params, _, w = setup
    days = sorted(per_customer_by_day)
    assert w.planned_looks == PLANNED and w.spending == SPENDING == "pocock"
    for arm in params.treatment_arms:
        for metric in ("converted", "revenue"):
            ref = group_sequential(
                LookMoments.from_outcomes(_outcomes(per_customer_by_day, days, arm, metric)),
                LookMoments.from_outcomes(
                    _outcomes(per_customer_by_day, days, params.control_arm, metric)),
                planned_looks=PLANNED, alpha=params.alpha, spending="pocock")
            iv = w.intervals
            got = iv[(iv["arm"] == arm) & (iv["metric"] == metric)].sort_values("day")
            np.testing.assert_allclose(got["estimate"], ref.estimate, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(got["se"], ref.se, rtol=1e-9)
            # the same data give the same critical values (seeded quasi-Monte Carlo); the
            # pandas cross sums differ from the engine's in the last bits only
            np.testing.assert_allclose(got["critical_value"], ref.critical_value, atol=1e-4)
            np.testing.assert_allclose(got["lower"], ref.lower, rtol=1e-4)
            np.testing.assert_allclose(got["upper"], ref.upper, rtol=1e-4)
            assert (got["excludes_zero"] == ((got["lower"] > 0) | (got["upper"] < 0))).all()
            assert (got["critical_value"] > 1.96).all()
            np.testing.assert_allclose(got["alpha_spent"],
                                       0.05 * np.log1p((np.e - 1) * np.arange(1, 5) / 11))


def test_cs_columns_equal_confidence_sequence_on_pandas_data(setup, per_customer_by_day):
    params, _, w = setup
    days = sorted(per_customer_by_day)
    assert sorted(set(w.intervals["day"])) == days
    for arm in params.treatment_arms:
        for metric in ("converted", "revenue"):
            looks = {g: [MomentStats.from_arrays(t.loc[t["arm"] == g, metric])
                         for t in (per_customer_by_day[d] for d in days)]
                     for g in (arm, params.control_arm)}
            first = per_customer_by_day[days[0]]
            n = int(first["arm"].isin([arm, params.control_arm]).sum())
            ref = confidence_sequence(looks[arm], looks[params.control_arm],
                                      alpha=params.alpha, planned_n=n)
            iv = w.intervals
            got = iv[(iv["arm"] == arm) & (iv["metric"] == metric)].sort_values("day")
            np.testing.assert_allclose(got["estimate"], ref.estimate, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(got["cs_lower"], ref.lower, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(got["cs_upper"], ref.upper, rtol=1e-9, atol=1e-12)


def test_always_valid_interval_wider_than_welch(setup, per_customer_by_day):
    params, _, w = setup
    last = per_customer_by_day[DAY]
    for r in w.latest().itertuples(index=False):
        y_a = last.loc[last["arm"] == r.arm, r.metric]
        y_c = last.loc[last["arm"] == params.control_arm, r.metric]
        test = stats.ttest_ind(y_a, y_c, equal_var=False)
        welch = test.confidence_interval(0.95)
        assert r.lower < welch.low and r.upper > welch.high
        assert r.naive_lower == pytest.approx(welch.low, rel=1e-9)
        se = (welch.high - welch.low) / 2 / stats.t.ppf(0.975, test.df)
        assert (r.upper - r.lower) / 2 / se > 1.96


def test_sample_ratio_against_planned_shares(setup, per_customer_by_day):
    params, _, w = setup
    counts = per_customer_by_day[DAY]["arm"].value_counts().to_dict()
    ref = check_sample_ratio(counts, {a.name: a.planned_share for a in params.arms})
    assert w.srm.p_value == pytest.approx(ref.p_value)
    assert dict(zip(w.srm.arms, w.srm.counts, strict=True)) == counts


def test_kpis_cover_five_days_before_the_start_to_the_day(setup):
    params, _, w = setup
    first = params.sale.start - dt.timedelta(days=LEAD_DAYS)
    assert list(w.kpis.columns) == ["baseline"] + [
        d.date().isoformat() for d in pd.date_range(first, DAY)]
    assert (w.kpis.loc["gmv"] > 0).all()


def test_before_the_sale_only_kpis(setup):
    params, shop, _ = setup
    w = watch_sale(shop, params, params.sale.start - dt.timedelta(days=1))
    assert w.intervals.empty and "watch_note_not_started" in w.notes


@pytest.mark.parametrize("offset, match", [(-LEAD_DAYS - 1, "before the watch window"),
                                           (11, "after the sale's last day")])
def test_days_outside_the_window_refused(setup, offset, match):
    params, shop, _ = setup
    with pytest.raises(CrmError, match=match):
        watch_sale(shop, params, params.sale.start + dt.timedelta(days=offset))


def test_default_day_clipped_to_the_sale(setup):
    params, _, _ = setup
    assert default_day(params, dt.date(2020, 1, 1)) == params.sale.start
    assert default_day(params, dt.date(2030, 1, 1)) == params.sale.end
    assert default_day(params, DAY) == DAY


def test_daily_peeking_under_aa_keeps_the_error_rate(setup, per_customer_by_day):
    """Arm labels permuted among the holdout and one arm (true difference 0), the watch's
    design (every assigned customer from day one, outcomes accumulating), revenue per
    customer looked at every day of a sale planned as these 4 days (so all of alpha is
    spent), the boundary recomputed from each permutation's data: the share of permutations
    where ANY day's interval excludes 0 is near the nominal 5 %, the fixed-sample interval
    looked at daily errs far more often and the confidence sequence less. This shop's holdout
    has 660 customers (about 20 buyers on the first day), where the normal approximation's
    tails give about 6 % (1,500 permutations: 6.2 % conversion, 6.4 % revenue), hence the
    bound of 8 % (binomial sd 1.5 % at 250 draws); at the demo's size the benchmark measures
    4.8-4.9 % and tests/stats/test_group_sequential.py checks <= 6.5 %."""
    params, _, _ = setup
    days = sorted(per_customer_by_day)
    arm, ctl = params.treatment_arms[0], params.control_arm
    first = per_customer_by_day[days[0]]
    keep = first["arm"].isin([arm, ctl]).to_numpy()
    y = np.column_stack([per_customer_by_day[d]["revenue"].to_numpy()[keep] for d in days])
    n_ctl = int((first["arm"][keep] == ctl).sum())
    rng = np.random.default_rng(7)
    gs = naive = 0
    draws = 250
    perms = np.array([rng.permutation(len(y)) for _ in range(draws)])
    for p in perms:
        r = group_sequential(LookMoments.from_outcomes(y[p[n_ctl:]]),
                             LookMoments.from_outcomes(y[p[:n_ctl]]), planned_looks=len(days))
        gs += bool(r.excludes_zero.any())
        naive += bool(((r.naive_lower > 0) | (r.naive_upper < 0)).any())
    looks = {}
    for name, idx in (("arm", perms[:, n_ctl:]), ("ctl", perms[:, :n_ctl])):
        looks[name] = [MomentStats(n=idx.shape[1], sum_y=y[idx, k].sum(1),
                                   sum_yy=(y[idx, k] ** 2).sum(1)) for k in range(len(days))]
    cs = confidence_sequence(looks["arm"], looks["ctl"], planned_n=len(y))
    cs_rate = cs.excludes_zero.any(axis=0).mean()
    print(f"A/A any-day exclusion over {len(days)} looks: group-sequential {gs / draws:.3f}, "
          f"confidence sequence {cs_rate:.3f}, fixed-sample {naive / draws:.3f}")
    assert 0.02 <= gs / draws <= 0.08
    assert naive > gs + 0.03 and cs_rate <= gs / draws


def test_an_earlier_sale_day_cut_from_a_later_watch_equals_its_own_watch(setup):
    """`crm-exp demo` writes every sale day's page from the last day's watch (as_of)."""
    params, shop, w = setup
    earlier = params.sale.start + dt.timedelta(days=1)
    direct, cut = watch_sale(shop, params, earlier), w.as_of(earlier, params.sale.start)
    assert cut.day == direct.day and cut.notes == direct.notes
    pd.testing.assert_frame_equal(cut.kpis, direct.kpis)
    pd.testing.assert_frame_equal(cut.intervals, direct.intervals)
    assert cut.srm == direct.srm
    with pytest.raises(ValueError):
        w.as_of(DAY + dt.timedelta(days=1), params.sale.start)
