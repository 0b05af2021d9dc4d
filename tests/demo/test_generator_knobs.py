"""The demo generator's knobs (order volume, effects, arms) and its payment reminders."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crm_experiments.demo.generator import (
    LIFT,
    METRICS,
    P_LATE,
    P_LATE_REMINDED,
    STATES,
    generate_shop,
    lift_table,
)
from crm_experiments.params import CampaignParams, load_params

N = 2500
NO_LIFT = {s: (0.0, 0.0, 0.0) for s in STATES}


@pytest.fixture(scope="module")
def params():
    return load_params("params/demo.yaml")


@pytest.fixture(scope="module")
def four_arms(params):
    data = params.model_dump()
    data["arms"] = [
        {"name": "control", "planned_share": 0.25},
        {"name": "message_only", "planned_share": 0.25},
        {"name": "coupon_100_10", "planned_share": 0.25, "coupon_face_value": 10,
         "coupon_threshold": 100},
        {"name": "coupon_200_30", "planned_share": 0.25, "coupon_face_value": 30,
         "coupon_threshold": 200},
    ]
    return CampaignParams.model_validate(data)


def truth_of(path):
    return json.loads((path / "truth.json").read_text())


def overall(truth, arm, h=30):
    return truth["effects"][str(h)][arm]["overall"]


def read(path, name):
    return pd.read_parquet(path / f"{name}.parquet")


def test_purchase_rate_scale_multiplies_repeat_orders(tmp_path, params):
    one = generate_shop(tmp_path / "one", params, n_customers=N, seed=4)
    three = generate_shop(tmp_path / "three", params, n_customers=N, seed=4,
                          purchase_rate_scale=3.0)
    rows1, rows3 = truth_of(one)["data"]["rows"], truth_of(three)["data"]["rows"]
    # the first order of every customer does not scale, the later ones do
    ratio = (rows3["orders"] - N) / (rows1["orders"] - N)
    assert 2.6 < ratio < 3.4, ratio
    assert rows3["customers"] == rows1["customers"] == N
    assert rows3["interactions"] == rows1["interactions"]   # engagement does not scale
    t3 = truth_of(three)
    assert t3["multipliers"]["purchase_rate_scale"] == 3.0
    te = pd.read_parquet(three / "true_effects.parquet")
    for arm in params.treatment_arms:
        assert np.isclose(te[f"net_profit_{arm}_30d"].mean(), overall(t3, arm)["net_profit"])
    with pytest.raises(ValueError, match="purchase_rate_scale"):
        generate_shop(tmp_path / "bad", params, n_customers=N, purchase_rate_scale=0)


def test_scaled_shop_realised_differences_agree_with_truth(tmp_path, params):
    path = generate_shop(tmp_path / "s", params, n_customers=8000, seed=21,
                         purchase_rate_scale=3.0)
    truth = truth_of(path)
    orders, a = read(path, "orders"), read(path, "assignments")
    contacts = read(path, "contacts")
    m = params.costs.gross_margin
    for h in params.horizons:
        p = orders[orders.paid_at.notna() & (orders.refund_amount < orders.amount)
                   & (orders.created_at >= params.sale_start)
                   & (orders.created_at < params.window_end(h))].copy()
        k = (p.amount - p.refund_amount) / p.amount
        p["revenue"] = p.amount - p.refund_amount
        p["gross_profit"] = k * (p.amount - (1 - m) * (p.amount + p.discount))
        per = p.groupby("customer_id").agg(orders=("revenue", "size"),
                                           revenue=("revenue", "sum"),
                                           gross_profit=("gross_profit", "sum"))
        x = a.set_index("customer_id").join(per).fillna(0)
        x["converted"] = (x.orders > 0).astype(float)
        cost = contacts.groupby("customer_id").cost.sum().reindex(x.index).fillna(0)
        x["net_profit"] = x.gross_profit - cost
        c = x[x.arm == params.control_arm]
        for arm in params.treatment_arms:
            t = x[x.arm == arm]
            for metric in METRICS:
                diff = t[metric].mean() - c[metric].mean()
                se = np.sqrt(t[metric].var() / len(t) + c[metric].var() / len(c))
                true = overall(truth, arm, h)[metric]
                assert abs(diff - true) < 4 * se, (h, arm, metric, diff, true, se)


def test_lift_override_and_scale(tmp_path, params):
    base = truth_of(generate_shop(tmp_path / "base", params, n_customers=N, seed=9))
    none = truth_of(generate_shop(tmp_path / "none", params, n_customers=N, seed=9,
                                  lift=NO_LIFT))
    sms = 4 * params.costs.message_cost["sms"]
    for arm in params.treatment_arms:
        assert set(none["multipliers"]["lift"][arm].values()) == {0.0}
        e, b = overall(none, arm), overall(base, arm)
        # without a lift only the payment reminders add (a few) purchases
        assert 0 <= e["orders"] < 0.01 and 0 <= e["converted"] < 0.005
        assert b["orders"] > 10 * e["orders"]
        # the coupon now mostly subsidises purchases that happen anyway (a few baskets are
        # pushed up to the threshold, a few orders recovered by the reminders)
        assert abs(e["revenue"]) < 0.1 * b["revenue"]
        assert e["gross_profit"] < 0 and e["net_profit"] < -sms
    assert none["multipliers"]["lift_parameters"]["silent"] == {
        "msg": 0.0, "coupon": 0.0, "elasticity": 0.0}
    assert base["multipliers"]["lift_parameters"]["silent"] == dict(
        zip(("msg", "coupon", "elasticity"), LIFT["silent"], strict=True))
    assert base["multipliers"]["lift_scale"] == {a: 1.0 for a in params.treatment_arms}

    # lift_scale 0 is the same campaign as a zero lift table
    zero = truth_of(generate_shop(tmp_path / "zero", params, n_customers=N, seed=9,
                                  lift_scale={a: 0.0 for a in params.treatment_arms}))
    assert zero["effects"] == none["effects"]

    # doubling one arm's lift doubles its lift table and raises its effect, not the other's
    arm, other = params.treatment_arms
    double = truth_of(generate_shop(tmp_path / "double", params, n_customers=N, seed=9,
                                    lift_scale={arm: 2.0}))
    for s in STATES:
        assert double["multipliers"]["lift"][arm][s] == pytest.approx(
            2 * base["multipliers"]["lift"][arm][s], abs=2e-6)
    assert double["multipliers"]["lift"][other] == base["multipliers"]["lift"][other]
    assert overall(double, arm)["orders"] > 1.5 * overall(base, arm)["orders"]
    assert overall(double, other) == overall(base, other)


def test_lift_partial_override_and_validation(params):
    table = lift_table(params, {"lost": {"coupon": 1.0}})
    msg, _, el = LIFT["lost"]
    assert table["coupon_100_10"]["lost"] == pytest.approx(msg + 1.0)
    assert table["coupon_200_30"]["lost"] == pytest.approx(msg + 3.0 ** el, abs=1e-6)
    assert table["coupon_100_10"]["silent"] == lift_table(params)["coupon_100_10"]["silent"]
    with pytest.raises(ValueError, match="unknown lifecycle state"):
        lift_table(params, {"dormant": (0, 0, 0)})
    with pytest.raises(ValueError, match="unknown keys"):
        lift_table(params, {"lost": {"coupn": 1.0}})
    with pytest.raises(ValueError, match=">= 0"):
        lift_table(params, {"lost": (-0.1, 0, 0)})
    with pytest.raises(ValueError, match="not a treated arm"):
        lift_table(params, lift_scale={"control": 2.0})


def test_four_arms_with_a_message_only_arm(tmp_path, four_arms):
    path = generate_shop(tmp_path / "four", four_arms, n_customers=4000, seed=5)
    a, coupons, contacts = (read(path, n) for n in ("assignments", "coupons", "contacts"))
    drawn = json.loads((path / "truth.json").read_text())["data"]["arm_sizes"]
    assert drawn == pytest.approx({n: sum(drawn.values()) / 4 for n in four_arms.arm_names},
                                  abs=1)  # the written arms lack the shop holdout's members
    assert set(coupons.arm) == {"coupon_100_10", "coupon_200_30"}
    assert set(coupons.customer_id) == set(a.customer_id[a.arm.str.startswith("coupon")])
    assert dict(zip(coupons.arm, coupons.face_value, strict=True)) == {
        "coupon_100_10": 10.0, "coupon_200_30": 30.0}
    sms = contacts[contacts.channel == "sms"]
    assert set(sms.customer_id) == set(a.customer_id[a.arm != "control"])
    assert sms.groupby("customer_id").size().eq(4).all()
    orders = read(path, "orders")
    msg_customers = set(a.customer_id[a.arm == "message_only"])
    assert (orders[orders.customer_id.isin(msg_customers)].discount == 0).all()
    truth = truth_of(path)
    assert set(truth["effects"]["30"]) == {"message_only", "coupon_100_10", "coupon_200_30"}
    lifts = truth["multipliers"]["lift"]
    assert lifts["message_only"] == {s: LIFT[s][0] for s in STATES}
    assert all(lifts["coupon_200_30"][s] > lifts["message_only"][s] for s in STATES)
    assert overall(truth, "coupon_200_30")["orders"] > overall(truth, "message_only")["orders"]
    assert overall(truth, "message_only")["orders"] > 0
    te = pd.read_parquet(path / "true_effects.parquet")
    assert {f"net_profit_{arm}_7d" for arm in four_arms.treatment_arms} <= set(te.columns)


def test_payment_reminders_recover_unpaid_orders(tmp_path, params):
    path = generate_shop(tmp_path / "r", params, n_customers=20_000, seed=8)
    orders, contacts = read(path, "orders"), read(path, "contacts")
    a = read(path, "assignments").set_index("customer_id").arm
    ww = contacts[contacts.channel == "wangwang"]
    sale = orders[(orders.created_at >= params.sale_start)
                  & (orders.created_at < params.sale_end)].copy()
    wait = pd.Timedelta(minutes=30)
    sale = sale[sale.paid_at.isna() | (sale.paid_at > sale.created_at + wait)]
    sale["arm"] = a.reindex(sale.customer_id).to_numpy()
    treated = sale.arm.notna() & (sale.arm != params.control_arm)
    # every order of a treated customer unpaid at 30 minutes gets its reminder then
    sent = set(zip(ww.customer_id, ww.sent_at, strict=True))
    assert all((c, t + wait) in sent
               for c, t in zip(sale.customer_id[treated], sale.created_at[treated], strict=True))
    late = sale.paid_at.notna() & (sale.paid_at <= sale.created_at + pd.Timedelta(hours=24))
    rate_reminded = late[treated].mean()
    rate_control = late[sale.arm == params.control_arm].mean()
    assert rate_reminded > rate_control + 0.05, (rate_reminded, rate_control)
    assert P_LATE_REMINDED - 0.08 < rate_reminded < P_LATE_REMINDED + 0.12
    assert rate_control < P_LATE + 0.10   # about 40 orders: P_LATE within sampling noise
    assert (orders.paid_at - orders.created_at).max() < pd.Timedelta(hours=24)

    # the metric: reminded unpaid orders recover more often than unreminded ones
    from crm_experiments.analyses.descriptive import reminder_recovery
    from crm_experiments.io import engine
    from crm_experiments.io.reader import load_shop

    shop = load_shop(path, params=params, con=engine.connect())
    rec = reminder_recovery(shop["orders"], shop["contacts"], params.sale_start,
                            params.sale_end)
    g = rec.groups
    assert g.loc["reminded", "orders"] > 100
    assert g.loc["reminded", "recovery_rate"] > g.loc["not_reminded", "recovery_rate"] + 0.05
    assert rec.difference["estimate"] > 0


def test_reminders_are_part_of_the_truth(tmp_path, params):
    # no lift on purchases: what is left of the treatment on orders is the reminders' recovery
    path = generate_shop(tmp_path / "rt", params, n_customers=6000, seed=2, lift=NO_LIFT)
    truth = truth_of(path)
    for arm in params.treatment_arms:
        assert overall(truth, arm)["orders"] > 0
    te = pd.read_parquet(path / "true_effects.parquet")
    assert (te[f"converted_{params.treatment_arms[0]}_30d"] >= 0).all()


def test_knobs_are_deterministic(tmp_path, four_arms):
    kw = {"n_customers": 600, "seed": 3, "purchase_rate_scale": 2.0,
          "lift": {"silent": (0.1, 0.5, 1.0)}, "lift_scale": {"coupon_200_30": 1.5}}
    one = generate_shop(tmp_path / "one", four_arms, **kw)
    two = generate_shop(tmp_path / "two", four_arms, **kw)
    for name in ("orders", "contacts", "coupons", "assignments", "customers"):
        assert (one / f"{name}.parquet").read_bytes() == (two / f"{name}.parquet").read_bytes()
    assert truth_of(one) == truth_of(two)
