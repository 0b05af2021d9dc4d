"""Participants vs non-participants: hand-built features, and a confounded simulation."""

import math

import numpy as np
import pandas as pd
import pytest

from crm_experiments.metrics.interactions import (
    compare_participants,
    interaction_comparison,
    participation_table,
)
from tests.metrics.conftest import orders_frame

START, END = pd.Timestamp("2025-11-01"), pd.Timestamp("2025-11-12")

# customer, created_at, paid?, amount, refund, discount
ROWS = [
    ("A", "2025-06-01 00:00", True, 50, 0, 0),
    ("A", "2025-10-22 00:00", True, 100, 0, 0),   # recency exactly 10 days
    ("A", "2025-11-05 12:00", True, 80, 20, 0),   # outcome: converted, revenue 60
    ("B", "2024-10-31 12:00", True, 70, 0, 0),    # before the 365-day lookback: no history
    ("C", "2024-11-01 00:00", True, 40, 0, 0),    # lookback start (inclusive): recency 365
    ("C", "2025-11-11 23:59", True, 30, 0, 0),    # last minute of the window: converted
    ("D", "2025-11-12 00:00", True, 90, 0, 0),    # new customer, buys after the window
    ("F", "2025-10-01 12:00", False, 90, 0, 0),   # unpaid only: not in the population
]
INTERACTIONS = [  # customer, at, kind
    ("A", "2025-11-02 09:00", "sign_in"),
    ("C", "2025-10-31 23:59", "sign_in"),   # before the window: not a participant
    ("C", "2025-11-03 09:00", "lottery"),   # another kind
    ("D", "2025-11-11 09:00", "sign_in"),   # new customer taking part
    ("E", "2025-11-03 09:00", "visit"),     # no purchase, no sign-in: not in the population
]


def _interactions(rows):
    return pd.DataFrame({"customer_id": [r[0] for r in rows],
                         "at": pd.to_datetime([r[1] for r in rows]),
                         "kind": [r[2] for r in rows], "value": 1.0})


def test_participation_table_hand_derived(con):
    orders = con.create_table("int_orders", orders_frame(ROWS))
    inter = con.create_table("int_inter", _interactions(INTERACTIONS))
    # without a customers table the population is the buyers before START: A, B, C
    # (D, a first-time buyer who signed in, is outside it)
    t = participation_table(orders, inter, "sign_in", START, END).to_pandas()
    assert sorted(t["customer_id"]) == ["A", "B", "C"]
    # with the member list D and E (no purchase at all) join as customers without history
    members = con.create_table("int_members", pd.DataFrame({"customer_id": list("ABCDE")}))
    t = participation_table(orders, inter, "sign_in", START, END, customers=members).to_pandas()
    t = t.set_index("customer_id").sort_index()
    assert list(t.index) == ["A", "B", "C", "D", "E"]
    assert t["participant"].to_dict() == {"A": 1, "B": 0, "C": 0, "D": 1, "E": 0}
    assert t.loc["E"].drop("participant").tolist() == [365.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert t.loc["A", ["recency_days", "frequency", "no_history"]].tolist() == [10.0, 2.0, 0.0]
    assert t.loc["A", "log_monetary"] == pytest.approx(math.log1p(150))
    assert t.loc["B"].drop("participant").tolist() == [365.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert t.loc["C", ["recency_days", "frequency", "no_history"]].tolist() == [365.0, 1.0, 0.0]
    assert t.loc["C", "log_monetary"] == pytest.approx(math.log1p(40))
    assert t["converted"].to_dict() == {"A": 1.0, "B": 0.0, "C": 1.0, "D": 0.0, "E": 0.0}
    assert t["revenue"].to_dict() == {"A": 60.0, "B": 0.0, "C": 30.0, "D": 0.0, "E": 0.0}
    # a later outcome window: D's purchase on 11-12 counts, A's and C's do not
    later = participation_table(orders, inter, "sign_in", START, END,
                                outcome_window=(END, "2025-12-01"),
                                customers=members).to_pandas()
    assert later.set_index("customer_id")["revenue"].to_dict() == {
        "A": 0.0, "B": 0.0, "C": 0.0, "D": 90.0, "E": 0.0}
    with pytest.raises(ValueError, match="unknown interaction kind"):
        participation_table(orders, inter, "dance", START, END)


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


def test_adjusted_difference_recovers_the_confounded_truth(con):
    orders, inter, members, tau = _simulate()
    r = interaction_comparison(con.create_table("sim_orders", orders),
                               con.create_table("sim_inter", inter), "sign_in", START, END,
                               customers=con.create_table("sim_members", members))
    assert r.label == "observational" and r.causal is False and "Observational" in r.warning
    raw, adj = r.effects.loc[("converted", "raw")], r.effects.loc[("converted", "ipw_att")]
    # raw: participants are heavier buyers, so the raw difference overstates the effect
    assert raw.estimate == pytest.approx(raw.mean_participants - raw.mean_non_participants)
    assert raw.ci_low > tau + 0.03
    # adjusted: the truth is inside the interval
    assert adj.ci_low < tau < adj.ci_high
    assert abs(adj.estimate - tau) < abs(raw.estimate - tau) / 3
    rev = r.effects.loc[("revenue", "ipw_att")]       # each extra buyer brings 100
    assert rev.ci_low < 100 * tau < rev.ci_high
    # balance: large SMDs before, small after
    assert (r.balance["smd_before"].abs() > 0.2).sum() >= 2
    assert (r.balance["smd_after"].abs() < 0.1).all()
    assert r.n_participants + r.n_non_participants == 20_000
    assert r.n_participants == len(inter) and r.participants_outside_population == 0
    frame = r.to_frame()
    assert set(frame["label"]) == {"observational"} and not frame["causal"].any()


def test_too_few_participants_is_an_error():
    frame = pd.DataFrame({"participant": [1, 0, 0], "recency_days": [1.0, 2, 3],
                          "frequency": [1.0, 2, 3], "log_monetary": [1.0, 2, 3],
                          "no_history": [0.0, 0, 0], "converted": [1.0, 0, 0],
                          "revenue": [1.0, 0, 0]})
    with pytest.raises(ValueError, match="at least 2"):
        compare_participants(frame)
