"""Engine features = lifetimes' summary_data_from_transaction_data (its definitions exactly).

The engine functions run on DuckDB here; tests/engine checks that Spark gives the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import summary_data_from_transaction_data

from crm_experiments.errors import CrmError
from crm_experiments.io.engine import collect, connect
from crm_experiments.models.features import (
    behaviour_features,
    purchase_days,
    repeat_purchases_by_day,
    rfm_features,
)

from .cdnow import CALIBRATION_END, OBSERVATION_END, cdnow_orders, cdnow_transactions


def _fixture_orders(seed: int = 7, n: int = 300) -> pd.DataFrame:
    """Random orders with same-day repeats, times of day, unpaid and refunded orders."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n):
        k = rng.integers(1, 8)
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        days = np.sort(rng.integers(0, 200, size=k))
        for d in days:
            for _ in range(rng.integers(1, 3)):  # sometimes two orders on one day
                at = start + pd.Timedelta(days=int(d), minutes=int(rng.integers(0, 1440)))
                rows.append((f"c{c}", at, round(float(rng.gamma(2, 40)), 2)))
    df = pd.DataFrame(rows, columns=["customer_id", "created_at", "amount"])
    df["order_id"] = [f"o{i}" for i in range(len(df))]
    df["paid_at"] = df["created_at"]
    df["discount"] = 0.0
    df["refund_amount"] = 0.0
    # some unpaid and some fully refunded orders (not purchases), some partial refunds
    u = rng.random(len(df))
    df.loc[u < 0.05, "paid_at"] = pd.NaT
    df.loc[(u >= 0.05) & (u < 0.08), "refund_amount"] = df["amount"]
    df.loc[(u >= 0.08) & (u < 0.12), "refund_amount"] = (df["amount"] / 2).round(2)
    return df


def memtable(df: pd.DataFrame):
    """``df`` as a lazy frame of a fresh one-thread DuckDB engine."""
    return connect(threads=1).from_pandas(df)


def _orders(rows) -> pd.DataFrame:
    """Orders from (customer, created_at, amount[, refund, paid]) tuples."""
    out = []
    for i, r in enumerate(rows):
        c, at, amount, refund, paid = tuple(r) + (0.0, True)[len(r) - 3:]
        at = pd.Timestamp(at)
        out.append({"order_id": f"o{i}", "customer_id": c, "created_at": at,
                    "paid_at": at if paid else pd.NaT, "amount": float(amount),
                    "discount": 0.0, "refund_amount": float(refund)})
    return pd.DataFrame(out)


@pytest.mark.parametrize("unit, mult", [("day", 1), ("week", 7)])
def test_rfm_matches_lifetimes(unit, mult):
    df = _fixture_orders()
    cal_end = pd.Timestamp("2024-09-01")
    ours = rfm_features(memtable(df), cal_end, unit=unit)
    # lifetimes on the purchases (paid, not fully refunded) with net revenue as value
    p = df[df["paid_at"].notna() & (df["refund_amount"] < df["amount"])].copy()
    p["value"] = p["amount"] - p["refund_amount"]
    theirs = summary_data_from_transaction_data(
        p, "customer_id", "created_at", monetary_value_col="value",
        observation_period_end=cal_end - pd.Timedelta(days=1), freq="D", freq_multiplier=mult)
    theirs = theirs.sort_index()
    assert list(ours.index) == list(theirs.index)
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col].to_numpy(dtype=float),
                                   theirs[col].to_numpy(dtype=float), rtol=1e-12, atol=1e-9,
                                   err_msg=col)


def test_holdout_matches_lifetimes_definition():
    tx = cdnow_transactions()
    f = rfm_features(cdnow_orders(), CALIBRATION_END, OBSERVATION_END, unit="day")
    cal_last = pd.Timestamp(CALIBRATION_END) - pd.Timedelta(days=1)
    obs_last = pd.Timestamp(OBSERVATION_END) - pd.Timedelta(days=1)
    hold = tx[(tx["date"] > cal_last) & (tx["date"] <= obs_last)]
    expected = hold.groupby("id")["date"].nunique()
    expected.index = expected.index.astype(str)
    got = f["frequency_holdout"]
    assert got.sum() == expected.sum()
    assert (got.reindex(expected.index) == expected).all()
    assert (f["duration_holdout"] == (obs_last - cal_last).days).all()


def test_behaviour_features_basic():
    df = _fixture_orders(n=50)
    b = behaviour_features(memtable(df), "2024-09-01")
    assert (b["days_since_last"] >= 1).all()
    assert (b["days_since_first"] >= b["days_since_last"]).all()
    assert (b["purchases"] >= b["purchase_days"]).all()


