"""Engine features = lifetimes' summary_data_from_transaction_data (its definitions exactly)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import summary_data_from_transaction_data

from crm_experiments.models.features import behaviour_features, rfm_features

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


@pytest.mark.parametrize("unit, mult", [("day", 1), ("week", 7)])
def test_rfm_matches_lifetimes(unit, mult):
    import ibis

    df = _fixture_orders()
    cal_end = pd.Timestamp("2024-09-01")
    ours = rfm_features(ibis.memtable(df), cal_end, unit=unit)
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
    import ibis

    df = _fixture_orders(n=50)
    b = behaviour_features(ibis.memtable(df), "2024-09-01")
    assert (b["days_since_last"] >= 1).all()
    assert (b["days_since_first"] >= b["days_since_last"]).all()
    assert (b["purchases"] >= b["purchase_days"]).all()
