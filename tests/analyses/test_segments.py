"""Payment reminders, RFM segments and member tiers in the evaluation (issue 16.5).

Each table of the small demo shop's evaluation is checked against a computation of its own in
pandas from the shop's files (recovery counts, RFM scores, tiers by cumulative spend) with the
intervals from statsmodels; then the notes that replace the sections on shops that lack what
they need: an imported shop's shape (no tier column, no contacts), tier names of an unknown
scheme, contacts without reminders, no unpaid order.
"""

from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from crm_experiments.analyses.campaign import Evaluation, evaluate
from crm_experiments.analyses.descriptive import campaign_reminders
from crm_experiments.analyses.segments import tiers_by_arm
from crm_experiments.io.reader import load_shop
from crm_experiments.metrics.rfm import RFM_SEGMENTS, TIER_SCHEMES
from crm_experiments.params import load_params
from crm_experiments.report import pages
from crm_experiments.report.i18n import tr
from tests.conftest import write_params

HORIZON = 7


def _evaluate(params) -> Evaluation:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels on tiny segments
        return evaluate(params, HORIZON)


@pytest.fixture(scope="module")
def demo(small_shop):
    params = load_params(small_shop)
    data = Path(params.data.path)
    files = {n: pd.read_parquet(data / f"{n}.parquet")
             for n in ("orders", "assignments", "contacts", "customers")}
    a = files["assignments"]
    files["assignments"] = a[a["campaign_id"] == params.campaign_id]
    return params, _evaluate(params), files


def _purchases(orders: pd.DataFrame) -> pd.DataFrame:
    refund = orders["refund_amount"].fillna(0)
    keep = orders["paid_at"].notna() & ((refund <= 0) | (refund < orders["amount"]))
    return orders[keep].assign(net=orders["amount"] - refund)


def _wilson(k, n):
    return proportion_confint(k, n, method="wilson")


def _newcombe(k1, n1, k2, n2):
    return confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")


# --- payment reminders -----------------------------------------------------------------------
def test_reminder_recovery_matches_pandas(demo):
    params, ev, f = demo
    o, c = f["orders"], f["contacts"]
    start, end = params.sale_start, params.sale_end
    sale = o[(o.created_at >= start) & (o.created_at < end)
             & o.customer_id.isin(f["assignments"].customer_id)].copy()
    c = c[(c.channel == "wangwang") & (c.campaign_id == params.campaign_id)]
    j = sale.merge(c[["customer_id", "sent_at"]], on="customer_id")
    j = j[(j.sent_at >= j.created_at) & (j.sent_at <= j.created_at + pd.Timedelta(hours=24))
          & (j.paid_at.isna() | (j.paid_at > j.sent_at))]
    sale["reminded_at"] = sale.order_id.map(j.groupby("order_id").sent_at.min())
    reminded = sale[sale.reminded_at.notna()]
    late = sale.paid_at.isna() | (sale.paid_at > sale.created_at + pd.Timedelta(minutes=30))
    others = sale[sale.reminded_at.isna() & late]
    k1 = int((reminded.paid_at.notna() & (reminded.paid_at > reminded.reminded_at)).sum())
    n1, n2, k2 = len(reminded), len(others), int(others.paid_at.notna().sum())
    assert n1 > 20 and n2 > 0  # the demo reminds treated customers' unpaid sale orders

    table = ev.tables()["reminders"].set_index("group")
    assert table.loc["reminded", ["orders", "recovered"]].tolist() == [n1, k1]
    assert table.loc["not_reminded", ["orders", "recovered"]].tolist() == [n2, k2]
    assert table.loc["reminded", ["ci_low", "ci_high"]].tolist() == pytest.approx(_wilson(k1, n1))
    diff = table.loc["reminded - not_reminded"]
    assert diff["recovery_rate"] == pytest.approx(k1 / n1 - k2 / n2)
    assert [diff["ci_low"], diff["ci_high"]] == pytest.approx(_newcombe(k1, n1, k2, n2))
    assert set(table["label"]) == {"observational"} and not table["causal"].any()
    assert (table["period_start"].iloc[0], table["period_end"].iloc[0]) == (
        str(start.date()), str((end - pd.Timedelta(days=1)).date()))