def test_same_day_purchases_and_single_purchase_day():
    df = _orders([
        # a: two orders on the first day, two on a repeat day, one refunded / one unpaid order
        ("a", "2024-01-01 09:00", 10.0), ("a", "2024-01-01 23:59", 5.0),
        ("a", "2024-01-04 08:00", 7.0), ("a", "2024-01-04 12:00", 3.0, 1.0),
        ("a", "2024-01-06 10:00", 50.0, 50.0), ("a", "2024-01-07 10:00", 80.0, 0.0, False),
        # b: one purchase day with three orders (no repeat purchase)
        ("b", "2024-01-03 01:00", 1.0), ("b", "2024-01-03 02:00", 2.0),
        ("b", "2024-01-03 03:00", 4.0),
        # c: single order on the last calibration day; d: only after calibration_end
        ("c", "2024-01-09 23:59:59", 9.0), ("d", "2024-01-10 00:00", 3.0),
    ])
    f = rfm_features(memtable(df), "2024-01-10", unit="day")
    assert list(f.index) == ["a", "b", "c"]
    assert f.loc["a"].to_dict() == {"frequency": 1, "recency": 3.0, "T": 8.0,
                                    "monetary_value": 9.0, "first_purchase_day": 19723}
    assert f.loc["b"].to_dict() == {"frequency": 0, "recency": 0.0, "T": 6.0,
                                    "monetary_value": 0.0, "first_purchase_day": 19725}
    assert f.loc["c"].to_dict() == {"frequency": 0, "recency": 0.0, "T": 0.0,
                                    "monetary_value": 0.0, "first_purchase_day": 19731}
    assert f.index.dtype == "str" and f.index.name == "customer_id"
    assert f["frequency"].dtype == "int64" and f["first_purchase_day"].dtype == "int64"
    assert f.attrs == {"unit": "day", "calibration_end": "2024-01-10", "observation_end": None}
    w = rfm_features(memtable(df), "2024-01-10", unit="week")
    np.testing.assert_allclose(w["recency"], f["recency"] / 7)
    np.testing.assert_allclose(w["T"], f["T"] / 7)
    assert (w["frequency"] == f["frequency"]).all()
    assert (w["monetary_value"] == f["monetary_value"]).all()


def test_holdout_columns():
    df = _orders([
        ("a", "2024-01-01", 10.0), ("a", "2024-01-02", 20.0),
        # holdout: two orders on one day (one purchase day of 6.0) and one more day
        ("a", "2024-01-11 08:00", 2.0), ("a", "2024-01-11 20:00", 4.0),
        ("a", "2024-01-15", 12.0), ("a", "2024-01-20", 99.0),  # at observation_end: out
        ("b", "2024-01-05", 3.0),  # no holdout purchase
        ("c", "2024-01-12", 8.0),  # only in the holdout: no features
    ])
    f = rfm_features(memtable(df), "2024-01-10", "2024-01-20", unit="week")
    assert list(f.index) == ["a", "b"]
    assert list(f.columns) == ["frequency", "recency", "T", "monetary_value",
                               "first_purchase_day", "frequency_holdout",
                               "monetary_value_holdout", "duration_holdout"]
    assert f["frequency_holdout"].tolist() == [2, 0]
    assert f["frequency_holdout"].dtype == "int64"
    assert f["monetary_value_holdout"].tolist() == [9.0, 0.0]
    np.testing.assert_allclose(f["duration_holdout"], 10 / 7)
    assert f["frequency"].tolist() == [1, 0]
    assert f["monetary_value"].tolist() == [20.0, 0.0]
    np.testing.assert_allclose(f["T"], [8 / 7, 4 / 7])
    assert f.attrs["observation_end"] == "2024-01-20"
    with pytest.raises(CrmError, match="observation_end"):
        rfm_features(memtable(df), "2024-01-10", "2024-01-10")
    with pytest.raises(CrmError, match="no purchase"):
        rfm_features(memtable(df), "2023-12-01")


def test_integer_customer_ids_are_sorted_as_strings():
    df = _orders([(10, "2024-01-01", 1.0), (9, "2024-01-02", 2.0), (100, "2024-01-03", 3.0),
                  (9, "2024-01-05", 4.0)])
    f = rfm_features(memtable(df), "2024-01-10")
    assert list(f.index) == ["10", "100", "9"]
    assert f.loc["9", "frequency"] == 1


def _reference_days(df: pd.DataFrame, end: str) -> pd.DataFrame:
    """Purchase days in pandas: (customer_id, day, value) of paid, not fully refunded orders."""
    p = df[df["paid_at"].notna() & (df["refund_amount"] < df["amount"])
           & (df["created_at"] < pd.Timestamp(end))].copy()
    p["day"] = (p["created_at"].dt.normalize() - pd.Timestamp("1970-01-01")).dt.days
    p["value"] = p["amount"] - p["refund_amount"]
    return p.groupby(["customer_id", "day"], as_index=False)["value"].sum()


