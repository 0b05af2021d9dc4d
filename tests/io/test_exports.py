"""Taobao and Shopify exports -> canonical tables: encodings, XLSX, value formats, status
mappings, line items, merging, atomic writing and the pseudonymisation key."""

from __future__ import annotations

import datetime as dt
import os
import stat

import openpyxl
import pandas as pd
import pytest

from crm_experiments.cli import main
from crm_experiments.errors import CrmError, DataValidationError
from crm_experiments.io.exports import import_exports, importer
from crm_experiments.io.exports.pseudonymise import (
    KEY_ENV,
    KEY_FILE_ENV,
    Pseudonymiser,
    load_key,
)
from crm_experiments.io.exports.taobao import STATUS, province_of
from crm_experiments.io.validate import validate_data_dir

KEY = "exports-test-key-0123456789"
HEADER = ("订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间,退款金额,"
          "发货时间,收货地址,收货人姓名,联系手机")
ROWS = [
    '="3001",nick_a,"1,200.00",交易成功,2025-11-01 10:00:00,2025-11-01 10:05:00,200,'
    '2025-11-02 08:00:00,浙江省 杭州市 西湖区 文三路1号,张三,13800000001',
    "3002,nick_b,￥56.5,买家已付款，等待卖家发货,2025/11/02 11:00,2025/11/02 11:01,,,"
    "新疆维吾尔自治区乌鲁木齐市,李四,13800000002",
    "3003,nick_a,88,等待买家付款,2025年11月03日 12:00:00,,,,上海 上海市,张三,13800000001",
    "3004,nick_c,300,交易关闭,2025-11-04 13:00:00,2025-11-04 13:02:00,,,广东省深圳市,王五,1",
    "3005,nick_c,,交易关闭,2025-11-05 13:00:00,,,,广东省深圳市,王五,1",
]


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    return Pseudonymiser(KEY.encode())


def _taobao(path, rows=ROWS, encoding="utf-8"):
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode(encoding))
    return path


def _orders(out):
    return pd.read_parquet(out / "orders.parquet").set_index("order_id")


