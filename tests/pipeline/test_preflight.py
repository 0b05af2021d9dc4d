"""Preflight: each failure `run` would meet is named by `validate --params` and stops `run` in
seconds (no MLflow run, no report); the demo shop passes; `due` lists a blocked campaign."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from crm_experiments.cli import main
from crm_experiments.pipeline.preflight import preflight
from crm_experiments.pipeline.schedule import run_due
from tests.conftest import write_params

#: case -> (rule, parameter or None, words the message must hold)
CASES = {
    "copied_yaml": ("data_path_not_found", "data.path", ["params/data", "../../data"]),
    "format": ("format_mismatch", "data.format", ["assignments.csv", "parquet"]),
    "no_campaign": ("campaign_not_assigned", "campaign_id", ["'nobody'", "demo_d11"]),
    "segment": ("segment_column_missing", "segments[1]", ["'loyalty'", "tier"]),
    "segment_not_carried": ("segment_column_missing", "segments[1]",
                            ["'province'", "would leave it out"]),
    "horizon": ("horizon_not_covered", "horizons", ["2026-05-31", "evaluate on or after"]),
    "bad_data": ("negative_value", None, ["orders.parquet", "amount"]),
    "arm_not_assigned": ("arm_not_assigned", "arms", ["'coupon_300_50'", "control"]),
    "unknown_arm": ("unknown_arm", None, ["assignments.parquet", "coupon_200_30"]),
}
ARMS = [{"name": "control", "planned_share": 0.2},
        {"name": "coupon_100_10", "planned_share": 0.3, "coupon_face_value": 10,
         "coupon_threshold": 100},
        {"name": "coupon_200_30", "planned_share": 0.4, "coupon_face_value": 30,
         "coupon_threshold": 200},
        {"name": "coupon_300_50", "planned_share": 0.1, "coupon_face_value": 50,
         "coupon_threshold": 300}]


def _data(small_shop: Path) -> Path:
    return small_shop.parent / "data"


def _copy(small_shop: Path, to: Path) -> Path:
    shutil.copytree(_data(small_shop), to)
    return to


@pytest.fixture(scope="module")
def cases(small_shop, tmp_path_factory) -> dict[str, Path]:
    """One params file per failure, each on a copy of the small demo shop where needed."""
    root = tmp_path_factory.mktemp("preflight")
    out: dict[str, Path] = {}
    # a YAML with a relative data.path, copied one folder deeper (into params/campaigns/)
    (root / "data").symlink_to(_data(small_shop), target_is_directory=True)
    (root / "params" / "campaigns").mkdir(parents=True)
    good = write_params(root / "params" / "shop.yaml", root / "data")
    raw = yaml.safe_load(good.read_text(encoding="utf-8"))
    raw["data"]["path"] = "../data"
    good.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert preflight(good, 7).ok  # relative to its own folder: found
    out["copied_yaml"] = root / "params" / "campaigns" / "shop.yaml"
    shutil.copy(good, out["copied_yaml"])

    fmt = _copy(small_shop, root / "format_data")
    pd.read_parquet(fmt / "assignments.parquet").to_csv(fmt / "assignments.csv", index=False)
    (fmt / "assignments.parquet").unlink()
    out["format"] = write_params(root / "format.yaml", fmt)  # format: parquet
    out["no_campaign"] = write_params(root / "no_campaign.yaml", _data(small_shop),
                                      campaign_id="nobody")
    out["segment"] = write_params(root / "segment.yaml", _data(small_shop),
                                  segments=["lifecycle_state", "loyalty"])
    out["segment_not_carried"] = write_params(root / "province.yaml", _data(small_shop),
                                              segments=["lifecycle_state", "province"])
    out["horizon"] = write_params(root / "horizon.yaml", _data(small_shop), horizons=[200])
    bad = _copy(small_shop, root / "bad_data")
    orders = pd.read_parquet(bad / "orders.parquet")
    orders.loc[2, "amount"] = -20.0
    orders.to_parquet(bad / "orders.parquet")
    out["bad_data"] = write_params(root / "bad.yaml", bad)
    out["arm_not_assigned"] = write_params(root / "arms.yaml", _data(small_shop), arms=ARMS)
    two = [{**ARMS[0]}, {**ARMS[1], "planned_share": 0.8}]
    out["unknown_arm"] = write_params(root / "two_arms.yaml", _data(small_shop), arms=two)
    return out


def _runs(uri: str) -> list:
    client = MlflowClient(tracking_uri=uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids) if ids else []


def test_demo_shop_passes_with_no_skips(small_shop):
    result = preflight(small_shop, [7, 30])
    assert result.ok, result.lines()
    assert result.skips == []  # the demo has every table and history before the sale
    assert result.horizons == (7, 30)
    assert result.seconds < 10
    print(f"preflight of the 4,000-customer demo shop: {result.seconds:.2f} s")


@pytest.mark.parametrize("case", list(CASES))
def test_preflight_names_the_error(cases, case):
    rule, parameter, words = CASES[case]
    result = preflight(cases[case])
    found = [f for f in result.errors if f.rule == rule]
    assert found, result.lines()
    assert getattr(found[0], "parameter", None) == parameter
    for word in words:
        assert word in str(found[0]), str(found[0])


@pytest.mark.parametrize("case", list(CASES))
def test_validate_params_reports_it(cases, case, capsys):
    rule, parameter, _ = CASES[case]
    assert main(["validate", "--params", str(cases[case])]) == 1
    out = capsys.readouterr().out
    assert f"[{rule}]" in out and "preflight FAILED" in out
    if parameter:
        assert f"parameter '{parameter}'" in out
    assert main(["validate", "--params", str(cases[case]), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert rule in {f["rule"] for f in doc["findings"]} and doc["errors"] >= 1


@pytest.mark.parametrize("case", list(CASES))
def test_run_stops_in_seconds_without_mlflow_run_or_report(cases, case, tracking, tmp_path,
                                                           capsys):
    rule, _, _ = CASES[case]
    reports = tmp_path / "reports"
    started = time.perf_counter()
    code = main(["run", str(cases[case]), "--reports-dir", str(reports)])
    seconds = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 1 and f"[{rule}]" in err and "not run" in err
    assert "Traceback" not in err
    assert seconds < 20  # interpreter-warm; the preflight itself takes about a second
    assert _runs(tracking) == []
    assert not reports.exists()


def test_validate_params_passes_the_demo_shop(small_shop, capsys):
    assert main(["validate", "--params", str(small_shop), "--horizon", "7"]) == 0
    out = capsys.readouterr().out
    assert "preflight OK" in out and "0 error(s), 0 part(s) skipped" in out


def test_validate_with_another_data_dir_says_what_run_reads(small_shop, tmp_path, capsys):
    other = _copy(small_shop, tmp_path / "other")
    assert main(["validate", str(other), "--params", str(small_shop)]) == 1
    assert "[data_dir_mismatch]" in capsys.readouterr().out


def test_missing_optional_tables_are_listed_as_skips(small_shop, tmp_path):
    lean = tmp_path / "lean"
    lean.mkdir()
    for name in ("orders", "assignments"):
        shutil.copy(_data(small_shop) / f"{name}.parquet", lean / f"{name}.parquet")
    params = write_params(tmp_path / "lean.yaml", lean, segments=["lifecycle_state"])
    result = preflight(params, 30)
    assert result.ok, result.lines()
    assert {f.rule for f in result.skips} >= {
        "skip_contacts", "skip_satisfaction", "skip_customers", "skip_interactions",
        "skip_coupons"}
    assert all(f.severity == "warning" for f in result.skips)

    # no history before the sale: no pre-period, and the CLV notebook has nothing to calibrate
    orders = pd.read_parquet(lean / "orders.parquet")
    orders[orders["created_at"] >= pd.Timestamp("2025-11-01")].to_parquet(
        lean / "orders.parquet")
    params = write_params(tmp_path / "lean2.yaml", lean, segments=["lifecycle_state"],
                          extra_notebooks={"clv_churn": [30]})
    result = preflight(params, 30)
    rules = {f.rule: f for f in result.skips}
    assert "skip_history" in rules and "skip_notebook" in rules
    assert "clv_churn" in str(rules["skip_notebook"])


def test_due_lists_a_blocked_campaign_with_its_reason(cases, small_shop, tracking, tmp_path,
                                                      capsys):
    folder = tmp_path / "campaigns"
    folder.mkdir()
    shutil.copy(small_shop, folder / "demo.yaml")
    shutil.copy(cases["no_campaign"], folder / "nobody.yaml")
    assert main(["due", "--today", "2026-01-01", "--campaigns", str(folder)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any("demo_d11" in line and "ready" in line for line in lines), out
    assert any("nobody" in line and "BLOCKED" in line for line in lines), out
    assert "[campaign_not_assigned]" in out and "blocked by the preflight" in out

    # the scheduler does not run it: no MLflow run, no report, the reason in the outcome
    only = tmp_path / "only_blocked"
    only.mkdir()
    shutil.copy(cases["no_campaign"], only / "nobody.yaml")
    outcomes, errors = run_due(dt.date(2026, 1, 1), campaigns_dir=only,
                               reports_root=tmp_path / "reports")
    assert errors == [] and {o.status for o in outcomes} == {"blocked"}
    assert all("campaign_not_assigned" in o.detail for o in outcomes)
    assert _runs(tracking) == []
    assert not list((tmp_path / "reports").glob("*/*d"))
    # and `crm-exp schedule` says so and exits non-zero
    assert main(["schedule", "--today", "2026-01-01", "--campaigns", str(only),
                 "--reports-dir", str(tmp_path / "reports")]) == 1
    out = capsys.readouterr().out
    assert "2 blocked" in out and "BLOCKED nobody-7d" in out and "campaign_not_assigned" in out


def test_run_names_the_horizons_the_data_cover(small_shop, tracking, tmp_path, capsys):
    params = write_params(tmp_path / "mixed.yaml", _data(small_shop), horizons=[7, 200])
    assert main(["run", str(params), "--reports-dir", str(tmp_path / "reports")]) == 1
    err = capsys.readouterr().err
    assert "[horizon_not_covered]" in err and "everything is there for --horizon 7" in err
    assert _runs(tracking) == []


def test_segment_columns_are_those_of_the_campaign_table(small_shop):
    """CUSTOMER_SEGMENTS is what campaign_customers carries from the customers table."""
    from crm_experiments.io.reader import load_shop
    from crm_experiments.metrics.campaign import campaign_customers
    from crm_experiments.params import load_params
    from crm_experiments.pipeline.preflight import COMPUTED_SEGMENTS, CUSTOMER_SEGMENTS

    params = load_params(small_shop)
    shop = load_shop(params.data.path, params=params)
    table = campaign_customers(shop, params, 7)
    customers = set(shop["customers"].columns) - {"customer_id"}
    assert set(table.columns) & customers == set(CUSTOMER_SEGMENTS)
    assert set(COMPUTED_SEGMENTS) <= set(table.columns)


def test_cost_lines_the_campaign_type_cannot_record_are_skips(small_shop, tmp_path):
    """A member day whose orders carry no discount and whose second arm has no benefit_cost:
    both cost lines are listed as not recorded; the coupons table is not asked for."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("orders", "assignments", "contacts"):
        shutil.copy(_data(small_shop) / f"{name}.parquet", data / f"{name}.parquet")
    orders = pd.read_parquet(data / "orders.parquet").drop(columns=["discount", "coupon_id"])
    orders.to_parquet(data / "orders.parquet")
    arms = [{"name": "control", "planned_share": 0.2},
            {"name": "coupon_100_10", "planned_share": 0.4, "benefit_cost": 3.0},
            {"name": "coupon_200_30", "planned_share": 0.4}]
    params = write_params(tmp_path / "member_day.yaml", data, segments=["lifecycle_state"],
                          campaign_type="member_day", arms=arms)
    result = preflight(params, 30)
    assert result.ok, result.lines()
    costs = [f for f in result.skips if f.rule == "skip_cost"]
    assert {f.column for f in costs} == {"discount", None}
    assert any("['coupon_200_30']" in str(f) and "benefit_cost" in str(f) for f in costs)
    assert "skip_coupons" not in {f.rule for f in result.skips}
    with_costs = write_params(tmp_path / "shop_discount.yaml", _data(small_shop),
                              segments=["lifecycle_state"], campaign_type="shop_discount",
                              arms=[{k: v for k, v in a.items() if k != "benefit_cost"}
                                    for a in arms])
    assert not [f for f in preflight(with_costs, 30).skips if f.rule == "skip_cost"]