def test_purchase_days_and_repeat_purchases_by_day():
    df = _fixture_orders(seed=3, n=200)
    t = memtable(df)
    ref = _reference_days(df, "2024-09-01")
    got = collect(purchase_days(t, "2024-09-01"))
    got = got.sort_values(["customer_id", "day"]).reset_index(drop=True)
    assert list(got.columns) == ["customer_id", "day", "value"]
    assert got["day"].dtype == "int64"
    pd.testing.assert_frame_equal(got[["customer_id", "day"]].astype({"customer_id": object}),
                                  ref[["customer_id", "day"]].astype({"customer_id": object}))
    np.testing.assert_allclose(got["value"], ref["value"], rtol=1e-12)
    # repeat purchase days per day of the customers who first bought before the cohort end
    start, end, cohort_end = "2024-03-01", "2024-09-01", "2024-06-01"
    first = ref.groupby("customer_id")["day"].transform("min")
    cohort = first < (pd.Timestamp(cohort_end) - pd.Timestamp("1970-01-01")).days
    lo, hi = ((pd.Timestamp(x) - pd.Timestamp("1970-01-01")).days for x in (start, end))
    rep = ref[(ref["day"] > first) & cohort & (ref["day"] >= lo)]
    expected = rep.groupby("day").size().reindex(np.arange(lo, hi), fill_value=0)
    actual = repeat_purchases_by_day(t, start, end, cohort_end)
    assert actual.sum() > 0
    assert (actual.to_numpy() == expected.to_numpy()).all()
    assert (actual.index == expected.index).all() and actual.dtype == "int64"


def test_behaviour_features_match_pandas():
    df = _fixture_orders(seed=11, n=150)
    df["discount"] = np.where(np.arange(len(df)) % 3 == 0, 5.0, 0.0)
    as_of = pd.Timestamp("2024-09-01")
    b = behaviour_features(memtable(df), as_of)
    o = df[df["created_at"] < as_of].copy()
    o["buy"] = o["paid_at"].notna() & (o["refund_amount"] < o["amount"])
    o["day"] = (o["created_at"].dt.normalize() - pd.Timestamp("1970-01-01")).dt.days
    o["rev"] = np.where(o["buy"], o["amount"] - o["refund_amount"], 0.0)
    day_end = (as_of - pd.Timestamp("1970-01-01")).days
    buys = o[o["buy"]]
    g = o.groupby("customer_id")
    exp = pd.DataFrame({
        "days_since_last": day_end - buys.groupby("customer_id")["day"].max(),
        "days_since_first": day_end - buys.groupby("customer_id")["day"].min(),
        "purchase_days": buys.groupby("customer_id")["day"].nunique(),
        "purchases": g["buy"].sum(),
        "revenue": g["rev"].sum(),
        "purchases_90d": buys[buys["day"] >= day_end - 90].groupby("customer_id").size(),
        "refunded_orders": g["refund_amount"].apply(lambda x: (x > 0).sum()),
        "unpaid_orders": g["paid_at"].apply(lambda x: x.isna().sum()),
    })
    exp = exp[exp["purchases"] > 0].fillna({"purchases_90d": 0}).astype("float64")
    assert list(b.index) == sorted(exp.index)
    for col in exp.columns:
        np.testing.assert_allclose(b[col].to_numpy(), exp.loc[b.index, col].to_numpy(),
                                   rtol=1e-12, err_msg=col)
    np.testing.assert_allclose(b["avg_order_value"], b["revenue"] / b["purchases"])


def test_features_from_purchase_dates_held_in_the_engine():
    """rfm_features and repeat_purchases_by_day on purchase_dates cached by the caller give
    what they compute themselves; dates of another end are not used."""
    from crm_experiments.models.features import purchase_dates

    con = connect()
    t = con.from_pandas(_fixture_orders(seed=5, n=250))
    end = "2024-09-01"
    held = purchase_dates(t, end)
    held = type(held)(held.end, con.cache(held.frame))
    pd.testing.assert_frame_equal(rfm_features(t, "2024-06-01", end, unit="week", dates=held),
                                  rfm_features(t, "2024-06-01", end, unit="week"))
    pd.testing.assert_frame_equal(rfm_features(t, end, dates=held), rfm_features(t, end))
    pd.testing.assert_series_equal(
        repeat_purchases_by_day(t, "2024-03-01", end, "2024-06-01", dates=held),
        repeat_purchases_by_day(t, "2024-03-01", end, "2024-06-01"))
    # another end: computed, not taken from the held dates
    pd.testing.assert_frame_equal(rfm_features(t, "2024-06-01", dates=held),
                                  rfm_features(t, "2024-06-01"))
    con.release(held.frame)
