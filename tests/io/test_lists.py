"""Campaign lists per arm -> assignments and contacts: refusals, re-runs, and the README's
walk from exports to a report run command by command."""

from __future__ import annotations

import re
import shlex

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from crm_experiments.cli import main
from crm_experiments.demo.generator import generate_shop
from crm_experiments.errors import DataValidationError
from crm_experiments.io.exports.lists import import_lists
from crm_experiments.io.exports.pseudonymise import KEY_ENV, Pseudonymiser
from crm_experiments.params import load_params
from tests.conftest import REPO, write_params
from tests.io.export_fakes import campaign_lists, taobao_export

KEY = "lists-test-key-0123456789abcdef"
NICKS = ["nick_a", "nick_b", "nick_c", "nick_d", "快乐小明"]


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    return Pseudonymiser(KEY.encode())


@pytest.fixture
def shop_dir(tmp_path, key):
    """A data directory whose customers are NICKS (as the import would write it)."""
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame({"customer_id": [key.customer_id("taobao", n) for n in NICKS],
                  "first_order_at": pd.Timestamp("2025-01-01")}).to_parquet(
        data / "customers.parquet", index=False)
    return data


def _list(path, rows, header="买家会员名,发送时间,渠道,费用", encoding="utf-8"):
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def _findings(exc):
    return {(f.file, f.column, f.rule): f for f in exc.value.findings}


def test_lists_write_assignments_and_treatment_contacts(tmp_path, shop_dir, key, capsys):
    control = _list(tmp_path / "control.csv", [" nick_a ", "nick_b"], header="买家昵称",
                    encoding="gbk")
    treat = _list(tmp_path / "treat.csv", ["nick_c,2025-10-22 10:00,sms,0.05",
                                           "nick_c,2025-10-25 10:00,sms,0.05",
                                           "快乐小明,2025-10-22 10:00,,",
                                           "nick_d,,,"])
    assert main(["lists", "--source", "taobao", "--data", str(shop_dir), "--campaign-id",
                 "c1", "--arm", f"control={control}", "--arm", f"coupon={treat}",
                 "--channel", "wangwang", "--cost", "0.01", "--assigned-at",
                 "2025-10-20"]) == 0
    out = capsys.readouterr()
    assert "nick_" not in out.out + out.err and KEY not in out.out + out.err
    a = pd.read_csv(shop_dir / "assignments.csv")
    assert list(a.columns) == ["customer_id", "campaign_id", "arm", "assigned_at"]
    assert dict(a.arm.value_counts()) == {"control": 2, "coupon": 3}
    assert set(a.customer_id) == {key.customer_id("taobao", n) for n in NICKS}
    assert (a.assigned_at == "2025-10-20 00:00:00").all()
    c = pd.read_csv(shop_dir / "contacts.csv")
    assert len(c) == 3  # nick_d was not messaged; the control arm gets no contacts
    assert sorted(c.channel) == ["sms", "sms", "wangwang"]
    assert sorted(c.cost) == [0.01, 0.05, 0.05]
    assert (c.customer_id == key.customer_id("taobao", "nick_c")).sum() == 2
    assert [p.name for p in shop_dir.iterdir() if p.name.startswith(".")] == []


def test_rerun_replaces_the_campaigns_rows_and_keeps_other_campaigns(tmp_path, shop_dir):
    pd.DataFrame({"customer_id": ["x1", "x2"], "campaign_id": ["old", "c1"],
                  "arm": ["a", "b"], "assigned_at": ["2025-01-01", ""]}).to_csv(
        shop_dir / "assignments.csv", index=False)
    first = _list(tmp_path / "t.csv", ["nick_a,2025-10-22,sms,0.05", "nick_b,2025-10-22,sms,"])
    ctrl = _list(tmp_path / "c.csv", ["nick_c"], header="nick")
    r = import_lists([("control", ctrl), ("t", first)], shop_dir, fmt="taobao",
                     campaign_id="c1")
    assert r.replaced_assignments == 1 and r.replaced_contacts == 0
    second = _list(tmp_path / "t2.csv", ["nick_d,2025-10-23,sms,0.05"])
    r = import_lists([("control", ctrl), ("t", second)], shop_dir, fmt="taobao",
                     campaign_id="c1")
    assert r.replaced_assignments == 3 and r.replaced_contacts == 2
    a = pd.read_csv(shop_dir / "assignments.csv", dtype=str, keep_default_na=False)
    assert sorted(zip(a.campaign_id, a.arm, strict=True)) == [
        ("c1", "control"), ("c1", "t"), ("old", "a")]
    assert a[a.campaign_id == "old"].customer_id.tolist() == ["x1"]
    c = pd.read_csv(shop_dir / "contacts.csv")
    assert len(c) == 1 and c.sent_at.iloc[0] == "2025-10-23 00:00:00"


def _refused(tmp_path, shop_dir, arms, **kw):
    before = sorted(p.name for p in shop_dir.iterdir())
    with pytest.raises(DataValidationError) as exc:
        import_lists(arms, shop_dir, fmt=kw.pop("fmt", "taobao"), campaign_id="c1", **kw)
    assert sorted(p.name for p in shop_dir.iterdir()) == before  # nothing written
    return exc