def test_customers_without_tiers_skip_the_tier_section(small_shop, tmp_path):
    """An imported shop's customers table (no tier column, or an empty one): the report's
    member tiers and their migration are listed as skipped; the demo's tiers are not."""
    assert "skip_tiers" not in {f.rule for f in preflight(small_shop, 7).skips}
    data = _copy(small_shop, tmp_path / "data")
    customers = pd.read_parquet(data / "customers.parquet")
    for shape in (customers[["customer_id", "first_order_at"]], customers.assign(tier=None)):
        shape.to_parquet(data / "customers.parquet")
        params = write_params(tmp_path / "p.yaml", data, segments=["lifecycle_state"])
        skips = {f.rule: f for f in preflight(params, 7).skips}
        assert "skip_tiers" in skips and "tier migration" in str(skips["skip_tiers"])


def test_a_coupon_cost_nothing_records_is_named(small_shop, tmp_path):
    """No coupons table and no order with a coupon_id (a Taobao order export): the skip says
    the coupon cost is unknown, not that it comes from the orders."""
    lean = tmp_path / "no_coupon_ids"
    lean.mkdir()
    orders = pd.read_parquet(_data(small_shop) / "orders.parquet")
    orders["coupon_id"] = None
    orders.to_parquet(lean / "orders.parquet")
    shutil.copy(_data(small_shop) / "assignments.parquet", lean / "assignments.parquet")
    params = write_params(tmp_path / "p.yaml", lean, segments=["lifecycle_state"])
    (skip,) = [f for f in preflight(params, 30).skips if f.rule == "skip_coupons"]
    assert "the coupon cost is unknown, so the report shows no ROI" in skip.message