@pytest.mark.parametrize("encoding,label", [("gbk", "gb18030"), ("gb18030", "gb18030"),
                                            ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8")])
def test_taobao_encodings_are_detected_and_named(encoding, label, tmp_path, key, capsys):
    export = _taobao(tmp_path / "report.csv", encoding=encoding)
    assert main(["import", "--format", "taobao", str(export), "--out",
                 str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert f"5 orders ({label})" in out
    assert "收货人姓名" in out and "联系手机" in out  # dropped columns are named
    assert len(_orders(tmp_path / "out")) == 5


def test_taobao_values_and_status_mapping(tmp_path, key):
    result = import_exports([_taobao(tmp_path / "r.csv", encoding="gbk")], tmp_path / "out",
                            fmt="taobao")
    o = _orders(tmp_path / "out")
    assert list(o.index) == ["3001", "3002", "3003", "3004", "3005"]  # ="3001" unwrapped
    assert o.amount.tolist() == [1200.0, 56.5, 88.0, 300.0, 0.0]
    # 交易成功 with a partial refund stays paid
    assert o.paid_at["3001"] == pd.Timestamp("2025-11-01 10:05:00")
    assert o.refund_amount["3001"] == 200.0
    assert o.shipped_at["3001"] == pd.Timestamp("2025-11-02 08:00:00")
    assert o.paid_at["3002"] == pd.Timestamp("2025-11-02 11:01:00")
    # unpaid; created in Chinese date format
    assert pd.isna(o.paid_at["3003"])
    assert o.created_at["3003"] == pd.Timestamp("2025-11-03 12:00:00")
    # closed after payment = refunded in full; closed without payment = unpaid, amount 0
    assert o.refund_amount["3004"] == 300.0 and pd.notna(o.paid_at["3004"])
    assert pd.isna(o.paid_at["3005"]) and o.amount["3005"] == 0.0
    assert o.province.tolist() == ["Zhejiang", "Xinjiang", "Shanghai", "Guangdong", "Guangdong"]
    assert o.customer_id["3001"] == key.customer_id("taobao", "nick_a") == o.customer_id["3003"]
    c = pd.read_parquet(tmp_path / "out" / "customers.parquet").set_index("customer_id")
    assert len(c) == result.customers == 3
    assert c.first_order_at[key.customer_id("taobao", "nick_a")] == pd.Timestamp(
        "2025-11-01 10:00:00")
    # the output satisfies the data contract
    assert not [f for f in validate_data_dir(tmp_path / "out") if f.severity == "error"]
    assert result.warnings[0].rule == "amount_reformatted"


def test_every_documented_status_is_mapped():
    import crm_experiments.io.exports.taobao as taobao

    for status in STATUS:
        assert status in taobao.__doc__ or status in ("等待卖家发货", "等待买家确认收货")
    assert province_of("西藏自治区拉萨市") == "Tibet" and province_of(None) is None


def test_taobao_xlsx_with_typed_cells(tmp_path, key):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    ws.append([2025110100001, "nick_a", 128.5, "交易成功", dt.datetime(2025, 11, 1, 10),
               dt.datetime(2025, 11, 1, 10, 5), 0, None, "江苏省 南京市", "张三", "138"])
    ws.append(["2025110100002", "nick_b", "¥1,000", "等待买家付款", "2025-11-02 09:00:00",
               None, None, None, "江苏省 南京市", "李四", "139"])
    wb.save(tmp_path / "report.xlsx")
    import_exports([tmp_path / "report.xlsx"], tmp_path / "out", fmt="taobao")
    o = _orders(tmp_path / "out")
    assert list(o.index) == ["2025110100001", "2025110100002"]
    assert o.amount.tolist() == [128.5, 1000.0]
    assert o.paid_at.iloc[0] == pd.Timestamp("2025-11-01 10:05:00")


SHOPIFY = """Name,Email,Financial Status,Paid at,Fulfilled at,Currency,Total,Discount Code,\
Discount Amount,Created at,Lineitem name,Billing Name,Billing Street,Billing Province,\
Shipping Province,Refunded Amount,Phone
#1001,Ann@Example.com,paid,2025-11-01 02:05:00 +0000,2025-11-02T09:00:00+08:00,CNY,128.00,\
D11,10.00,2025-11-01 02:00:00 +0000,Coat,Ann Lee,1 Elm St,ZJ,,0.00,
#1001,,,,,,,,,,Scarf,,,,,,
#1001,,,,,,,,,,Hat,,,,,,
#1002,,pending,,,CNY,56.50,,0.00,2025-11-02 11:00:00 +0800,Hat,Bob Wu,2 Oak St,GD,GS,0.00,\
+86 139 0000 0000
#1003,ann@example.com,refunded,2025-11-03 12:05:00 +0800,,CNY,88.00,,0.00,\
2025-11-03 12:00:00 +0800,Gloves,Ann Lee,1 Elm St,ZJ,ZJ,,
#1004,cy@example.com,voided,2025-11-04 12:05:00 +0800,,CNY,40.00,,0.00,\
2025-11-04 12:00:00 +0800,Gloves,Cy Ma,3 Pine St,SH,SH,0.00,
"""


def test_shopify_line_items_statuses_and_timezones(tmp_path, key):
    (tmp_path / "orders_export.csv").write_text(SHOPIFY, encoding="utf-8")
    import_exports([tmp_path / "orders_export.csv"], tmp_path / "out", fmt="shopify",
                   timezone="Asia/Shanghai")
    o = _orders(tmp_path / "out")
    assert list(o.index) == ["#1001", "#1002", "#1003", "#1004"]  # line items folded
    # UTC and +08:00 offsets converted to shop-local (Asia/Shanghai) time
    assert o.created_at["#1001"] == pd.Timestamp("2025-11-01 10:00:00")
    assert o.paid_at["#1001"] == pd.Timestamp("2025-11-01 10:05:00")
    assert o.shipped_at["#1001"] == pd.Timestamp("2025-11-02 09:00:00")
    # discount codes are pseudonymised like buyers (a code may carry a person's name)
    assert o.coupon_id["#1001"] == key.code_id("shopify", "D11") and o.discount["#1001"] == 10.0
    assert pd.isna(o.paid_at["#1002"]) and pd.isna(o.paid_at["#1004"])  # pending, voided
    assert o.refund_amount["#1003"] == 88.0  # refunded without an amount: the whole Total
    assert o.province.tolist() == ["ZJ", "GS", "ZJ", "SH"]  # shipping, else billing
    # email case does not matter; an order without email falls back to the phone
    assert o.customer_id["#1001"] == o.customer_id["#1003"] == key.customer_id(
        "shopify", "ann@example.com")
    assert o.customer_id["#1002"] == key.customer_id("shopify", "+86 139 0000 0000")


def test_merge_keeps_last_file_and_counts_repeats(tmp_path, key, capsys):
    a = _taobao(tmp_path / "oct.csv", ROWS[:3], encoding="gbk")
    later = ROWS[2].replace("等待买家付款", "交易成功")
    later = later.replace(",,,,上海", ",2025-11-03 12:30:00,,,上海")
    b = _taobao(tmp_path / "nov.csv", [ROWS[1], later, ROWS[3]])
    assert main(["import", "--format", "taobao", str(a), str(b), "--out",
                 str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "dropped 2 orders repeated across files (1 of them differed" in captured.out
    assert "[duplicate_across_files]" in captured.err and "oct.csv" in captured.err
    o = _orders(tmp_path / "out")
    assert len(o) == 4 and o.paid_at["3003"] == pd.Timestamp("2025-11-03 12:30:00")


def test_refuses_non_empty_out_without_force_and_keeps_other_tables_with_it(tmp_path, key,
                                                                            capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "assignments.csv").write_text("customer_id,campaign_id,arm\nc_1,d11,control\n")
    (out / "orders.csv").write_text("old")
    export = _taobao(tmp_path / "r.csv")
    assert main(["import", "--format", "taobao", str(export), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["import", "--format", "taobao", str(export), "--out", str(out),
                 "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["assignments.csv", "customers.parquet",
                                                     "orders.parquet"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_failure_while_writing_leaves_nothing_and_keeps_the_old_directory(tmp_path, key,
                                                                           monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "orders.csv").write_text("previous import")
    real = importer.pq.write_table
    calls = []

    def failing_write(table, path):  # the second table cannot be written
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        real(table, path)

    monkeypatch.setattr(importer.pq, "write_table", failing_write)
    with pytest.raises(OSError, match="disk full"):
        import_exports([_taobao(tmp_path / "r.csv")], out, fmt="taobao", force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "r.csv"]
    assert (out / "orders.csv").read_text() == "previous import"


def test_missing_file_and_bad_timezone_are_usage_errors(tmp_path, key):
    with pytest.raises(CrmError, match="file not found"):
        import_exports([tmp_path / "nope.csv"], tmp_path / "out", fmt="taobao")
    with pytest.raises(CrmError, match="timezone"):
        import_exports([_taobao(tmp_path / "r.csv")], tmp_path / "out", fmt="taobao",
                       timezone="Mars/Olympus")
    with pytest.raises(DataValidationError):
        import_exports([_taobao(tmp_path / "r.csv")], tmp_path / "out", fmt="shopify")
    assert not (tmp_path / "out").exists()


def test_key_file_is_created_private_and_gives_stable_ids(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(KEY_ENV, raising=False)
    key_file = tmp_path / "cfg" / "pseudonym.key"
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    export = _taobao(tmp_path / "r.csv")
    assert main(["import", "--format", "taobao", str(export), "--out",
                 str(tmp_path / "one")]) == 0
    first = capsys.readouterr()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "new key created" in first.out and str(key_file) in first.out
    secret = key_file.read_text().strip()
    assert main(["import", "--format", "taobao", str(export), "--out",
                 str(tmp_path / "two")]) == 0
    second = capsys.readouterr()
    assert "new key created" not in second.out
    assert _orders(tmp_path / "one").customer_id.equals(_orders(tmp_path / "two").customer_id)
    # the key never appears in what the import prints or writes
    assert secret not in first.out + first.err + second.out + second.err
    for d in ("one", "two"):
        for p in (tmp_path / d).iterdir():
            assert secret.encode() not in p.read_bytes()
            assert secret not in pd.read_parquet(p).to_csv()
    # a different key gives different ids
    monkeypatch.setenv(KEY_ENV, "another-key-0123456789abcdef")
    import_exports([export], tmp_path / "three", fmt="taobao")
    assert not set(_orders(tmp_path / "three").customer_id) & set(
        _orders(tmp_path / "one").customer_id)


def test_short_env_key_and_readable_key_file_are_reported(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(CrmError, match="shorter than 16"):
        load_key()
    monkeypatch.delenv(KEY_ENV)
    key_file = tmp_path / "k"
    key_file.write_text("0123456789abcdef0123456789abcdef\n")
    os.chmod(key_file, 0o644)
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    _, source = load_key()
    assert source.warning and "chmod 600" in source.warning
    assert "0123456789abcdef" not in repr(Pseudonymiser(b"0123456789abcdef0123"))