def test_reminders_skipped_without_reminders_or_unpaid_orders(demo, small_shop):
    params, _, _ = demo
    shop = load_shop(params.data.path, params=params)
    orders, contacts = shop["orders"], shop["contacts"]
    customers = shop["assignments"].select("customer_id")
    kw = {"customers": customers, "campaign_id": params.campaign_id}
    window = (params.sale_start, params.sale_end)
    table, notes = campaign_reminders(orders, None, *window, **kw)
    assert table.empty and notes == ("note_no_reminder_contacts",)
    sms = contacts.filter(nw.col("channel") == "sms")
    table, notes = campaign_reminders(orders, sms, *window, **kw)
    assert table.empty and notes == ("note_no_reminders",)
    paid_at = nw.col("paid_at")
    paid = orders.filter(~paid_at.is_null()
                         & (paid_at <= nw.col("created_at").dt.offset_by("5m")))
    table, notes = campaign_reminders(paid, contacts, *window, **kw)
    assert table.empty and notes == ("note_no_unpaid",)


# --- RFM segments ----------------------------------------------------------------------------
def _rfm_segments(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Segment per customer, scored as SQL percent_rank (min ties) into 5 bins."""
    p = _purchases(orders)
    p = p[(p.created_at < as_of) & (p.created_at >= as_of - pd.Timedelta(days=365))]
    per = p.groupby("customer_id").agg(last=("created_at", "max"), f=("order_id", "size"))
    recency = (as_of - per["last"]).dt.total_seconds() / 86400

    def score(x: pd.Series, ascending: bool) -> pd.Series:
        pr = (x.rank(method="min", ascending=ascending) - 1) / (len(x) - 1)
        return np.minimum(np.floor(pr * 5).astype(int) + 1, 5)

    r, fr = score(recency, ascending=False), score(per["f"], ascending=True)
    out = pd.Series("needs_attention", index=per.index)
    for name, (r_lo, r_hi), (f_lo, f_hi) in reversed(RFM_SEGMENTS):  # first rule wins
        out[r.between(r_lo, r_hi) & fr.between(f_lo, f_hi)] = name
    return out


def test_rfm_shares_match_pandas(demo):
    params, ev, f = demo
    a = f["assignments"]
    table = ev.tables()["rfm"].set_index(["arm", "moment", "segment"])
    moments = {"before": params.sale_start, "after": params.window_end(HORIZON)}
    control = params.control_arm
    for moment, when in moments.items():
        seg = a.customer_id.map(_rfm_segments(f["orders"], when)).fillna("none")
        counts = pd.crosstab(a.arm, seg)
        for segment in ("champions", "hibernating", "none"):
            for arm in params.arm_names:
                k, n = int(counts.loc[arm].get(segment, 0)), int(counts.loc[arm].sum())
                row = table.loc[(arm, moment, segment)]
                assert (row["customers"], row["n"]) == (k, n), (moment, segment, arm)
                assert [row["ci_low"], row["ci_high"]] == pytest.approx(_wilson(k, n))
                if arm == control:
                    assert np.isnan(row["diff"])
                    continue
                k2, n2 = int(counts.loc[control].get(segment, 0)), int(counts.loc[control].sum())
                assert row["diff"] == pytest.approx(k / n - k2 / n2)
                assert [row["diff_ci_low"], row["diff_ci_high"]] == pytest.approx(
                    _newcombe(k, n, k2, n2))
    # every arm's shares add up to 1 at each moment
    sums = ev.tables()["rfm"].groupby(["arm", "moment"])["share"].sum()
    assert sums.to_numpy() == pytest.approx(np.ones(len(sums)))


# --- member tiers ----------------------------------------------------------------------------
def _tier_rank(orders: pd.DataFrame, when: pd.Timestamp, ids: pd.Series) -> pd.Series:
    """-1 for no purchase before ``when``, else the index of the classic tier reached."""
    p = _purchases(orders)
    spend = p[p.created_at < when].groupby("customer_id")["net"].sum()
    bounds = sorted(TIER_SCHEMES["classic"].values())[1:]
    rank = pd.Series(np.searchsorted(bounds, spend.to_numpy(), side="right"), index=spend.index)
    return ids.map(rank).fillna(-1).astype(int)


def test_tier_migration_matches_pandas(demo):
    params, ev, f = demo
    a = f["assignments"]
    before = _tier_rank(f["orders"], params.sale_start, a.customer_id)
    after = _tier_rank(f["orders"], params.window_end(HORIZON), a.customer_id)
    direction = np.select([after > before, after < before], ["up", "down"], "same")
    counts = pd.crosstab(a.arm.to_numpy(), direction)
    table = ev.tables()["tier_migration"].set_index(["arm", "direction"])
    control = params.control_arm
    k2, n2 = int(counts.loc[control].get("up", 0)), int(counts.loc[control].sum())
    for arm in params.arm_names:
        k, n = int(counts.loc[arm].get("up", 0)), int(counts.loc[arm].sum())
        row = table.loc[(arm, "up")]
        assert (row["customers"], row["n"]) == (k, n)
        assert table.loc[(arm, "same"), "customers"] == counts.loc[arm].get("same", 0)
        assert table.loc[(arm, "down"), "customers"] == 0  # cumulative spend does not fall
        if arm != control:
            assert row["diff"] == pytest.approx(k / n - k2 / n2)
            assert [row["diff_ci_low"], row["diff_ci_high"]] == pytest.approx(
                _newcombe(k, n, k2, n2))
    assert table.loc[(params.treatment_arms[-1], "up"), "customers"] > 0
    tiers = ev.tables()["tiers"].set_index(["arm", "moment", "tier"])
    senior = (after == 1).groupby(a.arm.to_numpy()).sum()
    for arm in params.arm_names:
        assert tiers.loc[(arm, "after", "senior"), "customers"] == senior[arm]
    assert not {"note_no_tier", "note_tier_scheme_unknown"} & set(ev.notes)


def test_tiers_of_an_unknown_scheme_are_a_note(demo, tmp_path):
    params, _, f = demo
    data = tmp_path / "data"
    shutil.copytree(Path(params.data.path), data)
    f["customers"].assign(tier="gold_" + f["customers"]["tier"].astype(str)).to_parquet(
        data / "customers.parquet")
    p = load_params(write_params(tmp_path / "p.yaml", data))
    shop = load_shop(p.data.path, params=p)
    arms = shop["assignments"].select("customer_id", nw.col("arm").alias("group"))
    tiers, migration, notes = tiers_by_arm(shop, arms, p.sale_start, p.window_end(HORIZON),
                                           arm_names=list(p.arm_names), control=p.control_arm)
    assert tiers.empty and migration.empty and notes == ("note_tier_scheme_unknown",)


# --- an imported shop's shape: no tier column, no contacts ---------------------------------
@pytest.fixture(scope="module")
def imported(small_shop, tmp_path_factory):
    root = tmp_path_factory.mktemp("imported_shape")
    data = root / "data"
    shutil.copytree(small_shop.parent / "data", data)
    customers = pd.read_parquet(data / "customers.parquet")
    customers[["customer_id", "first_order_at"]].to_parquet(data / "customers.parquet")
    (data / "contacts.parquet").unlink()
    return _evaluate(load_params(write_params(root / "p.yaml", data))), root


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section class="crm-{name}">.*?</section>', page, re.S)
    return found.group(0) if found else ""


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_imported_shop_gets_notes_not_empty_tables(imported, lang):
    ev, root = imported
    assert {"note_no_tier", "note_no_reminder_contacts"} <= set(ev.notes)
    t = ev.tables()
    assert t["tiers"].empty and t["tier_migration"].empty and t["reminders"].empty
    assert not t["rfm"].empty  # RFM needs orders only
    ev = replace(ev, params=ev.params.model_copy(update={"language": lang}))
    page = pages.evaluation_page(ev)
    tiers, reminders = _section(page, "tiers"), _section(page, "reminders")
    assert tr("note_no_tier", lang) in _text(tiers).replace("&#39;", "'")
    assert "<table" not in tiers and "<table" not in reminders
    assert tr("note_no_reminder_contacts", lang) in _text(reminders)
    notes = _text(_section(page, "notes"))
    assert tr("note_no_tier", lang) in notes.replace("&#39;", "'")
    assert "note_no_" not in _text(page)
    stored = Evaluation.read(ev.write(root / f"results_{lang}"))
    assert pages.evaluation_page(stored) == page


def test_a_copy_stored_before_these_tables_is_still_read(demo, tmp_path):
    """Evaluation schema 2 added the four tables: a version-1 copy (an earlier run the plan
    reads from MLflow) is read without them and its page leaves their sections out; a
    version-2 copy without one is a schema error."""
    import json

    from crm_experiments.analyses.result import ResultSchemaError

    _, ev, _ = demo
    assert Evaluation.SCHEMA_VERSION >= 2
    folder = ev.write(tmp_path / "results")
    (folder / "tables" / "rfm.parquet").unlink()
    with pytest.raises(ResultSchemaError, match="rfm"):
        Evaluation.read(folder)
    for name in ("reminders", "tiers", "tier_migration"):
        (folder / "tables" / f"{name}.parquet").unlink()
    doc = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert doc["schema_version"] == Evaluation.SCHEMA_VERSION
    doc["schema_version"] = 1
    (folder / "result.json").write_text(json.dumps(doc), encoding="utf-8")
    old = Evaluation.read(folder)
    assert "rfm" not in old.tables() and not old.table("economics").empty
    page = pages.evaluation_page(old)
    for name in ("reminders", "rfm", "tiers"):
        assert f'class="crm-{name}"' not in page
