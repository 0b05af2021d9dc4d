"""The demo shop generator: contract, determinism, plausibility and its truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from crm_experiments.demo.generator import METRICS, STATES, TIERS, generate_shop
from crm_experiments.io.holdout import holdout_members
from crm_experiments.io.schema import TABLES
from crm_experiments.params import load_params

N = 3000


@pytest.fixture(scope="module")
def params():
    return load_params("params/demo.yaml")


@pytest.fixture(scope="module")
def shop(tmp_path_factory, params):
    return generate_shop(tmp_path_factory.mktemp("shop") / "demo", params, n_customers=N, seed=7)


def read(path, name):
    return pd.read_parquet(path / f"{name}.parquet")


def test_tables_have_exactly_the_contract_columns(shop):
    for name, schema in TABLES.items():
        frame = read(shop, name)
        assert list(frame.columns) == [c.name for c in schema.columns], name
        assert len(frame) > 0, name
        for col in schema.columns:
            s = frame[col.name]
            if col.kind == "timestamp":
                assert pd.api.types.is_datetime64_any_dtype(s), (name, col.name)
                assert getattr(s.dt, "tz", None) is None, (name, col.name)
            elif col.kind == "number":
                assert s.dtype == np.float64, (name, col.name)
            else:
                assert pd.api.types.is_string_dtype(s), (name, col.name)
    assert {p.name for p in shop.iterdir()} >= {"truth.json", "true_effects.parquet"}


def test_ids_unique_and_orders_consistent(shop):
    orders, customers = read(shop, "orders"), read(shop, "customers")
    coupons = read(shop, "coupons")
    assert orders.order_id.is_unique and customers.customer_id.is_unique
    assert coupons.coupon_id.is_unique
    assert customers.customer_id.str.match(r"^C\d{7}$").all()
    assert set(orders.customer_id) <= set(customers.customer_id)
    paid = orders.paid_at.notna()
    assert (orders.paid_at[paid] >= orders.created_at[paid]).all()
    assert (orders.amount >= 0).all() and (orders.discount >= 0).all()
    assert (orders.refund_amount >= 0).all() and (orders.refund_amount <= orders.amount).all()
    assert orders.shipped_at[~paid].isna().all()
    shipped = orders.shipped_at.notna()
    assert (orders.shipped_at[shipped] >= orders.paid_at[shipped]).all()
    assert np.allclose(orders.amount, orders.amount.round(2))
    assert 0.03 < (~paid).mean() < 0.09
    assert 0.03 < (orders.refund_amount > 0).mean() < 0.12
    assert 120 < orders.amount.mean() < 260
    # a redeemed coupon appears on exactly its order, with the arm's face value as discount
    used = coupons.dropna(subset=["redeemed_order_id"])
    assert len(used) > 0
    merged = used.merge(orders, left_on="redeemed_order_id", right_on="order_id")
    assert (merged.coupon_id_x == merged.coupon_id_y).all()
    assert (merged.discount == merged.face_value).all()
    assert (merged.amount + merged.discount >= merged.threshold).all()
    assert orders.coupon_id.notna().sum() == len(used)
    # first_order_at is the first paid order
    first = orders[paid].groupby("customer_id").created_at.min()
    c = customers.set_index("customer_id")
    assert (c.first_order_at.reindex(first.index) == first).all()
    assert set(customers.tier) <= set(TIERS)


def test_assignment_and_contacts(shop, params):
    a, contacts = read(shop, "assignments"), read(shop, "contacts")
    assert a.customer_id.is_unique
    assert set(a.arm) == set(params.arm_names)
    shares = a.arm.value_counts(normalize=True)
    drawn = json.loads((shop / "truth.json").read_text())["data"]["arm_sizes"]
    for arm in params.arms:  # exact over the drawn customers; the written ones lack the
        # members of the shop-wide holdout, a random ~5% of each arm
        assert abs(drawn[arm.name] / sum(drawn.values()) - arm.planned_share) < 1e-3
        assert abs(shares[arm.name] - arm.planned_share) < 0.01
    control = set(a.customer_id[a.arm == params.control_arm])
    assert not control & set(contacts.customer_id)
    sms = contacts[contacts.channel == "sms"]
    assert sms.groupby("customer_id").size().eq(4).all()
    assert set(sms.customer_id) == set(a.customer_id[a.arm != params.control_arm])
    # every assigned customer bought before the assignment date; nobody acquired later is in
    orders = read(shop, "orders")
    assigned_at = a.assigned_at.iloc[0]
    early = orders[orders.paid_at.notna() & (orders.created_at < assigned_at)].customer_id
    # ... except the members of the shop-wide holdout, whom no campaign assigns
    members = set(early[holdout_members(params.shop_holdout, early)])
    assert members and not members & set(contacts.customer_id)
    assert set(a.customer_id) == set(early) - members


def test_same_seed_same_tables_other_seed_differs(tmp_path, params):
    one = generate_shop(tmp_path / "one", params, n_customers=800, seed=11)
    two = generate_shop(tmp_path / "two", params, n_customers=800, seed=11)
    three = generate_shop(tmp_path / "three", params, n_customers=800, seed=12)
    for name in TABLES:
        pd.testing.assert_frame_equal(read(one, name), read(two, name))
        assert (one / f"{name}.parquet").read_bytes() == (two / f"{name}.parquet").read_bytes()
    assert not read(one, "orders").equals(read(three, "orders"))
    assert json.loads((one / "truth.json").read_text()) == json.loads(
        (two / "truth.json").read_text())


def test_out_dir_replaced_and_csv(tmp_path, params):
    out = tmp_path / "shop"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    generate_shop(out, params, n_customers=300, seed=1, file_format="csv")
    assert not (out / "stale.txt").exists()
    orders = pd.read_csv(out / "orders.csv", parse_dates=["created_at", "paid_at"])
    assert pd.api.types.is_datetime64_any_dtype(orders.created_at)
    assert [p.name for p in tmp_path.iterdir()] == ["shop"]


def test_truth_is_complete(shop, params):
    truth = json.loads((shop / "truth.json").read_text())
    assert truth["n_customers"] == N and truth["seed"] == 7
    assert truth["lifecycle_state_at"] == str(params.sale.start)
    for h in params.horizons:
        effects = truth["effects"][str(h)]
        assert set(effects) == set(params.treatment_arms)
        assert params.control_arm not in effects
        for arm in params.treatment_arms:
            e = effects[arm]
            assert set(e["overall"]) == set(METRICS)
            assert set(e["by_lifecycle_state"]) == set(STATES)
            assert set(e["by_tier"]) == set(TIERS)
            assert e["overall"]["revenue"] > 0
        assert set(truth["control_means"][str(h)]) == set(METRICS)
    true_effects = pd.read_parquet(shop / "true_effects.parquet")
    assert len(true_effects) == truth["n_assigned"]
    for arm in params.treatment_arms:
        for h in params.horizons:
            col = f"net_profit_{arm}_{h}d"
            assert np.isclose(true_effects[col].mean(),
                              truth["effects"][str(h)][arm]["overall"]["net_profit"])


def test_lifecycle_mix_is_believable(shop):
    mix = json.loads((shop / "truth.json").read_text())["lifecycle_mix"]
    assert set(mix) == set(STATES) and all(v > 0 for v in mix.values())
    total = sum(mix.values())
    active = sum(mix[s] for s in STATES[:4]) / total
    assert 0.2 < active < 0.5
    orders = read(shop, "orders")
    p = orders[orders.paid_at.notna() & (orders.refund_amount < orders.amount)]
    w = p[(p.created_at >= "2025-08-01") & (p.created_at < "2025-11-01")]
    repeat = (w.groupby("customer_id").size() >= 2).mean()
    assert 0.2 <= repeat <= 0.45


def _realised(path, params, horizon):
    orders, a = read(path, "orders"), read(path, "assignments")
    contacts = read(path, "contacts")
    end = params.window_end(horizon)
    p = orders[orders.paid_at.notna() & (orders.refund_amount < orders.amount)
               & (orders.created_at >= params.sale_start) & (orders.created_at < end)].copy()
    m = params.costs.gross_margin
    k = (p.amount - p.refund_amount) / p.amount
    p["revenue"] = p.amount - p.refund_amount
    p["gross_profit"] = k * (p.amount - (1 - m) * (p.amount + p.discount))
    per = p.groupby("customer_id").agg(orders=("revenue", "size"), revenue=("revenue", "sum"),
                                       gross_profit=("gross_profit", "sum"))
    cost = contacts.groupby("customer_id").cost.sum()
    x = a.set_index("customer_id").join(per).fillna({"orders": 0, "revenue": 0,
                                                     "gross_profit": 0})
    x["converted"] = (x.orders > 0).astype(float)
    x["net_profit"] = x.gross_profit - cost.reindex(x.index).fillna(0)
    return x


def test_realised_differences_agree_with_truth(tmp_path, params):
    path = generate_shop(tmp_path / "big", params, n_customers=20_000, seed=3)
    truth = json.loads((path / "truth.json").read_text())
    for h in params.horizons:
        x = _realised(path, params, h)
        c = x[x.arm == params.control_arm]
        for arm in params.treatment_arms:
            t = x[x.arm == arm]
            for metric in METRICS:
                diff = t[metric].mean() - c[metric].mean()
                se = np.sqrt(t[metric].var() / len(t) + c[metric].var() / len(c))
                true = truth["effects"][str(h)][arm]["overall"][metric]
                assert abs(diff - true) < 4 * se, (h, arm, metric, diff, true, se)
    # realised control means equal the control potential outcomes on the control arm
    x = _realised(path, params, 30)
    te = pd.read_parquet(path / "true_effects.parquet").set_index("customer_id")
    # true effects cover every drawn customer; the written arms lack the shop holdout's members
    drawn = te.index.isin(x.index)
    assert (~drawn).any() and not holdout_members(params.shop_holdout, te.index[drawn]).any()
    te = te[drawn]
    assert (te.arm == x.arm.reindex(te.index)).all()


# --- streamed (chunked) generation -------------------------------------------------------------
@pytest.fixture(scope="module")
def chunked(tmp_path_factory, params):
    """The module's shop (3,000 customers, seed 7) streamed in chunks of 1,000."""
    return generate_shop(tmp_path_factory.mktemp("chunked") / "demo", params, n_customers=N,
                         seed=7, chunk_customers=1000)