def test_a_list_matching_no_customer_is_refused(tmp_path, shop_dir):
    other = _list(tmp_path / "other_shop.csv", ["stranger1", "stranger2"], header="买家会员名")
    ok = _list(tmp_path / "ok.csv", ["nick_a"], header="买家会员名")
    exc = _refused(tmp_path, shop_dir, [("control", ok), ("t", other)])
    f = _findings(exc)[("other_shop.csv", "买家会员名", "no_matching_customer")]
    assert f.rows == (1, 2) and "none of the 2 buyers" in f.message
    # the same nicks pseudonymised as Shopify e-mails match nobody either
    exc = _refused(tmp_path, shop_dir, [("control", _list(tmp_path / "e.csv", ["nick_a"],
                                                          header="Email"))], fmt="shopify")
    assert ("e.csv", "Email", "no_matching_customer") in _findings(exc)


def test_a_list_without_the_buyer_column_names_the_headers_looked_for(tmp_path, shop_dir):
    bad = _list(tmp_path / "bad.csv", ["nick_a,1"], header="手机号,x")
    exc = _refused(tmp_path, shop_dir, [("control", bad)])
    f = _findings(exc)[("bad.csv", None, "missing_column")]
    assert "买家会员名, 买家昵称, 会员名, nick" in f.message and "手机号" in f.message


def test_a_customer_on_two_arms_is_refused(tmp_path, shop_dir):
    a = _list(tmp_path / "a.csv", ["nick_a", "nick_b", "nick_c"], header="nick")
    b = _list(tmp_path / "b.csv", ["nick_d", "NICK_a ".lower().strip()], header="nick")
    exc = _refused(tmp_path, shop_dir, [("control", a), ("t", b)])
    found = _findings(exc)
    assert found[("a.csv", "nick", "multiple_arms")].rows == (1,)
    assert found[("b.csv", "nick", "multiple_arms")].rows == (2,)
    assert "arm t" in found[("a.csv", "nick", "multiple_arms")].message


def test_a_bad_arm_name_is_refused(tmp_path, shop_dir):
    a = _list(tmp_path / "a.csv", ["nick_a"], header="nick")
    exc = _refused(tmp_path, shop_dir, [("control arm; rm", a)])
    f = _findings(exc)[("a.csv", None, "invalid_arm_name")]
    assert "'control arm; rm'" in f.message
    assert main(["lists", "--source", "taobao", "--data", str(shop_dir), "--campaign-id",
                 "c1", "--arm", f"b@d={a}"]) == 1
    assert main(["lists", "--source", "taobao", "--data", str(shop_dir), "--campaign-id",
                 "c1", "--arm", f"control={a}", "--assigned-at", "next week"]) == 2


def test_a_partly_matching_list_warns_with_the_share(tmp_path, shop_dir, capsys):
    a = _list(tmp_path / "a.csv", ["nick_a", "nick_b", "nick_c", "someone_else"],
              header="nick")
    r = import_lists([("control", a)], shop_dir, fmt="taobao", campaign_id="c1")
    (w,) = r.warnings
    assert (w.file, w.column, w.rule, w.rows) == ("a.csv", "nick", "partial_match", (4,))
    assert "(25.0%)" in w.message
    assert r.arms[0].customers == 4 and r.arms[0].matched == 3


# --- the README walk --------------------------------------------------------------------------
def _readme_block(marker: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(re.escape(f"<!-- walk:{marker} -->") + r"\s*```\w+\n(.*?)```", text, re.S)
    assert m, f"README has no walk:{marker} block"
    return m.group(1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("lists_walk")
    params_file = write_params(root / "gen.yaml", root / "shop")
    generate_shop(root / "shop", load_params(params_file), n_customers=4000)
    return root / "shop"


@pytest.mark.slow
def test_readme_walk_from_exports_to_a_report(generated, tracking, tmp_path, monkeypatch,
                                              capsys):
    monkeypatch.setenv(KEY_ENV, KEY)
    exports = tmp_path / "exports"
    exports.mkdir()
    export, people = taobao_export(generated, np.random.default_rng(5))
    export.to_csv(exports / "ExportOrderList202511.csv", index=False, encoding="gbk")
    campaign_lists(generated, people.nick, exports)
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "d11_2025.yaml").write_text(_readme_block("params"),
                                                       encoding="utf-8")

    script = _readme_block("commands").replace("\\\n", " ")
    commands = [shlex.split(line) for line in script.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert [c[1] for c in commands] == ["import", "lists", "validate", "run"]
    for argv in commands:
        assert argv[0] == ".venv/bin/crm-exp"
        code = main(argv[1:])
        out = capsys.readouterr()
        print(f"$ crm-exp {' '.join(argv[1:])}\n{out.out}{out.err}")
        assert code == 0, f"crm-exp {argv[1]} failed:\n{out.err}"
        if argv[1] == "lists":
            assert "nothing was written" not in out.err
            ids = Pseudonymiser(KEY.encode()).map("taobao", people.nick.values())
            truth = pd.read_parquet(generated / "assignments.parquet")
            truth["customer_id"] = truth.customer_id.map(people.nick).map(ids)
            got = pd.read_csv(tmp_path / "data" / "myshop" / "assignments.csv")
            assert sorted(zip(got.customer_id, got.arm, strict=True)) == sorted(
                zip(truth.customer_id, truth.arm, strict=True))
            contacts = pd.read_csv(tmp_path / "data" / "myshop" / "contacts.csv")
            assert len(contacts) == len(pd.read_parquet(generated / "contacts.parquet"))

    client = MlflowClient()
    found = [r for e in client.search_experiments()
             for r in client.search_runs([e.experiment_id])]
    assert [r.info.status for r in found] == ["FINISHED"]
    reports = list((tmp_path / "reports").rglob("*.html"))
    assert reports, "no report written"
