"""Every file of the bad-input corpus (tests/data/bad_exports, described in its README.md):
the exit code of ``crm-exp``, the message (file, column, rows, rule), and that nothing was
left behind, or the documented repair with its warning."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from crm_experiments.cli import main
from crm_experiments.errors import Finding
from crm_experiments.io.exports.pseudonymise import KEY_ENV, KEY_FILE_ENV

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_exports"
AMOUNT, CREATED, PAID, REFUND = "买家实际支付金额", "订单创建时间", "订单付款时间", "退款金额"


def E(rule, column=None, rows=()):  # noqa: N802 - reads like the message it expects
    return ("error", rule, column, rows)


def W(rule, column=None, rows=()):  # noqa: N802
    return ("warning", rule, column, rows)


# file -> (format, exit code, expected findings); exit 1 = refused, nothing written
IMPORT_CASES: dict[str, tuple[str, int, list[tuple]]] = {
    "tb_utf16.csv": ("taobao", 1, [E("encoding")]),
    "tb_latin1.csv": ("taobao", 1, [E("encoding")]),
    "tb_big5.csv": ("taobao", 1, [E("missing_column", "订单编号"), E("encoding")]),
    "tb_binary.csv": ("taobao", 1, [E("unreadable_file")]),
    "tb_missing_amount_header.csv": ("taobao", 1, [E("missing_column", AMOUNT)]),
    "tb_renamed_header.csv": ("taobao", 1, [E("missing_column", "订单编号")]),
    "tb_english_headers.csv": ("taobao", 1, [E("missing_column", "订单编号"),
                                             E("missing_column", "订单状态")]),
    "tb_missing_status.xlsx": ("taobao", 1, [E("missing_column", "订单状态")]),
    "tb_corrupt.xlsx": ("taobao", 1, [E("unreadable_file")]),
    "tb_mixed_date_formats.csv": ("taobao", 1, [E("unparseable", CREATED, (3,))]),
    "tb_amount_thousands.csv": ("taobao", 0, [W("amount_reformatted", AMOUNT, (1,))]),
    "tb_amount_currency.csv": ("taobao", 0, [W("amount_reformatted", AMOUNT, (2, 3))]),
    "tb_amount_garbage.csv": ("taobao", 1, [E("unparseable", AMOUNT, (2,))]),
    "tb_negative_amount.csv": ("taobao", 1, [E("negative_value", AMOUNT, (2,))]),
    "tb_empty_amount_paid.csv": ("taobao", 1, [E("required_null", AMOUNT, (1,))]),
    "tb_duplicate_order_ids.csv": ("taobao", 1, [E("duplicate_key", "订单编号", (4,))]),
    "tb_future_date.csv": ("taobao", 1, [E("date_after_export", CREATED, (2,)),
                                         E("date_after_export", PAID, (2,))]),
    "tb_empty.csv": ("taobao", 1, [E("empty_file")]),
    "tb_header_only.csv": ("taobao", 1, [E("empty_file")]),
    "tb_truncated_last_line.csv": ("taobao", 1, [E("truncated_row", None, (4,))]),
    "tb_truncated_in_quotes.csv": ("taobao", 1, [E("malformed_csv", None, (4,))]),
    "tb_unquoted_comma.csv": ("taobao", 1, [E("wrong_field_count", None, (2,))]),
    "tb_very_long_message.csv": ("taobao", 0, []),
    "tb_very_long_order_id.csv": ("taobao", 1, [E("invalid_id", "订单编号", (2,))]),
    "tb_scientific_order_id.csv": ("taobao", 1, [E("mangled_id", "订单编号", (1,))]),
    "tb_html_in_text.csv": ("taobao", 0, []),
    "tb_html_in_status.csv": ("taobao", 1, [E("unknown_status", "订单状态", (1,))]),
    "tb_unknown_status.csv": ("taobao", 1, [E("unknown_status", "订单状态", (2,))]),
    "tb_paid_without_time.csv": ("taobao", 1, [E("paid_without_time", PAID, (1,))]),
    "tb_paid_before_created.csv": ("taobao", 1, [E("paid_before_created", PAID, (2,))]),
    "tb_refund_exceeds_amount.csv": ("taobao", 1, [E("refund_exceeds_amount", REFUND, (1,))]),
    "tb_empty_buyer.csv": ("taobao", 1, [E("required_null", "买家会员名", (3,))]),
    "tb_unknown_province.csv": ("taobao", 0, [W("unknown_province", "收货地址", (2,))]),
    "shopify_missing_email_header.csv": ("shopify", 1, [E("missing_column", "Email")]),
    "shopify_unknown_status.csv": ("shopify", 1, [E("unknown_status", "Financial Status",
                                                    (3,))]),
    "shopify_conflicting_lines.csv": ("shopify", 1, [E("conflicting_order_fields", "Total",
                                                       (1,))]),
    "shopify_bad_date.csv": ("shopify", 1, [E("unparseable", "Created at", (3,))]),
    "shopify_no_email.csv": ("shopify", 1, [E("required_null", "Email", (3,))]),
    "shopify_mixed_currency.csv": ("shopify", 1, [E("mixed_currency", "Currency")]),
    "shopify_repeated_order.csv": ("shopify", 1, [E("duplicate_key", "Name", (5,))]),
}
# several files imported together
MULTI_CASES = {
    ("tb_overlap_a.csv", "tb_overlap_b.csv"): (
        "taobao", 0, [W("duplicate_across_files", None, (2, 3))]),
}
# params files: `crm-exp run` refuses them before anything runs (exit 2)
PARAMS_CASES = {
    "params_traversal_id.yaml": "campaign_id",
    "params_unknown_key.yaml": "holdout_share",
    "params_wrong_type.yaml": "pre_period_days",
}


def _prefix(file: str, severity: str, rule: str, column: str | None,
            rows: tuple[int, ...]) -> str:
    """The start of the line crm-exp prints for this finding (message excluded)."""
    text = str(Finding(file=file, rule=rule, message="", column=column, rows=rows,
                       n_rows=len(rows), severity=severity))  # type: ignore[arg-type]
    return text.rstrip()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "corpus-test-key-0123456789")
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "never-created.key"))
    (tmp_path / "in").mkdir()
    (tmp_path / "work").mkdir()
    return tmp_path


def _import(workdir: Path, fmt: str, names: tuple[str, ...], capsys) -> tuple[int, str, Path]:
    files = []
    for name in names:
        shutil.copy(CORPUS / name, workdir / "in" / name)
        files.append(str(workdir / "in" / name))
    out = workdir / "work" / "shop_data"
    rc = main(["import", "--format", fmt, *files, "--out", str(out)])
    captured = capsys.readouterr()
    return rc, captured.err, out


def _check(workdir, rc, err, out, names, expected_rc, expected):
    assert rc == expected_rc, err
    for severity, rule, column, rows in expected:
        assert _prefix(names[0], severity, rule, column, rows) in err, err
    assert "Traceback" not in err
    leftovers = sorted(p.name for p in (workdir / "work").iterdir())
    assert not (workdir / "never-created.key").exists()
    if expected_rc != 0:
        assert "nothing was written" in err
        assert leftovers == [], "a refused import left files behind"
    else:
        assert leftovers == ["shop_data"], leftovers  # no temporary directory left
        assert sorted(p.name for p in out.iterdir()) == ["customers.parquet", "orders.parquet"]


@pytest.mark.parametrize("name", sorted(IMPORT_CASES))
def test_bad_export(name, workdir, capsys):
    fmt, expected_rc, expected = IMPORT_CASES[name]
    rc, err, out = _import(workdir, fmt, (name,), capsys)
    _check(workdir, rc, err, out, (name,), expected_rc, expected)
    if expected_rc == 0:
        orders = pd.read_parquet(out / "orders.parquet")
        text = orders.to_csv() + pd.read_parquet(out / "customers.parquet").to_csv()
        assert "<" not in text and "script" not in text and "tb_" not in text
        if name == "tb_amount_thousands.csv":
            assert orders.set_index("order_id").amount["2025110100001"] == 1128.0
        if name == "tb_amount_currency.csv":
            assert list(orders.amount) == [128.0, 56.5, 88.0, 300.0]
        if name == "tb_unknown_province.csv":
            assert orders.province.isna().sum() == 1


@pytest.mark.parametrize("names", sorted(MULTI_CASES))
def test_bad_export_sets(names, workdir, capsys):
    fmt, expected_rc, expected = MULTI_CASES[names]
    rc, err, out = _import(workdir, fmt, names, capsys)
    _check(workdir, rc, err, out, names, expected_rc, expected)
    orders = pd.read_parquet(out / "orders.parquet").set_index("order_id")
    assert len(orders) == 4
    # the order paid between the two exports: the later file's version is kept
    assert orders.paid_at.notna()["2025110100003"]


@pytest.mark.parametrize("name", sorted(PARAMS_CASES))
def test_bad_params(name, tracking, tmp_path, capsys):
    params = tmp_path / name
    shutil.copy(CORPUS / name, params)
    reports = tmp_path / "reports"
    assert main(["run", str(params), "--horizon", "7", "--reports-dir", str(reports)]) == 2
    err = capsys.readouterr().err
    assert name in err and PARAMS_CASES[name] in err and "Traceback" not in err
    assert not reports.exists()
    client = MlflowClient(tracking_uri=tracking)
    experiments = [e.experiment_id for e in client.search_experiments()]
    assert not experiments or client.search_runs(experiments) == []
    assert not (tmp_path / "etc").exists() and not (tmp_path.parent / "etc").exists()


def test_every_corpus_file_is_covered():
    covered = set(IMPORT_CASES) | {n for names in MULTI_CASES for n in names} | set(PARAMS_CASES)
    on_disk = {p.name for p in CORPUS.iterdir()} - {"README.md"}
    assert on_disk == covered
    assert len(on_disk) >= 25
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(name in readme for name in on_disk)