def test_chunked_keeps_the_shop_level_draws_and_the_schema(shop, chunked):
    for name in [*TABLES, "true_effects"]:
        a, b = pq.read_table(chunked / f"{name}.parquet"), pq.read_table(shop / f"{name}.parquet")
        assert a.schema.equals(b.schema), name
    assert pq.ParquetFile(chunked / "orders.parquet").num_row_groups == 3  # one per chunk
    # customers, their assignment, the holdout and the coupon numbers are the in-memory ones
    same = ["customer_id", "first_order_at", "birthday", "gender", "province"]
    pd.testing.assert_frame_equal(read(chunked, "customers")[same], read(shop, "customers")[same])
    pd.testing.assert_frame_equal(read(chunked, "assignments"), read(shop, "assignments"))
    cols = ["coupon_id", "customer_id", "arm", "face_value", "threshold", "issued_at"]
    pd.testing.assert_frame_equal(read(chunked, "coupons")[cols], read(shop, "coupons")[cols])
    tc, tu = (json.loads((p / "truth.json").read_text()) for p in (chunked, shop))
    assert tc["n_assigned"] == tu["n_assigned"]
    for key in ("arm_sizes", "arm_sizes_written", "assigned_at"):
        assert tc["data"][key] == tu["data"][key], key
    for key in ("n_holdout", "n_exposed", "members_drawn_but_not_assigned"):
        assert tc["shop_holdout"][key] == tu["shop_holdout"][key], key
    assert tc["data"]["chunks"]["n_chunks"] == 3 and "chunks" not in tu["data"]
    # the orders are other draws of the same model: row counts agree within their randomness
    for name, rows in tu["data"]["rows"].items():
        assert abs(tc["data"]["rows"][name] - rows) <= 0.1 * rows + 3 * rows ** 0.5, name
    assert not read(chunked, "orders").created_at.equals(read(shop, "orders").created_at)


