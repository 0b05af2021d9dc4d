"""The engine metrics against an independent plain-pandas reading of their definitions.

A random shop (a few thousand orders with unpaid orders, partial and full refunds, same-day
repeats, unshipped orders, reviews, contacts and a holdout) is evaluated twice: by the engine
expressions on DuckDB and by the pandas code below, written from the definitions in the
module docstrings and domain.md, not from the engine code.
"""

import numpy as np
import pandas as pd
import pytest

from crm_experiments.metrics.cohorts import repurchase_counts
from crm_experiments.metrics.kpis import sale_kpis
from crm_experiments.metrics.reactivation import reactivation_counts
from crm_experiments.metrics.satisfaction import satisfaction_sums
from crm_experiments.metrics.stickiness import stickiness

SALE = (pd.Timestamp("2025-11-01"), pd.Timestamp("2025-11-12"))
COMPARISON = (pd.Timestamp("2025-10-07"), pd.Timestamp("2025-10-18"))
AS_OF = pd.Timestamp("2026-02-20")


def _shop(seed=11, n_customers=600, n_orders=4000):
    rng = np.random.default_rng(seed)
    t0, t1 = pd.Timestamp("2023-11-01"), pd.Timestamp("2026-02-20")
    minutes = rng.integers(0, int((t1 - t0).total_seconds() // 60), n_orders)
    created = t0 + pd.to_timedelta(minutes, unit="min")
    # pile some orders into the sale and make same-day repeats
    in_sale = rng.uniform(size=n_orders) < 0.15
    created = created.where(~in_sale, SALE[0] + pd.to_timedelta(
        rng.integers(0, 11 * 24 * 60, n_orders), unit="min"))
    cust = rng.integers(0, n_customers, n_orders)
    dup = rng.uniform(size=n_orders) < 0.05
    created = pd.Series(created)
    cust = pd.Series(cust)
    cust[dup] = cust.shift(1).fillna(0).astype(int)[dup]
    created[dup] = created.shift(1).fillna(t0)[dup] + pd.Timedelta(hours=2)
    # customers first seen in the sale or in the comparison weeks, with later orders
    extra_c, extra_t = [], []
    for k, (s, e) in enumerate((SALE, COMPARISON)):
        for j in range(150):
            first = s + pd.Timedelta(minutes=int(rng.integers(0, (e - s).total_seconds() // 60)))
            later = first + pd.to_timedelta(rng.uniform(0, 120, rng.poisson(0.8)), unit="D")
            extra_c += [n_customers + 1000 * k + j] * (1 + len(later))
            extra_t += [first, *later.floor("min")]
    cust = pd.concat([cust, pd.Series(extra_c)], ignore_index=True)
    created = pd.concat([created, pd.Series(pd.to_datetime(extra_t))], ignore_index=True)
    n_orders = len(cust)
    paid = rng.uniform(size=n_orders) > 0.1
    amount = np.round(rng.lognormal(np.log(150), 0.6, n_orders), 2)
    refund_kind = rng.choice(3, n_orders, p=[0.85, 0.07, 0.08])
    refund = np.where(refund_kind == 1, amount, np.where(refund_kind == 2,
                                                         np.round(amount * 0.4, 2), 0.0))
    paid_at = created + pd.to_timedelta(rng.exponential(40, n_orders), unit="min").round("s")
    paid_at = paid_at.where(paid)
    ship = paid_at + pd.to_timedelta(rng.lognormal(np.log(16), 0.8, n_orders), unit="h")
    ship = ship.dt.floor("s").where(rng.uniform(size=n_orders) > 0.1)
    orders = pd.DataFrame({
        "order_id": [f"O{i:05d}" for i in range(n_orders)],
        "customer_id": [f"C{c:04d}" for c in cust],
        "created_at": created.to_numpy(), "paid_at": paid_at.to_numpy(),
        "amount": amount, "discount": np.round(rng.uniform(0, 20, n_orders), 2),
        "refund_amount": np.where(paid, refund, 0.0), "shipped_at": ship.to_numpy()})
    reviewed = orders[orders.paid_at.notna()].sample(frac=0.5, random_state=seed)
    m = len(reviewed)
    reviews = pd.DataFrame({
        "order_id": reviewed.order_id.to_numpy(), "customer_id": reviewed.customer_id.to_numpy(),
        "created_at": (reviewed.paid_at + pd.Timedelta(days=3)).to_numpy(),
        "polarity": rng.choice(["positive", "neutral", "negative"], m, p=[0.8, 0.12, 0.08]),
        "dsr_item": rng.integers(1, 6, m).astype(float),
        "dsr_service": rng.integers(1, 6, m).astype(float),
        "dsr_logistics": np.where(rng.uniform(size=m) < 0.1, np.nan,
                                  rng.integers(1, 6, m)).astype(float)})
    ids = [f"C{c:04d}" for c in range(n_customers)]
    arm = rng.choice(["coupon", "control"], n_customers, p=[0.8, 0.2])
    assignments = pd.DataFrame({"customer_id": ids, "campaign_id": "c1", "arm": arm,
                                "assigned_at": pd.Timestamp("2025-10-20")})
    treated = [i for i, a in zip(ids, arm, strict=True) if a == "coupon"]
    reached = rng.choice(treated, int(0.7 * len(treated)), replace=False)
    contacts = pd.DataFrame({"customer_id": reached, "campaign_id": "c1", "channel": "sms",
                             "sent_at": pd.Timestamp("2025-10-25 10:00")
                             + pd.to_timedelta(rng.integers(0, 14 * 24, len(reached)),
                                               unit="h"),
                             "cost": 0.05})
    return orders, reviews, assignments, contacts


@pytest.fixture(scope="module")
def shop():
    return _shop()


@pytest.fixture
def engine(con, shop):
    return tuple(con.from_pandas(frame) for frame in shop)


# --- the pandas reading -------------------------------------------------------------------
def _purchases(o):
    return o[o.paid_at.notna() & (o.refund_amount < o.amount)]


def _net(o):
    return o.amount - o.refund_amount


def pd_kpis(o, start, end):
    w = o[(o.created_at >= start) & (o.created_at < end)]
    paid = w[w.paid_at.notna()]
    pw = _purchases(w)
    firsts = _purchases(o).groupby("customer_id").created_at.min()
    buyers = pw.customer_id.unique()
    new = [c for c in buyers if firsts[c] >= start]
    rev = pw.assign(r=_net(pw)).groupby("customer_id").r.sum()
    return {
        "orders": len(w), "paid_orders": len(paid), "paid_rate": len(paid) / len(w),
        "gmv": paid.amount.sum(), "net_revenue": _net(paid).sum(),
        "aov": paid.amount.sum() / len(paid),
        "refund_rate": (paid.refund_amount > 0).mean(), "refund_amount": paid.refund_amount.sum(),
        "shipped_same_day_rate": (paid.shipped_at.dt.date == paid.paid_at.dt.date).mean(),
        "not_shipped_rate": paid.shipped_at.isna().mean(),
        "buyers": len(buyers), "new_buyers": len(new), "returning_buyers": len(buyers) - len(new),
        "returning_revenue_share": rev.drop(new).sum() / rev.sum(),
    }


def pd_stickiness(o, start, end, n_days):
    p = _purchases(o)
    w = p[(p.created_at >= start) & (p.created_at < end)]
    per = w.assign(r=_net(w)).groupby("customer_id").agg(n=("r", "size"), r=("r", "sum"))
    later = p[(p.created_at >= end) & (p.created_at < end + pd.Timedelta(days=n_days))]
    kept = per.index.isin(later.customer_id)
    return {"buyers": len(per), "repeat_buyers": int((per.n >= 2).sum()),
            "repeat_purchase_rate": (per.n >= 2).mean(), "arpu": per.r.mean(),
            "retained": int(kept.sum()), "retention_rate": kept.mean()}


def pd_lifecycle(o, d, months=3):
    p = _purchases(o)
    p = p[p.created_at < d]
    p1, p2, p4 = (d - pd.DateOffset(months=months * k) for k in (1, 2, 4))
    out = {}
    for c, g in p.groupby("customer_id"):
        first, last = g.created_at.min(), g.created_at.max()
        n = (g.created_at >= p1).sum()
        if last >= p1:
            out[c] = ("new" if first >= p1 else "old") + ("_repeat" if n >= 2 else "_one")
        elif last >= p2:
            out[c] = "silent"
        elif last >= p4:
            out[c] = "sleeping"
        else:
            out[c] = "lost"
    return pd.Series(out)


# --- the comparisons ----------------------------------------------------------------------
@pytest.mark.parametrize("window", [SALE, (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-07-01"))])
def test_sale_kpis_parity(shop, engine, window):
    got, want = sale_kpis(engine[0], *window), pd_kpis(shop[0], *window)
    assert want["orders"] > 100 and 0 < want["refund_rate"] < 1
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9), k


@pytest.mark.parametrize("n_days", [30, 90])
def test_stickiness_parity(shop, engine, n_days):
    start, end = pd.Timestamp("2025-05-01"), pd.Timestamp("2025-08-01")
    got = stickiness(engine[0], start, end, retention_days=n_days, as_of=AS_OF).loc["all"]
    want = pd_stickiness(shop[0], start, end, n_days)
    assert want["repeat_buyers"] > 10 and want["retained"] > 10
    for k, v in want.items():
        assert float(got[k]) == pytest.approx(v, rel=1e-9), k


def test_satisfaction_parity(shop, engine):
    o, rv = shop[0], shop[1]
    start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-01")
    got = satisfaction_sums({"orders": engine[0], "reviews": engine[1]}, start, end)
    got = got.set_index("metric")
    got["value"] = got.k.fillna(got["sum"]) / got.n  # k / n of a share, sum / n of a mean
    w = rv[(rv.created_at >= start) & (rv.created_at < end)]
    paid = o[o.paid_at.notna() & (o.created_at >= start) & (o.created_at < end)]
    want = {"refund_rate": ((paid.refund_amount > 0).mean(), len(paid)),
            "positive_rate": ((w.polarity == "positive").mean(), len(w)),
            "negative_rate": ((w.polarity == "negative").mean(), len(w))}
    for dim in ("item", "service", "logistics"):
        col = w[f"dsr_{dim}"].dropna()
        want[f"dsr_{dim}"] = (col.mean(), len(col))
    for metric, (value, n) in want.items():
        assert got.loc[metric, "value"] == pytest.approx(value, rel=1e-9), metric
        assert got.loc[metric, "n"] == n, metric


def test_cohorts_parity(shop, engine):
    o = shop[0]
    got = repurchase_counts(engine[0], SALE, COMPARISON, as_of=AS_OF).set_index(
        ["cohort", "horizon_days"])
    p = _purchases(o).sort_values(["customer_id", "created_at"])
    first = p.groupby("customer_id").created_at.min()
    for name, (s, e) in {"sale": SALE, "ordinary": COMPARISON}.items():
        members = first[(first >= s) & (first < e)]
        for n in (30, 60, 90):
            horizon = pd.Timedelta(days=n)
            eligible = members[members + horizon <= AS_OF]
            rep = 0
            for c, f in eligible.items():
                times = p.loc[p.customer_id == c, "created_at"]
                rep += int((times < f + horizon).sum() >= 2)
            row = got.loc[(name, n)]
            assert (row.acquired, row.eligible, row.repurchased) == (
                len(members), len(eligible), rep), (name, n)
    assert got.loc[("sale", 90), "eligible"] > 20


def test_reactivation_parity(shop, engine):
    o, _, assignments, contacts = shop
    got = reactivation_counts(engine[0], engine[3], *SALE, assignments=engine[2],
                              campaign_id="c1")
    states = pd_lifecycle(o, SALE[0])
    p = _purchases(o)
    bought = set(p[(p.created_at >= SALE[0]) & (p.created_at < SALE[1])].customer_id)
    reached = set(contacts[contacts.sent_at < SALE[1]].customer_id)
    holdout = set(assignments[assignments.arm == "control"].customer_id)
    for state in ("sleeping", "lost"):
        in_state = set(states[states == state].index)
        groups = {"contacted": (in_state & reached) - holdout, "holdout": in_state & holdout}
        for g, members in groups.items():
            row = got.loc[(g, state)]
            assert (row.customers, row.bought) == (len(members), len(members & bought)), (g,
                                                                                          state)
    assert got.loc[("contacted", "sleeping"), "bought"] > 0
