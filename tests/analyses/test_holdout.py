"""The shop-wide holdout: membership, the analysis against the generator's truth, the page,
the command's refusals and notes."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from crm_experiments.analyses.holdout import HoldoutAnalysis, evaluate_holdout
from crm_experiments.cli import main
from crm_experiments.demo.generator import generate_shop
from crm_experiments.errors import ParamsError
from crm_experiments.io.holdout import holdout_members, holdout_position
from crm_experiments.io.reader import load_shop
from crm_experiments.params import ShopHoldout, load_params
from crm_experiments.report.holdout_page import holdout_page
from tests.conftest import write_params

PERIOD = {"start": "2025-10-20", "end": "2025-12-11"}


def test_membership_is_deterministic_nested_and_near_its_share():
    ids = [f"C{i:07d}" for i in range(1, 20_001)]
    h = ShopHoldout(share=0.05, salt="s1", **PERIOD)
    m = holdout_members(h, ids)
    assert (m == holdout_members(h, list(reversed(ids)))[::-1]).all()  # order-free
    se = math.sqrt(0.05 * 0.95 / len(ids))
    assert abs(m.mean() - 0.05) < 4 * se
    wider = holdout_members(h.model_copy(update={"share": 0.2}), ids)
    assert (wider >= m).all() and abs(wider.mean() - 0.2) < 4 * math.sqrt(0.16 / len(ids))
    other = holdout_members(h.model_copy(update={"salt": "s2"}), ids)
    assert (other != m).any()  # another salt draws another holdout
    # fixed values: the same on every machine (SHA-256), never tied to Python's hash()
    assert holdout_position("s", ["C0000001"]).round(6).tolist() == [0.243328]


@pytest.mark.parametrize(("section", "where"), [
    ({"share": 0.6, "salt": "x", **PERIOD}, "shop_holdout.share"),
    ({"share": 0, "salt": "x", **PERIOD}, "shop_holdout.share"),
    ({"share": 0.05, "salt": "x", "start": "2025-12-01", "end": "2025-11-01"}, "shop_holdout"),
    ({"share": 0.05, **PERIOD}, "shop_holdout.salt"),
])
def test_params_name_the_broken_rule(tmp_path, section, where):
    f = write_params(tmp_path / "p.yaml", tmp_path, shop_holdout=section)
    with pytest.raises(ParamsError) as exc:
        load_params(f)
    assert f"  {where}" in str(exc.value)


@pytest.fixture(scope="module")
def strong_shop(tmp_path_factory):
    """4,000 customers, 30% held out, campaigns six times as strong as the demo's: an effect
    the holdout must find (its interval excludes 0) and cover."""
    root = tmp_path_factory.mktemp("holdout_shop")
    f = write_params(root / "p.yaml", root / "data",
                     shop_holdout={"share": 0.3, "salt": "strong", **PERIOD})
    params = load_params(f)
    generate_shop(root / "data", params, n_customers=4_000,
                  lift_scale={a: 6.0 for a in params.treatment_arms})
    return f, params, evaluate_holdout(load_shop(params.data.path, params=params), params)


def test_holdout_recovers_the_generators_true_cumulative_effect(strong_shop):
    f, params, r = strong_shop
    truth = json.loads((params.data.path / "truth.json").read_text())["shop_holdout"]
    assert r.n_holdout == truth["n_holdout"] and r.n_exposed == truth["n_exposed"]
    assert r.contacted_members == 0 and r.assigned_members == 0  # nobody reached them
    for metric in ("revenue", "net_profit"):
        e = r.effect(metric)
        assert e["ci_low"] <= truth["effects"][metric] <= e["ci_high"], metric
        assert e["ci_low"] > 0, metric  # found, not just covered by a wide interval
    t = r.totals.set_index("metric").loc["net_profit"]
    assert t.total == pytest.approx(r.effect("net_profit")["estimate"] * r.n_exposed)
    assert r.truth["net_profit"] == pytest.approx(truth["effects"]["net_profit"])
    # the groups are balanced at the start (a random split)
    start = r.drift[r.drift["moment"] == "start"]
    assert len(start) == 2 and not start["flagged"].any()
    d = r.design
    assert 0 < d["recommended_share"] <= 0.5 and d["mde_current"] > 0


def test_command_page_portal_mlflow_and_stored_copy(strong_shop, tmp_path, tracking, capsys):
    from mlflow.tracking import MlflowClient

    f, params, r = strong_shop
    reports = tmp_path / "reports"
    reports.mkdir()
    assert main(["holdout", str(f), "--reports-dir", str(reports)]) == 0
    out = capsys.readouterr().out
    runs = MlflowClient(tracking).search_runs(
        [e.experiment_id for e in MlflowClient(tracking).search_experiments()],
        filter_string="tags.report_type = 'shop_holdout'")
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.metrics["holdout.net_profit.estimate"] == pytest.approx(
        r.effect("net_profit")["estimate"])
    assert "net_profit per customer" in out and "true +" in out
    page = reports / params.campaign_id / "holdout" / "2025-10-20_2025-12-11.html"
    text = page.read_text(encoding="utf-8")
    assert "data-headline" in text and "inside the interval" in text
    assert 'data-holdout="' in (reports / "index.html").read_text(encoding="utf-8")
    stored = HoldoutAnalysis.read(r.write(tmp_path / "stored"))
    assert holdout_page(stored.summary(), stored.tables()) == holdout_page(r.summary(),
                                                                          r.tables())
    zh = holdout_page({**r.summary(), "language": "zh"}, r.tables())
    assert "全店对照组" in zh and "在区间内" in zh


def test_hostile_names_are_escaped(strong_shop):
    _, _, r = strong_shop
    evil = "<script>alert('x')</script>"
    html = holdout_page({**r.summary(), "display_name": evil}, r.tables())
    assert evil not in html and "&lt;script&gt;" in html


def test_refusals_and_notes(strong_shop, tmp_path, capsys):
    f, params, _ = strong_shop
    no_section = write_params(tmp_path / "none.yaml", params.data.path, shop_holdout=None)
    assert main(["holdout", str(no_section), "--reports-dir", str(tmp_path)]) == 2
    assert "shop_holdout" in capsys.readouterr().err
    future = write_params(tmp_path / "future.yaml", params.data.path,
                          shop_holdout={"share": 0.3, "salt": "strong", "start": "2026-06-01",
                                        "end": "2026-06-30"})
    assert main(["holdout", str(future), "--reports-dir", str(tmp_path)]) == 2
    assert "do not reach the holdout period" in capsys.readouterr().err
    # a shop with orders and customers only (what importing a Taobao export gives): no
    # contacts table -> a note, the comparison still made, exit 0
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("orders", "customers"):
        shutil.copy(params.data.path / f"{name}.parquet", bare)
    p = write_params(tmp_path / "bare.yaml", bare,
                     shop_holdout={"share": 0.3, "salt": "strong", **PERIOD})
    assert main(["holdout", str(p), "--reports-dir", str(tmp_path), "--no-mlflow"]) == 0
    out = capsys.readouterr().out
    assert "No contacts table" in out and "net_profit per customer" in out
    # data ending inside the period: measured to the last day, said so
    cut = tmp_path / "cut"
    cut.mkdir()
    o = pd.read_parquet(bare / "orders.parquet")
    o[o.created_at < "2025-11-20"].to_parquet(cut / "orders.parquet", index=False)
    p = write_params(tmp_path / "cut.yaml", cut,
                     shop_holdout={"share": 0.3, "salt": "strong", **PERIOD})
    r = evaluate_holdout(load_shop(cut, params=load_params(p)), load_params(p))
    assert r.measured_to.isoformat() == "2025-11-19"
    assert ("holdout_note_partial", {"day": "2025-11-19"}) in r.notes


def test_too_few_members_is_a_note(tmp_path, strong_shop):
    _, params, _ = strong_shop
    small = tmp_path / "small"
    small.mkdir()
    o = pd.read_parquet(params.data.path / "orders.parquet")
    late = set(o.customer_id[o.created_at >= "2025-11-01"])
    early = o.customer_id[(o.created_at < "2025-10-01") & o.customer_id.isin(late)]
    keep = early.drop_duplicates().head(12)
    o[o.customer_id.isin(keep)].to_parquet(small / "orders.parquet", index=False)
    p = load_params(write_params(tmp_path / "s.yaml", small, shop_holdout={
        "share": 0.01, "salt": "strong", **PERIOD}))
    r = evaluate_holdout(load_shop(small, params=p), p)
    assert r.effects.empty and any(k == "holdout_note_too_few" for k, _ in r.notes)
    assert "at least 2" in holdout_page(r.summary(), r.tables())
    assert np.isfinite(r.groups["customers"]).all()