def test_chunked_ids_unique_and_truth_consistent_with_the_data(chunked, params):
    orders, coupons = read(chunked, "orders"), read(chunked, "coupons")
    assert orders.order_id.is_unique and orders.order_id.str.match(r"^O\d{8}$").all()
    assert set(orders.customer_id) <= set(read(chunked, "customers").customer_id)
    used = coupons.dropna(subset=["redeemed_order_id"])
    merged = used.merge(orders, left_on="redeemed_order_id", right_on="order_id")
    assert len(merged) == len(used) == orders.coupon_id.notna().sum()
    assert (merged.coupon_id_x == merged.coupon_id_y).all()
    truth = json.loads((chunked / "truth.json").read_text())
    for name, rows in truth["data"]["rows"].items():
        assert pq.ParquetFile(chunked / f"{name}.parquet").metadata.num_rows == rows, name
    te = pd.read_parquet(chunked / "true_effects.parquet")
    assert len(te) == truth["n_assigned"] and te.customer_id.is_unique
    assert sum(truth["group_sizes"]["by_lifecycle_state"].values()) == len(te)
    for arm in params.treatment_arms:  # shop means = sums over the chunks / shop counts
        for h in params.horizons:
            e = truth["effects"][str(h)][arm]
            col = f"net_profit_{arm}_{h}d"
            assert np.isclose(te[col].mean(), e["overall"]["net_profit"], rtol=1e-12)
            by_state = te.groupby("lifecycle_state")[col].mean()
            for state, value in by_state.items():
                assert np.isclose(value, e["by_lifecycle_state"][state]["net_profit"],
                                  rtol=1e-12), (arm, h, state)


