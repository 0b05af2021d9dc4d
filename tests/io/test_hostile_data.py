"""Hostile-input corpus (issue 17), part one: the data contract (``crm-exp validate`` and the
loader every command uses) and the Shopify import.

Layout, so that cases for other commands can be added the same way:

* ``VALIDATE_CASES``: ``id -> Case(files, expect, ...)``. ``files`` maps a file name to CSV
  text (``str``) or a pandas frame (written as Parquet, NaN kept as NaN, not null).
  ``expect`` lists the findings that must be printed, as ``E(rule, file, column, rows)`` /
  ``W(...)`` (error / warning, exact 1-based data rows); ``absent`` lists rules that must
  *not* be reported (a legitimate value that must not be refused). Each case carries its
  expected behaviour in ``why``. The test runs ``crm-exp validate DIR --timezone TZ``: exit 1
  with an error, else 0; each expected line is printed (file, column, rows, rule); no
  traceback; nothing is written into the directory; with an error, :func:`load_shop` (what
  ``run``, ``metrics``, ``clv`` call) refuses the data too.
* ``IMPORT_CASES``: ``id -> ImportCase(exports, expect, ...)`` for ``crm-exp import --format
  shopify``: exit code, the printed lines, and that a refused import wrote nothing (no output
  directory, no temporary directory); ``check`` inspects what an accepted import wrote.

Tables are tiny and hand-made; the whole module runs in about 20 s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crm_experiments.cli import main
from crm_experiments.errors import DataValidationError, Finding
from crm_experiments.io.exports.pseudonymise import KEY_ENV, KEY_FILE_ENV
from crm_experiments.io.reader import load_shop

HEAD = "order_id,customer_id,created_at,paid_at,amount,refund_amount"
NY = "America/New_York"


def E(rule, file, column=None, rows=()):  # noqa: N802 - reads like the line it expects
    return ("error", rule, file, column, tuple(rows))


def W(rule, file, column=None, rows=()):  # noqa: N802
    return ("warning", rule, file, column, tuple(rows))


@dataclass
class Case:
    why: str                                   # the expected behaviour, in words
    files: dict[str, str | pd.DataFrame]
    expect: list[tuple] = field(default_factory=list)
    absent: tuple[str, ...] = ()
    tz: str = "Asia/Shanghai"


def orders_csv(*rows: str) -> str:
    return "\n".join([HEAD, *rows]) + "\n"


OK_ROWS = ("o1,c1,2025-11-01 10:00,2025-11-01 10:05,100,0",
           "o2,c2,2025-11-02 11:00,2025-11-02 11:01,50,0")


def orders_frame(**columns) -> pd.DataFrame:
    """Three valid orders (Parquet), with ``columns`` replaced."""
    frame = pd.DataFrame({
        "order_id": ["o1", "o2", "o3"], "customer_id": ["c1", "c2", "c1"],
        "created_at": pd.to_datetime(["2025-11-01 10:00", "2025-11-02 11:00", "2025-11-03 12:00"]),
        "paid_at": pd.to_datetime(["2025-11-01 10:05", "2025-11-02 11:01", "2025-11-03 12:01"]),
        "amount": [100.0, 50.0, 80.0], "refund_amount": [0.0, 0.0, 0.0],
    })
    for name, values in columns.items():
        frame[name] = values
    return frame


def daily_orders(n: int, start: str = "2025-08-01", *extra: str) -> str:
    """``n`` valid orders, one a day from ``start``, then the ``extra`` rows (numbered n+1...)."""
    day0 = dt.date.fromisoformat(start)
    rows = [f"d{i},c{i % 7},{day0 + dt.timedelta(days=i)} 10:00,"
            f"{day0 + dt.timedelta(days=i)} 10:05,10,0" for i in range(n)]
    return orders_csv(*rows, *extra)


COUPONS = "coupon_id,customer_id,face_value\nk1,c1,10\nk2,c2,{}\n"
CONTACTS = "customer_id,campaign_id,channel,sent_at,cost\nc1,d11,sms,2025-10-30 10:00,{}\n"
ASSIGN = "customer_id,campaign_id,arm\n{}\n{}\n"

VALIDATE_CASES: dict[str, Case] = {
    # --- non-finite numbers --------------------------------------------------------------
    "nan_amount_parquet": Case(
        "a NaN amount in Parquet does not parse: error naming the row (was: accepted, then "
        "run/metrics/clv broke)",
        {"orders.parquet": orders_frame(amount=[100.0, np.nan, 80.0])},
        [E("unparseable", "orders.parquet", "amount", [2])]),
    "inf_amount_parquet": Case(
        "+inf amount in Parquet: error", {"orders.parquet": orders_frame(
            amount=[100.0, 50.0, np.inf])},
        [E("unparseable", "orders.parquet", "amount", [3])]),
    "neg_inf_refund_parquet": Case(
        "-inf refund in Parquet: error (not a negative value, not finite)",
        {"orders.parquet": orders_frame(refund_amount=[-np.inf, 0.0, 0.0])},
        [E("unparseable", "orders.parquet", "refund_amount", [1])]),
    "nan_float32_parquet": Case(
        "a float32 NaN amount: the same error",
        {"orders.parquet": orders_frame(amount=np.array([1, 2, np.nan], dtype=np.float32))},
        [E("unparseable", "orders.parquet", "amount", [3])]),
    "nan_amount_csv": Case(
        "'NaN' text in a CSV amount: error",
        {"orders.csv": orders_csv(OK_ROWS[0], "o2,c2,2025-11-02 11:00,,NaN,0")},
        [E("unparseable", "orders.csv", "amount", [2])]),
    "inf_amount_csv": Case(
        "'inf' and '-Infinity' text: errors on both rows",
        {"orders.csv": orders_csv("o1,c1,2025-11-01,,inf,0", "o2,c2,2025-11-02,,-Infinity,0")},
        [E("unparseable", "orders.csv", "amount", [1, 2])]),
    "nan_face_value_parquet": Case(
        "NaN face value of a coupon (Parquet): error in coupons.parquet",
        {"orders.csv": orders_csv(*OK_ROWS), "coupons.parquet": pd.DataFrame(
            {"coupon_id": ["k1", "k2"], "customer_id": ["c1", "c2"],
             "face_value": [10.0, np.nan]})},
        [E("unparseable", "coupons.parquet", "face_value", [2])]),
    # --- absurd magnitudes ---------------------------------------------------------------
    "huge_amount_parquet": Case(
        "1e300 amount: amount_too_large before any SQL sums it (was: DuckDB DECIMAL error)",
        {"orders.parquet": orders_frame(amount=[100.0, 1e300, 80.0])},
        [E("amount_too_large", "orders.parquet", "amount", [2])]),
    "huge_amount_csv": Case(
        "1e300 written in a CSV: the same rule", {"orders.csv": orders_csv(
            OK_ROWS[0], "o2,c2,2025-11-02 11:00,,1e300,0")},
        [E("amount_too_large", "orders.csv", "amount", [2])]),
    "huge_refund_and_amount": Case(
        "a refund of 2e11 on an amount of 3e11: both rows named, one finding per column",
        {"orders.csv": orders_csv("o1,c1,2025-11-01,,300000000000,200000000000")},
        [E("amount_too_large", "orders.csv", "amount", [1]),
         E("amount_too_large", "orders.csv", "refund_amount", [1])]),
    "bound_is_inclusive": Case(
        "exactly 1e11 is allowed (the documented bound), nothing reported",
        {"orders.csv": orders_csv("o1,c1,2025-11-01,,100000000000,0")},
        [], absent=("amount_too_large",)),
    "huge_face_value": Case(
        "a 1e15 coupon face value: error in coupons.csv",
        {"orders.csv": orders_csv(*OK_ROWS), "coupons.csv": COUPONS.format("1e15")},
        [E("amount_too_large", "coupons.csv", "face_value", [2])]),
    "huge_contact_cost": Case(
        "a 1e20 message cost: error in contacts.csv",
        {"orders.csv": orders_csv(*OK_ROWS), "contacts.csv": CONTACTS.format("1e20")},
        [E("amount_too_large", "contacts.csv", "cost", [1])]),
    # --- stray dates ---------------------------------------------------------------------
    "stray_order_2100": Case(
        "one order dated 2100 among 120: it would move the data end, it is in the future: "
        "error naming the row (was: a 30-day window looked complete)",
        {"orders.csv": daily_orders(120, "2025-06-01", "x1,c1,2100-01-01 10:00,,10,0")},
        [E("stray_date", "orders.csv", "created_at", [121]),
         W("future_date", "orders.csv", "created_at", [121])]),
    "stray_order_end_past": Case(
        "one order 200 days after 150 others, not in the future: a warning naming it (a shop "
        "reopening after a break is legitimate)",
        {"orders.csv": daily_orders(150, "2024-01-01", "x1,c1,2025-01-15 10:00,,10,0")},
        [W("stray_date", "orders.csv", "created_at", [151])], absent=("future_date",)),
    "stray_order_start": Case(
        "one order in 2015 before 120 orders of 2025: warning (it only moves the start)",
        {"orders.csv": daily_orders(120, "2025-05-01", "x1,c1,2015-03-01 10:00,,10,0")},
        [W("stray_date", "orders.csv", "created_at", [121])]),
    "season_after_gap_not_stray": Case(
        "a second season after a 120-day break holding more than 1% of orders: legitimate, "
        "no stray_date",
        {"orders.csv": daily_orders(100, "2024-01-01") + "\n".join(
            f"s{i},c1,2024-09-{i + 1:02d} 10:00,,10,0" for i in range(5)) + "\n"},
        [], absent=("stray_date",)),
    "two_orders_far_apart": Case(
        "two orders a year apart: too few to call one of them stray, nothing reported",
        {"orders.csv": orders_csv("o1,c1,2024-01-01,,1,0", "o2,c1,2025-01-01,,1,0")},
        [], absent=("stray_date",)),
    # --- time zones and daylight saving ---------------------------------------------------
    "offsets_across_fall_back": Case(
        "created 01:50 EDT, paid 01:10 EST (20 minutes later): valid, not paid-before-created, "
        "not ambiguous (the offsets make them instants) (was: refused)",
        {"orders.csv": orders_csv("o1,c1,2025-11-02 01:50:00-04:00,2025-11-02 01:10:00-05:00,"
                                  "10,0")},
        [], absent=("paid_before_created", "local_time_ambiguous"), tz=NY),
    "offsets_really_paid_before": Case(
        "created 01:10 EST, paid 01:50 EDT (40 minutes earlier): paid before created, error",
        {"orders.csv": orders_csv("o1,c1,2025-11-02 01:10:00-05:00,2025-11-02 01:50:00-04:00,"
                                  "10,0")},
        [E("paid_before_created", "orders.csv", "paid_at", [1])], tz=NY),
    "zone_aware_parquet_across_fall_back": Case(
        "the same valid order as zone-aware Parquet: accepted, nothing flagged",
        {"orders.parquet": pd.DataFrame({
            "order_id": ["o1"], "customer_id": ["c1"],
            "created_at": pd.to_datetime(["2025-11-02 05:50"]).tz_localize("UTC"),
            "paid_at": pd.to_datetime(["2025-11-02 06:10"]).tz_localize("UTC"),
            "amount": [10.0]})},
        [], absent=("paid_before_created", "local_time_ambiguous"), tz=NY),
    "naive_in_spring_gap": Case(
        "02:30 on 2025-03-09 does not exist in New York: warning naming the row",
        {"orders.csv": orders_csv("o1,c1,2025-03-09 01:30,,10,0", "o2,c1,2025-03-09 02:30,,10,0")},
        [W("local_time_gap", "orders.csv", "created_at", [2])], tz=NY),
    "naive_in_fall_fold": Case(
        "01:30 on 2025-11-02 happens twice in New York: warning naming the row",
        {"orders.csv": orders_csv("o1,c1,2025-11-02 00:30,,10,0", "o2,c1,2025-11-02 01:30,,10,0")},
        [W("local_time_ambiguous", "orders.csv", "created_at", [2])], tz=NY),
    "naive_fold_paid_earlier_clock": Case(
        "naive 01:50 created, 01:10 paid, both in the repeated hour: could be valid, so no "
        "paid_before_created error; both columns flagged ambiguous",
        {"orders.csv": orders_csv("o1,c1,2025-11-02 01:50,2025-11-02 01:10,10,0")},
        [W("local_time_ambiguous", "orders.csv", "created_at", [1]),
         W("local_time_ambiguous", "orders.csv", "paid_at", [1])],
        absent=("paid_before_created",), tz=NY),
    "offset_value_in_gap_not_flagged": Case(
        "02:30-05:00 on the spring-forward day is a real instant (03:30 EDT): not flagged",
        {"orders.csv": orders_csv("o1,c1,2025-03-09 02:30:00-05:00,,10,0")},
        [], absent=("local_time_gap",), tz=NY),
    "no_dst_zone_nothing_flagged": Case(
        "the same clock times in Asia/Shanghai (no daylight saving): nothing flagged",
        {"orders.csv": orders_csv("o1,c1,2025-03-09 02:30,,10,0", "o2,c1,2025-11-02 01:30,,1,0")},
        [], absent=("local_time_gap", "local_time_ambiguous")),
    "gap_in_contacts_sent_at": Case(
        "a nonexistent send time in contacts: warning in contacts.csv",
        {"orders.csv": orders_csv("o1,c1,2025-03-01,,10,0"),
         "contacts.csv": "customer_id,campaign_id,channel,sent_at\nc1,d11,sms,2025-03-09 02:15\n"},
        [W("local_time_gap", "contacts.csv", "sent_at", [1])], tz=NY),
    # --- ids between tables --------------------------------------------------------------
    "leading_zeros_assignments": Case(
        "assignments '00123' vs orders 123 (integers in Parquet): error, ids not rewritten",
        {"orders.parquet": orders_frame(customer_id=[123, 456, 123]),
         "assignments.csv": ASSIGN.format("00123,d11,control", "456,d11,c100_10")},
        [E("id_leading_zeros", "assignments.csv", "customer_id", [1])]),
    "leading_zeros_customers": Case(
        "orders '007' vs customers 7 (integers): error in orders.csv",
        {"orders.csv": orders_csv("o1,007,2025-11-01,,10,0", "o2,8,2025-11-01,,10,0"),
         "customers.parquet": pd.DataFrame({"customer_id": [7, 8]})},
        [E("id_leading_zeros", "orders.csv", "customer_id", [1])]),
    "leading_zeros_review_order": Case(
        "reviews order_id '0001' vs orders 1: error in reviews.csv",
        {"orders.csv": orders_csv("1,c1,2025-11-01,,10,0"),
         "reviews.csv": "order_id,polarity\n0001,positive\n1,positive\n"},
        [E("id_leading_zeros", "reviews.csv", "order_id", [1])]),
    "ids_differ_only_in_type": Case(
        "customer ids integers in orders.parquet, the same digits as text in assignments: "
        "ids are text after staging, so they match; nothing reported",
        {"orders.parquet": orders_frame(customer_id=[123, 456, 123]),
         "assignments.csv": ASSIGN.format("123,d11,control", "456,d11,c100_10")},
        [], absent=("id_leading_zeros",)),
    "float_ids_match_text": Case(
        "ids stored as floats (123.0) match '123': nothing reported",
        {"orders.parquet": orders_frame(customer_id=[123.0, 456.0, 123.0]),
         "assignments.csv": ASSIGN.format("123,d11,control", "456,d11,c100_10")},
        [], absent=("id_leading_zeros",)),
    "nan_survey_score_parquet": Case(
        "a NaN survey score (Parquet): unparseable, error in surveys.parquet",
        {"orders.csv": orders_csv(*OK_ROWS), "surveys.parquet": pd.DataFrame({
            "customer_id": ["c1", "c2"], "answered_at": pd.to_datetime(["2025-11-05"] * 2),
            "score": [5.0, np.nan], "scale": ["csat5", "csat5"]})},
        [E("unparseable", "surveys.parquet", "score", [2])]),
    "inf_interaction_value_parquet": Case(
        "an infinite interaction value (points): unparseable, error",
        {"orders.csv": orders_csv(*OK_ROWS), "interactions.parquet": pd.DataFrame({
            "customer_id": ["c1"], "at": pd.to_datetime(["2025-11-05"]),
            "kind": ["points_earned"], "value": [np.inf]})},
        [E("unparseable", "interactions.parquet", "value", [1])]),
    "two_stray_orders_2100_parquet": Case(
        "two orders in 2100 (zone-aware Parquet) among 300: both rows named, error",
        {"orders.parquet": pd.DataFrame({
            "order_id": [f"o{i}" for i in range(302)], "customer_id": ["c1"] * 302,
            "created_at": pd.DatetimeIndex(
                [*pd.date_range("2025-01-01", periods=300, freq="D"),
                 pd.Timestamp("2100-01-01"), pd.Timestamp("2100-02-01")]).tz_localize("UTC"),
            "amount": [10.0] * 302})},
        [E("stray_date", "orders.parquet", "created_at", [301, 302])]),
    "leading_zeros_redeemed_order": Case(
        "coupons' redeemed_order_id '042' vs orders 42: error in coupons.csv",
        {"orders.csv": orders_csv("42,c1,2025-11-01,,10,0"),
         "coupons.csv": "coupon_id,customer_id,face_value,redeemed_order_id\nk1,c1,5,042\n"},
        [E("id_leading_zeros", "coupons.csv", "redeemed_order_id", [1])]),
    "leading_zeros_contacts": Case(
        "contacts '0099' vs orders 99: error in contacts.csv",
        {"orders.csv": orders_csv("o1,99,2025-11-01,,10,0"),
         "contacts.csv": "customer_id,campaign_id,channel,sent_at\n0099,d11,sms,2025-10-30\n"},
        [E("id_leading_zeros", "contacts.csv", "customer_id", [1])]),
    "zero_padded_ids_everywhere": Case(
        "'007' in orders and in assignments (both text): the same id, nothing reported",
        {"orders.csv": orders_csv("o1,007,2025-11-01,,10,0"),
         "assignments.csv": ASSIGN.format("007,d11,control", "008,d11,c100_10")},
        [], absent=("id_leading_zeros",)),
    "decimal_ids_match_text": Case(
        "ids stored as DECIMAL(10, 2) (123.00) are the ids '123' of customers.csv: nothing "
        "reported (was: '123.00', every order's customer unknown)",
        {"orders.parquet": orders_frame(customer_id=[Decimal("123.00"), Decimal("456.00"),
                                                     Decimal("123.00")]),
         "customers.csv": "customer_id\n123\n456\n"},
        [], absent=("id_leading_zeros", "unknown_customer")),
    "nan_customer_id_float": Case(
        "a NaN customer id in a float id column: an error naming the row (was: DuckDB could "
        "not read the file, a cast error without a row)",
        {"orders.parquet": orders_frame(customer_id=[1.0, np.nan, 2.0])},
        [E("unparseable", "orders.parquet", "customer_id", [2])], absent=("unreadable_file",)),
}


def _prefix(severity: str, rule: str, file: str, column: str | None,
            rows: tuple[int, ...]) -> str:
    """The start of the line crm-exp prints for this finding (message excluded)."""
    return str(Finding(file=file, rule=rule, message="", column=column, rows=rows,
                       n_rows=len(rows), severity=severity)).rstrip()  # type: ignore[arg-type]


def _write(directory: Path, files: dict[str, str | pd.DataFrame]) -> Path:
    directory.mkdir()
    for name, content in files.items():
        if isinstance(content, str):
            (directory / name).write_text(content, encoding="utf-8")
        else:  # float columns keep NaN as NaN (pandas would write it as null)
            table = pa.Table.from_pandas(content, preserve_index=False)
            for i, column in enumerate(table.column_names):
                if content[column].dtype.kind == "f":
                    table = table.set_column(i, column, pa.array(content[column].to_numpy()))
            pq.write_table(table, directory / name)
    return directory


@pytest.mark.parametrize("case_id", sorted(VALIDATE_CASES))
def test_validate_hostile(case_id, tmp_path, capsys):
    case = VALIDATE_CASES[case_id]
    shop = _write(tmp_path / "shop", case.files)
    before = sorted(p.name for p in shop.iterdir())
    rc = main(["validate", str(shop), "--timezone", case.tz])
    out, err = capsys.readouterr()
    has_error = any(e[0] == "error" for e in case.expect)
    assert rc == (1 if has_error else 0), out + err
    for expected in case.expect:
        assert _prefix(*expected) + " " in out, out
    for rule in case.absent:
        assert f"[{rule}]" not in out, out
    assert "Traceback" not in out + err
    assert sorted(p.name for p in shop.iterdir()) == before  # nothing written
    if has_error:  # what run / metrics / clv load refuses the data the same way
        with pytest.raises(DataValidationError) as info:
            load_shop(shop, timezone=case.tz)
        first = next(e for e in case.expect if e[0] == "error")
        assert _prefix(*first) in str(info.value)


@pytest.mark.parametrize("amount", [np.nan, np.inf, 1e300], ids=["nan", "inf", "1e300"])
def test_metrics_refuses_non_finite_and_absurd_amounts(amount, tmp_path, capsys):
    """``crm-exp metrics`` on such an amount: exit 2 with the validation line, no traceback
    and no DuckDB SQL (was: a traceback, or a DECIMAL conversion error quoting its SQL)."""
    shop = _write(tmp_path / "shop", {"orders.parquet": orders_frame(
        amount=[100.0, amount, 80.0])})
    rc = main(["metrics", str(shop), "--as-of", "2025-11-10"])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert rc == 2, text  # the CLI's exit code for data it cannot use
    assert "orders.parquet, column 'amount', row 2:" in text
    assert "Traceback" not in text and "DECIMAL" not in text and "SELECT" not in text


# --- crm-exp import --format shopify ---------------------------------------------------------
SHOPIFY_HEAD = ("Name,Email,Financial Status,Paid at,Currency,Total,Discount Code,"
                "Discount Amount,Created at")


def shopify(*rows: str) -> str:
    return "\n".join([SHOPIFY_HEAD, *rows]) + "\n"


def order(name="#1001", email="ann@example.com", status="paid",
          paid="2025-11-01 10:05:00 +0800", currency="CNY", total="10.00", code="",
          created="2025-11-01 10:00:00 +0800") -> str:
    return f"{name},{email},{status},{paid},{currency},{total},{code},0.00,{created}"


def _parquet_text(path: Path) -> str:
    frame = pd.read_parquet(path)
    return " ".join(str(v) for v in frame.astype(str).to_numpy().ravel())


@dataclass
class ImportCase:
    why: str
    exports: dict[str, str]
    expect: list[tuple] = field(default_factory=list)
    tz: str = "Asia/Shanghai"
    check: Callable[[Path], None] | None = None


def _dst_order_kept(out: Path) -> None:
    o = pd.read_parquet(out / "orders.parquet")
    # shop-local wall-clock times, as the analyses use them
    assert o.created_at[0] == pd.Timestamp("2025-11-02 01:50")
    assert o.paid_at[0] == pd.Timestamp("2025-11-02 01:10")


def _codes_pseudonymised(out: Path) -> None:
    o = pd.read_parquet(out / "orders.parquet")
    assert o.coupon_id.str.match(r"^d_[0-9a-f]{16}$").all()
    assert o.coupon_id.nunique() == 2  # distinct codes stay distinct, equal codes equal
    text = _parquet_text(out / "orders.parquet").upper()
    assert "ANNLEE" not in text and "VIP" not in text and "SUMMER" not in text


IMPORT_CASES: dict[str, ImportCase] = {
    "two_currencies": ImportCase(
        "two exports in CNY and USD: refused naming the second file (was: merged silently)",
        {"a.csv": shopify(order()), "b.csv": shopify(order("#1002", currency="USD"))},
        [E("mixed_currency", "b.csv", "Currency")]),
    "currency_case_only": ImportCase(
        "'cny' and 'CNY' are one currency: accepted",
        {"a.csv": shopify(order()), "b.csv": shopify(order("#1002", currency="cny"))}),
    "dst_order_with_offsets": ImportCase(
        "New York shop: created 01:50 EDT, paid 01:10 EST on the fall-back night: a valid "
        "order, imported (was: paid_before_created, whole import refused)",
        {"a.csv": shopify(order(created="2025-11-02 01:50:00 -0400",
                                paid="2025-11-02 01:10:00 -0500"))},
        tz=NY, check=_dst_order_kept),
    "dst_really_paid_before": ImportCase(
        "created 01:10 EST, paid 01:50 EDT: paid 40 minutes before creation, refused",
        {"a.csv": shopify(order(created="2025-11-02 01:10:00 -0500",
                                paid="2025-11-02 01:50:00 -0400"))},
        [E("paid_before_created", "a.csv", "Paid at", [1])], tz=NY),
    "personal_discount_code": ImportCase(
        "a VIP-<name> discount code is stored pseudonymised (d_ + hex), never verbatim",
        {"a.csv": shopify(order(code="VIP-ANNLEE"), order("#1002", code="SUMMER10"),
                          order("#1003", code="vip-annlee"))},
        check=_codes_pseudonymised),
    "naive_time_in_spring_gap": ImportCase(
        "New York shop, 'Created at' 02:30 without offset on the spring-forward day: imported, "
        "with a warning naming the row (the time does not exist)",
        {"a.csv": shopify(order(created="2025-03-09 02:30:00", paid="2025-03-09 03:40:00"))},
        [W("local_time_gap", "a.csv", "Created at", [1])], tz=NY),
    "naive_time_in_fold": ImportCase(
        "'Paid at' 01:30 without offset on the fall-back night: imported, warning (ambiguous)",
        {"a.csv": shopify(order(created="2025-11-02 00:30:00", paid="2025-11-02 01:30:00"))},
        [W("local_time_ambiguous", "a.csv", "Paid at", [1])], tz=NY),
    "one_file_two_currencies": ImportCase(
        "one export with CNY and USD orders: refused (mixed_currency), nothing written",
        {"a.csv": shopify(order(), order("#1002", currency="USD"))},
        [E("mixed_currency", "a.csv", "Currency")]),
    "huge_total": ImportCase(
        "a Total of 1e14: amount_too_large, nothing written",
        {"a.csv": shopify(order(total="100000000000000"))},
        [E("amount_too_large", "a.csv", "Total", [1])]),
    "nan_total": ImportCase(
        "'NaN' as Total: not an amount, nothing written",
        {"a.csv": shopify(order(total="NaN"))}, [E("unparseable", "a.csv", "Total", [1])]),
    "inf_total": ImportCase(
        "'inf' as Total: not an amount, nothing written",
        {"a.csv": shopify(order(total="inf"))}, [E("unparseable", "a.csv", "Total", [1])]),
}


@pytest.mark.parametrize("case_id", sorted(IMPORT_CASES))
def test_import_hostile(case_id, tmp_path, monkeypatch, capsys):
    case = IMPORT_CASES[case_id]
    monkeypatch.setenv(KEY_ENV, "hostile-corpus-key-0123456789")
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "never-created.key"))
    (tmp_path / "in").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    files = []
    for name, text in case.exports.items():
        (tmp_path / "in" / name).write_text(text, encoding="utf-8")
        files.append(str(tmp_path / "in" / name))
    out = work / "shop_data"
    rc = main(["import", "--format", "shopify", *files, "--out", str(out),
               "--timezone", case.tz])
    captured = capsys.readouterr()
    err = captured.err + captured.out
    has_error = any(e[0] == "error" for e in case.expect)
    assert "Traceback" not in err
    for expected in case.expect:
        assert _prefix(*expected) in err, err
    if has_error:
        assert rc == 1, err
        assert "nothing was written" in err
        assert list(work.iterdir()) == []  # no output, no temporary directory left
    else:
        assert rc == 0, err
        assert sorted(p.name for p in work.iterdir()) == ["shop_data"]
        if case.check is not None:
            case.check(out)
