"""``crm-exp uplift`` on any per-customer table."""

from __future__ import annotations

import json

import pytest

from crm_experiments.cli import main
from tests.uplift.test_units import synthetic


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "customers.csv"
    df = synthetic(4000, seed=5)
    df["profit"] += (df["arm"] != "ctl") * 1.0  # costs not yet inside the outcome
    df.to_csv(path, index=False)
    return path


def test_json_output(table, capsys):
    rc = main(["uplift", str(table), "--arm", "arm", "--control", "ctl", "--outcome", "profit",
               "--features", "segment,spend", "--cost-per-treated", "a=1",
               "--cost-per-treated", "b=1", "--test-size", "0.3", "--seed", "2",
               "--n-boot", "30", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["arms"] == ["a", "b"] and out["n_test"] == 1200
    effects = {e["arm"]: e for e in out["arm_effects"]}
    assert effects["a"]["profit_per_customer_low"] <= effects["a"]["profit_per_customer_high"]
    assert {r["arm"] for r in out["ranking"]} == {"a", "b"}
    assert {"learned policy", "no one", "everyone: a", "everyone: b"} <= {
        p["policy"] for p in out["policy_values"]}


@pytest.mark.parametrize(("args", "message"), [
    (["--control", "nobody"], "control arm 'nobody' not found"),
    (["--features", "segment,colour"], "feature column 'colour' not found"),
    (["--outcome", "segment"], "outcome column 'segment' is not numeric"),
    (["--cost-per-treated", "a=cheap"], "is not a number"),
])
def test_bad_input_is_a_clear_error(table, capsys, args, message):
    base = {"--arm": "arm", "--control": "ctl", "--outcome": "profit",
            "--features": "segment,spend"}
    argv = ["uplift", str(table)]
    for k, v in base.items():
        if k not in args:
            argv += [k, v]
    rc = main(argv + args + ["--n-boot", "20", "--json"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err


def test_missing_file(tmp_path, capsys):
    rc = main(["uplift", str(tmp_path / "none.csv"), "--arm", "a", "--control", "c",
               "--outcome", "y", "--features", "x"])
    assert rc == 2 and "no such file" in capsys.readouterr().err
