import json

import numpy as np
import pandas as pd
import pytest

from crm_experiments.cli import main


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(9)
    n = 2000
    arm = rng.choice(["control", "coupon_a"], n, p=[0.3, 0.7])
    pre = rng.gamma(2, 50, n)
    orders = rng.poisson(np.where(arm == "control", 0.5, 0.6))
    df = pd.DataFrame({"arm": arm, "bought": (orders > 0).astype(int), "orders": orders,
                       "revenue": orders * rng.gamma(2, 40, n) + 0.2 * pre,
                       "revenue_pre": pre, "note": "x"})
    path = tmp_path / "shop.csv"
    df.to_csv(path, index=False)
    return path


def test_json_output(table, capsys):
    code = main(["compare", str(table), "--arm", "arm", "--control", "control",
                 "--metric", "revenue", "--metric", "bought",
                 "--covariate", "revenue=revenue_pre", "--ratio", "aov=revenue/orders",
                 "--planned", "control=0.3", "--planned", "coupon_a=0.7", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["srm"]["passed"] is True
    methods = {e["metric"]: e["method"] for e in out["effects"]}
    assert methods == {"revenue": "lin_ols_hc2", "bought": "two_proportion_z_unpooled",
                       "aov": "delta_ratio"}
    e = out["effects"][0]
    for key in ("estimate", "ci_low", "ci_high", "p_value", "rel_estimate", "rel_ci_low",
                "rel_ci_high", "n_arm", "n_control", "p_value_adjusted"):
        assert isinstance(e[key], int | float)
    assert e["variance_reduction"] > 0


def test_table_output(table, capsys):
    assert main(["compare", str(table), "--arm", "arm", "--control", "control",
                 "--metric", "revenue"]) == 0
    out = capsys.readouterr().out
    assert "Sample ratio: not checked" in out and "welch_t" in out and "95% CI rel" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--metric", "gmv"], "shop.csv: metric column 'gmv' not found"),
    (["--metric", "note"], "metric column 'note' is not numeric"),
    (["--metric", "revenue", "--ratio", "aov"], "--ratio 'aov': expected NAME=NUM/DEN"),
    (["--metric", "revenue", "--planned", "control=half"], "share is not a number"),
])
def test_bad_input_exits_2_with_message(table, capsys, args, message):
    assert main(["compare", str(table), "--arm", "arm", "--control", "control", *args]) == 2
    assert message in capsys.readouterr().err


def test_unknown_control_and_missing_file(table, capsys):
    assert main(["compare", str(table), "--arm", "arm", "--control", "holdout",
                 "--metric", "revenue"]) == 2
    assert "control arm 'holdout' not found" in capsys.readouterr().err
    assert main(["compare", str(table.with_name("nope.csv")), "--arm", "arm",
                 "--control", "control", "--metric", "revenue"]) == 2
    assert "no such file" in capsys.readouterr().err
