"""``run_watches``: the scheduler writes yesterday's watch page while a sale is watched."""

from __future__ import annotations

import datetime as dt
import shutil

from crm_experiments.pipeline.schedule import run_watches


def test_watch_pages_while_the_sale_is_watched(small_shop, tmp_path):
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    shutil.copy(small_shop, campaigns / "d11.yaml")
    reports = tmp_path / "reports"
    out = run_watches(dt.date(2025, 11, 5), campaigns_dir=campaigns, reports_root=reports)
    assert [(o.campaign_id, o.day, o.status) for o in out] == [
        ("demo_d11", dt.date(2025, 11, 4), "written")]
    assert (reports / "demo_d11" / "watch" / "2025-11-04.html").exists()
    assert 'href="demo_d11/watch/2025-11-04.html"' in (reports / "index.html").read_text()
    # outside the watch window: nothing
    assert run_watches(dt.date(2025, 10, 20), campaigns_dir=campaigns,
                       reports_root=reports) == []
    assert run_watches(dt.date(2025, 11, 13), campaigns_dir=campaigns,
                       reports_root=reports) == []


def test_schedule_command_lists_the_watch_page(small_shop, tracking, tmp_path, capsys):
    from crm_experiments.cli.main import main

    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    shutil.copy(small_shop, campaigns / "d11.yaml")
    assert main(["schedule", "--today", "2025-11-03", "--campaigns", str(campaigns),
                 "--reports-dir", str(tmp_path / "reports")]) == 0
    out = capsys.readouterr().out
    assert "nothing due" in out and "watch demo_d11 2025-11-02: written" in out
