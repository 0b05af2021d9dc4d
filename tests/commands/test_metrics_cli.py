"""``crm-exp metrics`` on the hand-built shop of tests/metrics/conftest.py, written as CSV."""

import json

import pandas as pd
import pytest

from crm_experiments.cli import main
from tests.metrics.conftest import EXPECTED_STATES, orders_frame


@pytest.fixture
def data_dir(tmp_path):
    orders = orders_frame()
    fmt = "%Y-%m-%d %H:%M:%S"
    for col in ("created_at", "paid_at", "shipped_at"):
        orders[col] = orders[col].dt.strftime(fmt)
    orders.to_csv(tmp_path / "orders.csv", index=False)
    members = sorted(set(orders["customer_id"]))      # A..M; K (unpaid) and M (on d) no state
    pd.DataFrame({"customer_id": members}).to_csv(tmp_path / "customers.csv", index=False)
    return tmp_path


def _run(capsys, *argv):
    code = main(["metrics", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_hand_derived(data_dir, capsys):
    code, out, _ = _run(capsys, data_dir, "--as-of", "2025-11-01", "--json")
    assert code == 0
    h = json.loads(out)
    assert (h["as_of"], h["period_months"], h["timezone"]) == ("2025-11-01", 3, "Asia/Shanghai")
    lc = h["lifecycle"]
    counts = {s["state"]: s["customers"] for s in lc["states"]}
    expected = pd.Series(EXPECTED_STATES).value_counts().to_dict()
    assert {k: v for k, v in counts.items() if v} == expected
    # 11 customers with a state: A L new_one, B, C, D active (5); E F silent; G H J; I
    assert lc["customers_with_state"] == 11 and lc["active"] == 5
    assert lc["active_share"] == pytest.approx(5 / 11)
    shares = {s["state"]: s["share"] for s in lc["states"]}
    assert shares["sleeping"] == pytest.approx(3 / 11)
    assert lc["no_purchase_yet"] == 1  # K; not M, whose first purchase is on d itself
    st = h["stickiness"]
    # [08-01, 11-01): A, B (2), C, D (2), L -> 5 buyers, 2 repeat, revenue 500
    assert (st["buyers"], st["repeat_buyers"]) == (5, 2)
    assert st["repeat_purchase_rate"] == pytest.approx(0.4)
    assert st["arpu"] == pytest.approx(100.0)
    rt = h["retention"]
    # buyers of [05-01, 08-01): E (05-01 00:00) and F (07-31 23:59); neither bought in
    # [08-01, 08-31) -> 0 of 2, complete since 08-31 <= 11-01
    assert rt["complete"] and (rt["buyers"], rt["retained"]) == (2, 0)
    assert rt["retention_rate"] == 0.0


def test_retention_not_complete_is_null(data_dir, capsys):
    # 100 days after 08-01 is 11-09 > 11-01: the follow-up is not complete
    code, out, _ = _run(capsys, data_dir, "--as-of", "2025-11-01", "--retention-days", 100,
                        "--json")
    rt = json.loads(out)["retention"]
    assert code == 0 and rt["complete"] is False
    assert rt["retention_rate"] is None and rt["retained"] is None and rt["buyers"] == 2


def test_table_output_and_period(data_dir, capsys):
    code, out, _ = _run(capsys, data_dir, "--as-of", "2025-11-01", "--period-months", 6)
    assert code == 0
    assert "P = 6 months" in out and "repeat purchase rate" in out and "retention" in out


def test_bad_date_is_a_clear_error(data_dir, capsys):
    code, _, err = _run(capsys, data_dir, "--as-of", "first of may")
    assert code == 2 and "--as-of" in err
    code, _, err = _run(capsys, data_dir / "nowhere", "--as-of", "2025-11-01")
    assert code == 2 and "nowhere" in err


def test_table_output_without_buyers_in_the_periods(data_dir, capsys):
    """Before the shop's first order: no buyers in either period, no crash in text mode."""
    code, out, err = _run(capsys, data_dir, "--as-of", "2024-06-01")
    assert code == 0, err
    assert "buyers 0" in out and "no buyers in that window" in out



def test_closed_pipe_is_not_a_traceback(data_dir):
    """`crm-exp metrics ... --json | head -1`: the reader goes away, no traceback."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "crm_experiments.cli", "metrics",
                             str(data_dir), "--as-of", "2025-11-01", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # like `head` exiting before the command writes
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert not any(s in err for s in (b"Traceback", b"BrokenPipe", b"Exception ignored")), err
