"""``crm-exp watch``: the page (en, zh), escaping of params text, and the refusals."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

from crm_experiments.cli.main import main
from tests.conftest import write_params

DAY = "2025-11-04"


def _params(tmp_path, small_shop, **overrides):
    data = yaml.safe_load(small_shop.read_text(encoding="utf-8"))["data"]["path"]
    return write_params(tmp_path / "p.yaml", data, **overrides)


def test_watch_writes_the_page(tmp_path, small_shop, capsys):
    reports = tmp_path / "reports"
    rc = main(["watch", str(small_shop), "--day", DAY, "--reports-dir", str(reports)])
    out = capsys.readouterr().out
    assert rc == 0
    page = reports / "demo_d11" / "watch" / f"{DAY}.html"
    assert page.exists() and str(page) in out
    assert "coupon_100_10 vs control: converted" in out and "Sample ratio OK" in out
    html = page.read_text(encoding="utf-8")
    # the page names the boundary applied (changed from the confidence sequence: issue 18.4)
    assert "Interval for daily looks" in html and "chi-square p = " in html
    assert "Group-sequential 95% intervals planned for 11 daily looks" in html
    assert "Pocock-type spending function" in html and "Critical value |z|" in html
    assert html.count("<td data-cs>") == 4  # two arms x (conversion, revenue)
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert f'data-watch="demo_d11/watch/{DAY}.html"' in index and "活动实时监测页面" in index


def test_watch_in_chinese_escapes_params_text(tmp_path, small_shop):
    hostile = '<script>alert("x")</script><b>'
    params = _params(tmp_path, small_shop, language="zh", display_name=hostile)
    reports = tmp_path / "reports"
    assert main(["watch", str(params), "--day", DAY, "--reports-dir", str(reports)]) == 0
    html = (reports / "demo_d11" / "watch" / f"{DAY}.html").read_text(encoding="utf-8")
    assert "可每日查看的区间" in html and "样本比例检查" in html
    assert "分组序贯 95% 区间" in html and "Pocock 型消耗函数" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<b>" not in html


def test_day_before_the_window_refused(tmp_path, small_shop, capsys):
    reports = tmp_path / "reports"
    rc = main(["watch", str(small_shop), "--day", "2025-10-01", "--reports-dir", str(reports)])
    assert rc == 2
    assert "before the watch window" in capsys.readouterr().err
    assert not reports.exists()


def test_data_not_reaching_the_day_refused(tmp_path, small_shop, capsys):
    src = yaml.safe_load(small_shop.read_text(encoding="utf-8"))["data"]["path"]
    data = tmp_path / "data"
    shutil.copytree(src, data)
    orders = pd.read_parquet(data / "orders.parquet")
    orders[orders["created_at"] < pd.Timestamp("2025-11-03")].to_parquet(
        data / "orders.parquet", index=False)
    params = write_params(tmp_path / "p.yaml", data)
    rc = main(["watch", str(params), "--day", DAY, "--reports-dir", str(tmp_path / "r")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "do not reach 2025-11-04" in err and "2025-11-02" in err


def test_campaign_without_assignments_refused(tmp_path, small_shop, capsys):
    params = _params(tmp_path, small_shop, campaign_id="other_campaign")
    rc = main(["watch", str(params), "--day", DAY, "--reports-dir", str(tmp_path / "r")])
    assert rc == 2
    assert "no assignments for campaign 'other_campaign'" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["2025-13-01", "yesterday"])
def test_bad_day_is_a_usage_error(small_shop, bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["watch", str(small_shop), "--day", bad])
    assert exc.value.code == 2


def test_demo_writes_the_watch_page_of_every_sale_day(tmp_path, small_shop):
    from crm_experiments.cli.demo import write_sale_watch
    from crm_experiments.params import load_params

    params = load_params(_params(tmp_path, small_shop,
                                 sale={"start": "2025-11-01", "end": "2025-11-03"}))
    pages = write_sale_watch(params, tmp_path / "reports", print)
    assert [p.name for p in pages] == ["2025-11-01.html", "2025-11-02.html", "2025-11-03.html"]
    assert "2025-11-03.html" in (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
