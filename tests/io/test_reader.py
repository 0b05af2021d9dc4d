"""Reading a data directory: canonical types, timezones, CSV = Parquet, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import narwhals as nw
import pandas as pd
import pytest

from crm_experiments import cli
from crm_experiments.errors import CrmError
from crm_experiments.io import engine
from crm_experiments.io.engine import collect, scalar
from crm_experiments.io.reader import ShopData, load_shop

ORDERS = """order_id,customer_id,created_at,paid_at,amount,discount,refund_amount,province
001,c1,2025-11-01 10:00:00,2025-11-01T10:05:00+08:00,100.5,10,0,浙江
002,c2,2025/11/01 10:00,2025-11-01T02:00:00Z,50,,,广东
003, c1 ,2025-11-02,,80,0,0,
"""


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_types_formats_and_timezone(tmp_path):
    data = load_shop(write(tmp_path / "s", {"orders.csv": ORDERS}))
    assert isinstance(data, ShopData) and data.has("orders") and not data.has("customers")
    orders = data["orders"]
    types = orders.collect_schema()
    assert types["order_id"] == nw.String and types["amount"] == nw.Float64
    assert types["created_at"] == nw.Datetime and types["paid_at"] == nw.Datetime
    assert list(orders.columns[:3]) == ["order_id", "customer_id", "created_at"]
    df = collect(orders.sort("order_id"))
    assert list(df.order_id) == ["001", "002", "003"]          # ids stay text
    assert list(df.customer_id) == ["c1", "c2", "c1"]          # trimmed
    assert list(df.created_at) == [pd.Timestamp("2025-11-01 10:00"),
                                   pd.Timestamp("2025-11-01 10:00"), pd.Timestamp("2025-11-02")]
    # +08:00 stays 10:05; 02:00 UTC (Z) is 10:00 in Asia/Shanghai; naive = shop-local
    assert df.paid_at[0] == pd.Timestamp("2025-11-01 10:05")
    assert df.paid_at[1] == pd.Timestamp("2025-11-01 10:00")
    assert pd.isna(df.paid_at[2]) and df.paid_at.dt.tz is None
    assert "shipped_at" in orders.columns  # absent optional columns are typed nulls


def test_utc_offset_becomes_local_time_in_the_given_timezone(tmp_path):
    text = "order_id,customer_id,created_at,amount\no1,c1,2025-11-01 00:00:00+00:00,1\n"
    shop = write(tmp_path / "s", {"orders.csv": text})
    sh = scalar(load_shop(shop, timezone="Asia/Shanghai")["orders"].select("created_at"))
    ny = scalar(load_shop(shop, timezone="America/New_York")["orders"].select("created_at"))
    assert sh == pd.Timestamp("2025-11-01 08:00") and ny == pd.Timestamp("2025-10-31 20:00")


def test_csv_and_parquet_give_the_same_tables(tmp_path):
    csv_dir = write(tmp_path / "csv", {
        "orders.csv": ORDERS,
        "customers.csv": "customer_id,tier,birthday,vip_points\nc1,gold,1990-05-01,120\n"
                         "c2,,1985-01-31,7\n",
    })
    pq_dir = tmp_path / "parquet"
    pq_dir.mkdir()
    pd.DataFrame({
        "order_id": ["001", "002", "003"], "customer_id": ["c1", "c2", " c1 "],
        "created_at": pd.to_datetime(["2025-11-01 10:00", "2025-11-01 10:00", "2025-11-02 00:00"]),
        "paid_at": pd.to_datetime(["2025-11-01 02:05", "2025-11-01 02:00", None], utc=True),
        "amount": [100.5, 50, 80], "discount": [10, None, 0], "refund_amount": [0, None, 0],
        "province": ["浙江", "广东", None],
    }).to_parquet(pq_dir / "orders.parquet")
    pd.DataFrame({"customer_id": ["c1", "c2"], "tier": ["gold", None],
                  "birthday": pd.to_datetime(["1990-05-01", "1985-01-31"]).date,
                  "vip_points": [120, 7]}).to_parquet(pq_dir / "customers.parquet")
    a, b = load_shop(csv_dir), load_shop(pq_dir)
    for name in ("orders", "customers"):
        assert a[name].collect_schema() == b[name].collect_schema(), name
        pd.testing.assert_frame_equal(collect(a[name].sort(a[name].columns[0])),
                                      collect(b[name].sort(b[name].columns[0])))
    assert a["customers"].collect_schema()["vip_points"] == nw.Int64  # extra column kept, typed


def test_missing_table_explains_which_analyses_need_it(tmp_path):
    data = load_shop(write(tmp_path / "s", {"orders.csv": ORDERS}))
    with pytest.raises(CrmError, match=r"surveys.*satisfaction"):
        data["surveys"]


def test_loads_share_one_engine_connection(tmp_path):
    con = engine.connect(threads=1, memory_limit="1GB")
    shop = write(tmp_path / "s", {"orders.csv": ORDERS})
    a, b = load_shop(shop, con=con), load_shop(shop, con=con)
    assert a.con is b.con is con
    assert scalar(a["orders"].select(nw.len())) == scalar(b["orders"].select(nw.len())) == 3


NEGATIVE_ROW_3 = ("order_id,customer_id,created_at,amount\n"
                  "o1,c1,2025-11-01,10\no2,c2,2025-11-01,20\no3,c3,2025-11-01,-30\n")


def test_cli_reports_file_column_row_and_rule(tmp_path, capsys):
    shop = write(tmp_path / "s", {"orders.csv": NEGATIVE_ROW_3})
    assert cli.main(["validate", str(shop)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "negative_value" in x)
    assert "orders.csv" in line and "'amount'" in line and "row 3" in line
    assert "1 error" in out

    assert cli.main(["validate", str(shop), "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["errors"] == 1 and payload["findings"][0]["rows"] == [3]


def test_cli_exit_codes(tmp_path, capsys):
    clean = write(tmp_path / "clean", {"orders.csv": NEGATIVE_ROW_3.replace("-30", "30")})
    assert cli.main(["validate", str(clean)]) == 0
    warn = write(tmp_path / "warn", {"orders.csv": NEGATIVE_ROW_3.replace("-30", "30")
                                     .replace("2025-11-01,20", "1999-01-01,20")})
    assert cli.main(["validate", str(warn)]) == 0
    assert "ancient_date" in capsys.readouterr().out
    assert cli.main(["validate", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_installed_console_script(tmp_path):
    shop = write(tmp_path / "s", {"orders.csv": NEGATIVE_ROW_3})
    script = Path(sys.executable).parent / "crm-exp"
    if not script.exists():
        pytest.skip("crm-exp console script not installed in this environment")
    done = subprocess.run([str(script), "validate", str(shop)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stderr
    assert "orders.csv" in done.stdout and "amount" in done.stdout
    assert "row 3" in done.stdout and "negative_value" in done.stdout


def test_now_is_not_needed_for_reading(tmp_path):
    # reading never depends on the clock; only the future_date rule does
    data = load_shop(write(tmp_path / "s", {"orders.csv": ORDERS}), validate=False)
    assert scalar(data["orders"].select(nw.col("created_at").max())) == dt.datetime(2025, 11, 2)
