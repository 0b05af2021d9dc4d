"""Campaign lists leave out the shop-wide holdout (``crm-exp lists --holdout``)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from crm_experiments.cli import main
from crm_experiments.io.exports.pseudonymise import KEY_ENV, Pseudonymiser
from crm_experiments.io.holdout import holdout_members, holdout_position
from crm_experiments.params import load_params
from tests.conftest import write_params

KEY = "holdout-test-key-0123456789abcdef"
NICKS = [f"buyer_{i:03d}" for i in range(200)]


def test_lists_drop_the_members_of_every_arm_and_say_how_many(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(KEY_ENV, KEY)
    key = Pseudonymiser(KEY.encode())
    data = tmp_path / "data"
    data.mkdir()
    ids = {n: key.customer_id("taobao", n) for n in NICKS}
    pd.DataFrame({"customer_id": list(ids.values()),
                  "first_order_at": pd.Timestamp("2025-01-01")}).to_parquet(
        data / "customers.parquet", index=False)
    params = write_params(tmp_path / "p.yaml", data, shop_holdout={
        "share": 0.3, "salt": "lists", "start": "2025-10-01", "end": "2025-12-31"})
    h = load_params(params).shop_holdout
    control, treat = tmp_path / "control.csv", tmp_path / "treat.csv"
    control.write_text("买家会员名\n" + "\n".join(NICKS[:50]) + "\n", encoding="utf-8")
    treat.write_text("买家会员名,发送时间,渠道,费用\n" + "\n".join(
        f"{n},2025-10-22 10:00,sms,0.05" for n in NICKS[50:]) + "\n", encoding="utf-8")
    assert main(["lists", "--source", "taobao", "--data", str(data), "--campaign-id", "c1",
                 "--arm", f"control={control}", "--arm", f"coupon={treat}",
                 "--holdout", str(params)]) == 0
    out = capsys.readouterr().out
    member = dict(zip(NICKS, holdout_members(h, [ids[n] for n in NICKS]), strict=True))
    n_ctl = sum(member[n] for n in NICKS[:50])
    n_trt = sum(member[n] for n in NICKS[50:])
    assert n_ctl > 0 and n_trt > 0
    assert f"{n_ctl + n_trt:,} customers of the lists excluded (control {n_ctl}, coupon " \
           f"{n_trt})" in out
    a = pd.read_csv(data / "assignments.csv")
    c = pd.read_csv(data / "contacts.csv")
    kept = {ids[n] for n in NICKS if not member[n]}
    assert set(a.customer_id) == kept
    assert not holdout_members(h, c.customer_id).any()
    assert len(c) == len(NICKS) - 50 - n_trt


def test_lists_holdout_needs_the_section(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(KEY_ENV, KEY)
    data = tmp_path / "data"
    data.mkdir()
    params = write_params(tmp_path / "p.yaml", data, shop_holdout=None)
    lst = tmp_path / "c.csv"
    lst.write_text("买家会员名\nx\n", encoding="utf-8")
    assert main(["lists", "--source", "taobao", "--data", str(data), "--campaign-id", "c1",
                 "--arm", f"control={lst}", "--holdout", str(params)]) == 2
    assert "shop_holdout" in capsys.readouterr().err


def _hashlib_position(salt: str, ids) -> np.ndarray:
    """The module docstring's rule with hashlib, id by id: the independent computation."""
    out = []
    for c in ids:
        digest = hashlib.sha256((salt + "\x1f" + str(c)).encode("utf-8")).digest()
        out.append(int.from_bytes(digest[:8], "big") / 2**64)
    return np.array(out)


def test_positions_are_the_sha256_rule_in_order_on_many_ids():
    # more rows than one DuckDB row group (122,880): scanned in parallel, kept in order
    ids = [f"C{i:08d}" for i in range(300_000)] + ["", "买家_é", "a\x1fb", " x "]
    got = holdout_position("model-sample:7", pd.Index(ids, dtype="str"))
    assert np.array_equal(got, _hashlib_position("model-sample:7", ids))
    # any iterable, and values that are not text, as str(value)
    odd = [12, 3.5, None, "C1"]
    assert np.array_equal(holdout_position("s", iter(odd)), _hashlib_position("s", odd))
    assert holdout_position("s", []).shape == (0,)