def test_chunked_csv_with_a_chunk_nobody_assigned(tmp_path, params):
    # customers are in acquisition order: the last 10% were acquired after the assignment
    out = generate_shop(tmp_path / "s", params, n_customers=1000, seed=2, chunk_customers=100,
                        file_format="csv")
    truth = json.loads((out / "truth.json").read_text())
    assert truth["data"]["chunks"]["n_chunks"] == 10
    assert pq.ParquetFile(out / "true_effects.parquet").metadata.num_row_groups < 10
    for name, rows in truth["data"]["rows"].items():
        frame = pd.read_csv(out / f"{name}.csv")
        assert len(frame) == rows and list(frame.columns) == [
            c.name for c in TABLES[name].columns], name
    assert pd.read_csv(out / "orders.csv").order_id.is_unique


def test_in_memory_up_to_one_chunk(tmp_path, params):
    a = generate_shop(tmp_path / "a", params, n_customers=500, seed=4)
    b = generate_shop(tmp_path / "b", params, n_customers=500, seed=4, chunk_customers=500)
    for name in [*TABLES, "true_effects"]:
        assert (a / f"{name}.parquet").read_bytes() == (b / f"{name}.parquet").read_bytes()
    assert (a / "truth.json").read_text() == (b / "truth.json").read_text()
    with pytest.raises(ValueError, match="chunk_customers"):
        generate_shop(tmp_path / "c", params, n_customers=500, chunk_customers=5)


def test_one_definition_of_the_random_streams(params):
    """The shop-level and the per-chunk streams (what truth.json names) come from one function
    for the in-memory and the streamed path."""
    from crm_experiments.demo import generator

    n = generator.COMPONENT_STREAMS + len(params.arms)
    shop = generator._rngs(params, 11)
    chunk = generator._rngs(params, 11, 2)
    assert len(shop) == len(chunk) == n
    expect_shop = np.random.SeedSequence(11).spawn(n)[5]
    expect_chunk = np.random.SeedSequence(
        11, spawn_key=(generator.CHUNK_STREAM_KEY + 2,)).spawn(n)[5]
    assert shop[5].random() == np.random.default_rng(expect_shop).random()
    assert chunk[5].random() == np.random.default_rng(expect_chunk).random()
