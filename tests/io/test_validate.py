"""Every validation rule on a small fixture: rule id, file, column and exact row numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import narwhals as nw
import pytest

from crm_experiments.errors import DataValidationError, Finding
from crm_experiments.io.engine import collect, scalar
from crm_experiments.io.reader import load_shop
from crm_experiments.io.validate import validate_data_dir
from crm_experiments.params import CampaignParams

ORDERS = """order_id,customer_id,created_at,paid_at,amount,discount,refund_amount,shipped_at
o1,c1,2025-11-01 10:00:00,2025-11-01 10:05:00,100,10,0,2025-11-02 09:00:00
o2,c2,2025-11-01 11:00:00,2025-11-01 11:01:00,50,0,0,
o3,c1,2025-11-02 12:00:00,,80,0,0,
o4,c3,2025-11-03 08:00:00,2025-11-03 08:30:00,20,0,5,2025-11-04 10:00:00
"""
CUSTOMERS = "customer_id,tier,birthday\nc1,gold,1990-05-01\nc2,regular,\nc3,regular,1985-01-31\n"


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def orders_with(*rows: str, header: str | None = None) -> str:
    lines = ORDERS.splitlines()
    return "\n".join([header or lines[0], *rows]) + "\n"


def only(findings: list[Finding], rule: str) -> Finding:
    hits = [f for f in findings if f.rule == rule]
    assert len(hits) == 1, findings
    return hits[0]


PARAMS = CampaignParams.model_validate({
    "campaign_id": "d11", "display_name": "Double 11", "data": {"path": "x"},
    "sale": {"start": "2025-11-01", "end": "2025-11-11"},
    "arms": [{"name": "control", "planned_share": 0.5}, {"name": "c100_10", "planned_share": 0.5}],
})

# (files, rule, file, column, rows, severity)
CASES = {
    "missing_column": (
        {"orders.csv": "order_id,customer_id,created_at\no1,c1,2025-11-01\n"},
        "missing_column", "orders.csv", "amount", (), "error"),
    "empty_orders": (
        {"orders.csv": ORDERS.splitlines()[0] + "\n"},
        "empty_file", "orders.csv", None, (), "error"),
    "empty_other": (
        {"orders.csv": ORDERS, "coupons.csv": "coupon_id,customer_id,face_value\n"},
        "empty_file", "coupons.csv", None, (), "warning"),
    "zero_byte_orders": (
        {"orders.csv": ""}, "empty_file", "orders.csv", None, (), "error"),
    "zero_byte_other": (
        {"orders.csv": ORDERS, "reviews.csv": ""},
        "empty_file", "reviews.csv", None, (), "warning"),
    "bad_timestamp": (
        {"orders.csv": orders_with("o1,c1,2025-11-01 10:00,,1,,,", "o2,c1,soon,,1,,,",
                                   "o3,c1,2025-13-45,,1,,,")},
        "unparseable", "orders.csv", "created_at", (2, 3), "error"),
    "bad_number": (
        {"orders.csv": orders_with("o1,c1,2025-11-01,,1,,,", "o2,c1,2025-11-01,,12 yuan,,,")},
        "unparseable", "orders.csv", "amount", (2,), "error"),
    "required_null": (
        {"orders.csv": orders_with("o1,c1,2025-11-01,,1,,,", "o2,,2025-11-01,,1,,,")},
        "required_null", "orders.csv", "customer_id", (2,), "error"),
    "negative_amount": (
        {"orders.csv": orders_with("o1,c1,2025-11-01,,1,,,", "o2,c1,2025-11-01,,1,,,",
                                   "o3,c1,2025-11-01,,-5,,,")},
        "negative_value", "orders.csv", "amount", (3,), "error"),
    "negative_refund": (
        {"orders.csv": orders_with("o1,c1,2025-11-01,,1,,-1,")},
        "negative_value", "orders.csv", "refund_amount", (1,), "error"),
    "negative_discount": (
        {"orders.csv": orders_with("o1,c1,2025-11-01,,1,-2,,", "o2,c1,2025-11-01,,1,,,")},
        "negative_value", "orders.csv", "discount", (1,), "error"),
    "negative_cost": (
        {"orders.csv": ORDERS,
         "contacts.csv": "customer_id,campaign_id,channel,sent_at,cost\n"
                         "c1,d11,sms,2025-10-30,0.05\nc2,d11,sms,2025-10-30,-0.05\n"},
        "negative_value", "contacts.csv", "cost", (2,), "error"),
    "negative_face_value": (
        {"orders.csv": ORDERS,
         "coupons.csv": "coupon_id,customer_id,face_value\nk1,c1,-10\nk2,c2,10\n"},
        "negative_value", "coupons.csv", "face_value", (1,), "error"),
    "refund_exceeds_amount": (
        {"orders.csv": orders_with("o1,c1,2025-11-01,,10,,5,", "o2,c1,2025-11-01,,10,,15,")},
        "refund_exceeds_amount", "orders.csv", "refund_amount", (2,), "error"),
    "paid_before_created": (
        {"orders.csv": orders_with("o1,c1,2025-11-01 10:00,2025-11-01 09:00,10,,,")},
        "paid_before_created", "orders.csv", "paid_at", (1,), "error"),
    "shipped_before_paid": (
        {"orders.csv": orders_with("o1,c1,2025-11-01 10:00,2025-11-01 11:00,10,,,",
                                   "o2,c1,2025-11-01 10:00,2025-11-01 11:00,10,,,"
                                   "2025-11-01 10:30")},
        "shipped_before_paid", "orders.csv", "shipped_at", (2,), "warning"),
    "duplicate_order_id": (
        {"orders.csv": orders_with("o1,c1,2025-11-01,,1,,,", "o2,c1,2025-11-01,,1,,,",
                                   "o1,c2,2025-11-01,,1,,,", "o1,c3,2025-11-01,,1,,,")},
        "duplicate_key", "orders.csv", "order_id", (3, 4), "error"),
    "duplicate_coupon_id": (
        {"orders.csv": ORDERS,
         "coupons.csv": "coupon_id,customer_id,face_value\nk1,c1,10\nk2,c2,10\nk1,c3,10\n"},
        "duplicate_key", "coupons.csv", "coupon_id", (3,), "error"),
    "duplicate_customer": (
        {"orders.csv": ORDERS, "customers.csv": CUSTOMERS + "c2,gold,\n"},
        "duplicate_key", "customers.csv", "customer_id", (4,), "error"),
    "multiple_arms": (
        {"orders.csv": ORDERS,
         "assignments.csv": "customer_id,campaign_id,arm\nc1,d11,control\nc2,d11,c100_10\n"
                            "c1,d12,c100_10\nc1,d11,c100_10\nc2,d11,c100_10\n"},
        "multiple_arms", "assignments.csv", "arm", (4,), "error"),
    "unknown_arm": (
        {"orders.csv": ORDERS,
         "assignments.csv": "customer_id,campaign_id,arm\nc1,d11,control\nc2,d11,c200_20\n"
                            "c3,d10,c200_20\n"},
        "unknown_arm", "assignments.csv", "arm", (2,), "error"),
    "future_date": (
        {"orders.csv": orders_with("o1,c1,2025-11-01,,1,,,", "o2,c1,2999-01-01,,1,,,")},
        "future_date", "orders.csv", "created_at", (2,), "warning"),
    "ancient_date": (
        {"orders.csv": orders_with("o1,c1,1999-12-31 23:59,,1,,,", "o2,c1,2025-11-01,,1,,,")},
        "ancient_date", "orders.csv", "created_at", (1,), "warning"),
    "csat_out_of_scale": (
        {"orders.csv": ORDERS,
         "surveys.csv": "customer_id,answered_at,score,scale\nc1,2025-11-05,5,csat5\n"
                        "c2,2025-11-05,9,nps10\nc3,2025-11-05,0,csat5\nc1,2025-11-06,11,nps10\n"},
        "score_out_of_scale", "surveys.csv", "score", (3, 4), "error"),
    "dsr_out_of_range": (
        {"orders.csv": ORDERS,
         "reviews.csv": "order_id,polarity,dsr_item,dsr_service\no1,positive,5,5\n"
                        "o2,neutral,4,6\n"},
        "dsr_out_of_range", "reviews.csv", "dsr_service", (2,), "error"),
    "unknown_polarity": (
        {"orders.csv": ORDERS,
         "reviews.csv": "order_id,polarity\no1,positive\no2,好评\no3,\n"},
        "unknown_value", "reviews.csv", "polarity", (2,), "error"),
    "unknown_kind": (
        {"orders.csv": ORDERS,
         "interactions.csv": "customer_id,at,kind\nc1,2025-11-01,sign_in\nc1,2025-11-02,like\n"},
        "unknown_value", "interactions.csv", "kind", (2,), "error"),
    "unknown_customer": (
        {"orders.csv": ORDERS, "customers.csv": "customer_id\nc1\nc2\n"},
        "unknown_customer", "orders.csv", "customer_id", (4,), "warning"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_rule_is_reported_with_file_column_and_rows(tmp_path, case):
    files, rule, file, column, rows, severity = CASES[case]
    findings = validate_data_dir(write(tmp_path / "shop", files), params=PARAMS)
    f = only(findings, rule)
    assert (f.file, f.column, f.rows, f.n_rows if rows else 0, f.severity) == (
        file, column, rows, len(rows), severity), f


def test_missing_orders_names_the_directory(tmp_path):
    shop = write(tmp_path / "shop", {"customers.csv": CUSTOMERS, "notes.txt": "hello"})
    f = only(validate_data_dir(shop), "missing_table")
    assert f.severity == "error" and str(shop) in f.message and "orders" in f.message
    with pytest.raises(DataValidationError, match="orders"):
        load_shop(shop)


def test_csv_and_parquet_of_one_table_is_an_error(tmp_path):
    shop = write(tmp_path / "shop", {"orders.csv": ORDERS})
    collect(load_shop(shop).tables["orders"]).to_parquet(shop / "orders.parquet")
    f = only(validate_data_dir(shop), "ambiguous_table")
    assert "orders.csv" in f.file and "orders.parquet" in f.file


def test_a_clean_directory_has_no_findings(tmp_path):
    shop = write(tmp_path / "shop", {
        "orders.csv": ORDERS, "customers.csv": CUSTOMERS, "ignored.csv": "a,b\n1,2\n",
        "assignments.csv": "customer_id,campaign_id,arm,assigned_at\n"
                           "c1,d11,control,2025-10-20\nc2,d11,c100_10,2025-10-20\n",
        "surveys.csv": "customer_id,answered_at,score,scale\nc1,2025-11-05,1,csat5\n"
                       "c2,2025-11-05,0,nps10\n",
    })
    assert validate_data_dir(shop, params=PARAMS) == []
    data = load_shop(shop, params=PARAMS)
    assert data.warnings == [] and sorted(data.tables) == ["assignments", "customers", "orders",
                                                           "surveys"]


def test_many_offenders_keep_the_first_five_and_the_count(tmp_path):
    rows = [f"o{i},c1,2025-11-01,,{-i if i % 2 else i},,," for i in range(1, 21)]
    f = only(validate_data_dir(write(tmp_path / "s", {"orders.csv": orders_with(*rows)})),
             "negative_value")
    assert f.rows == (1, 3, 5, 7, 9) and f.n_rows == 10
    assert "rows 1, 3, 5, 7, 9 and 5 more" in str(f)


def test_parquet_rows_are_positions_plus_one(tmp_path):
    import pandas as pd

    shop = tmp_path / "shop"
    shop.mkdir()
    pd.DataFrame({
        "order_id": ["o1", "o2", "o3"], "customer_id": ["c1", "c2", "c3"],
        "created_at": pd.to_datetime(["2025-11-01", "2025-11-02", "2025-11-03"]),
        "amount": [1.0, 2.0, -3.0],
    }).to_parquet(shop / "orders.parquet")
    f = only(validate_data_dir(shop), "negative_value")
    assert (f.file, f.column, f.rows) == ("orders.parquet", "amount", (3,))


def test_errors_stop_load_shop_and_warnings_are_kept(tmp_path):
    bad = write(tmp_path / "bad", {"orders.csv": orders_with("o1,c1,2025-11-01,,-1,,,")})
    with pytest.raises(DataValidationError) as info:
        load_shop(bad)
    assert [f.rule for f in info.value.findings if f.severity == "error"] == ["negative_value"]
    assert "orders.csv" in str(info.value) and "row 1" in str(info.value)
    assert scalar(load_shop(bad, validate=False).tables["orders"].select(nw.len())) == 1

    warn = write(tmp_path / "warn", {"orders.csv": ORDERS, "customers.csv": "customer_id\nc1\n"})
    data = load_shop(warn)
    assert {f.rule for f in data.warnings} == {"unknown_customer"}


def test_future_rule_uses_now_in_the_shop_timezone(tmp_path):
    from crm_experiments.io import engine
    from crm_experiments.io.staging import stage_directory
    from crm_experiments.io.validate import validate_tables

    shop = write(tmp_path / "s", {"orders.csv": ORDERS})
    con = engine.connect()
    staged, _ = stage_directory(con, shop, timezone="Asia/Shanghai")
    findings = validate_tables(staged, now=dt.datetime(2025, 11, 2, 0, 0))
    f = only([f for f in findings if f.column == "created_at"], "future_date")
    assert f.rows == (3, 4) and f.severity == "warning"


def test_a_ragged_csv_row_is_reported_with_its_line(tmp_path):
    text = "order_id,customer_id,created_at,amount\no1,c1,2025-11-01,1\no2,c2,2025-11-01,1,X\n"
    f = only(validate_data_dir(write(tmp_path / "s", {"orders.csv": text})), "unreadable_file")
    assert f.file == "orders.csv" and "Line: 3" in f.message and "Expected Number of Columns: 4" \
        in f.message
