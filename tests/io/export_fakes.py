"""Fake shop exports with personal data, built from a generated demo shop, and a scanner that
looks for that personal data in files (data directories, reports, MLflow artifacts)."""

from __future__ import annotations

import html
import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crm_experiments.io.exports.taobao import PROVINCES

CN_OF = {en: cn for cn, en in PROVINCES.items()}
MUNICIPALITIES = {"北京", "天津", "上海", "重庆"}
REGION_SUFFIX = {"内蒙古": "自治区", "广西": "壮族自治区", "西藏": "自治区", "宁夏": "回族自治区",
                 "新疆": "维吾尔自治区"}
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗")
GIVEN = list("秀英桂芳伟强敏静丽军磊洋勇艳杰娟涛明超霞平刚玲")
STREETS = ["文三", "解放", "人民", "中山", "建设", "和平", "滨江", "长江", "黄河", "青年"]
EN_FIRST = ["Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farouk", "Greta", "Hiroshi",
            "Ingrid", "Jonas", "Kalinda", "Lorcan", "Mireille", "Nikolai", "Ottilie"]
EN_LAST = ["Quackenbush", "Fairweather", "Oakenshield", "Brightwater", "Thistlewood",
           "Ravensworth", "Winterbottom", "Pemberton", "Heathcliffe", "Marchbanks"]
EN_STREETS = ["Juniper Hollow", "Maple Crescent", "Tamarack", "Larkspur", "Willowmere",
              "Cobblestone", "Foxglove", "Heronsgate"]


@dataclass
class People:
    """Personal data per original customer id (what must never leave the import)."""

    nick: dict[str, str] = field(default_factory=dict)
    name: dict[str, str] = field(default_factory=dict)
    phone: dict[str, str] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)
    street: dict[str, str] = field(default_factory=dict)
    email: dict[str, str] = field(default_factory=dict)

    def needles(self) -> dict[str, set[str]]:
        out = {"nick": set(self.nick.values()), "name": set(self.name.values()),
               "phone": set(self.phone.values()), "address": set(self.address.values()),
               "street": set(self.street.values()), "email": set(self.email.values())}
        return {k: v for k, v in out.items() if v}


def _fmt(ts) -> str:
    return "" if pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _amount(x: float, i: int) -> str:
    if i % 3 == 0:
        return f"{x:,.2f}"
    if i % 3 == 1:
        return f"￥{x:.2f}"  # full-width: GBK has no U+00A5
    return f"{x:.2f}"


def taobao_export(shop: Path, rng: np.random.Generator) -> tuple[pd.DataFrame, People]:
    """The shop's orders as a Taobao seller-centre order report (Chinese headers) with fake
    nicks, names, phones, addresses and buyer messages."""
    orders = pd.read_parquet(shop / "orders.parquet")
    customers = pd.read_parquet(shop / "customers.parquet")
    people = People()
    for i, (cid, prov) in enumerate(zip(customers.customer_id, customers.province, strict=True)):
        cn = CN_OF[prov]
        suffix = "市" if cn in MUNICIPALITIES else REGION_SUFFIX.get(cn, "省")
        letters = "".join(rng.choice(list("abcdefghjkmnpqrstuvwxyz"), 6))
        people.nick[cid] = (f"快乐{rng.choice(GIVEN)}{letters}{i}" if i % 2
                            else f"tb{letters}{i:05d}")
        people.name[cid] = "".join([rng.choice(SURNAMES), *rng.choice(GIVEN, 2)])
        people.phone[cid] = f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}"
        street = f"{rng.choice(STREETS)}路{rng.integers(1, 999)}号{rng.integers(101, 2999)}室"
        people.street[cid] = street
        people.address[cid] = f"{cn}{suffix} 某某市 某某区 {street}"
    paid = orders.paid_at.notna()
    full_refund = paid & (orders.refund_amount > 0) & (orders.refund_amount >= orders.amount)
    status = np.where(~paid, np.where(np.arange(len(orders)) % 2 == 0, "交易关闭", "等待买家付款"),
                      np.where(full_refund, "交易关闭",
                               np.where(orders.shipped_at.isna(), "买家已付款，等待卖家发货",
                                        np.where(np.arange(len(orders)) % 5 == 0,
                                                 "卖家已发货，等待买家确认", "交易成功"))))
    cid = orders.customer_id
    export = pd.DataFrame({
        "订单编号": '="' + orders.order_id + '"',
        "买家会员名": cid.map(people.nick),
        "买家支付宝账号": cid.map(people.phone),
        "买家应付货款": [f"{x:.2f}" for x in orders.amount],
        "买家应付邮费": "0.00",
        "买家实际支付金额": [_amount(x, i) for i, x in enumerate(orders.amount)],
        "订单状态": status,
        "买家留言": "请尽快发货，谢谢！" + cid.map(people.name),
        "收货人姓名": cid.map(people.name),
        "收货地址": cid.map(people.address),
        "联系手机": "'" + cid.map(people.phone),
        "订单创建时间": orders.created_at.map(_fmt),
        "订单付款时间": orders.paid_at.map(_fmt),
        "宝贝标题": "秋冬新款连衣裙",
        "退款金额": [f"{x:.2f}" for x in orders.refund_amount],
        "发货时间": orders.shipped_at.map(_fmt),
    })
    return export, people


def shopify_export(shop: Path, rng: np.random.Generator) -> tuple[pd.DataFrame, People]:
    """The shop's orders as a Shopify orders export: one row per line item, order fields on
    the first line, times in UTC (+0000), with fake emails, names, phones and addresses."""
    orders = pd.read_parquet(shop / "orders.parquet")
    customers = pd.read_parquet(shop / "customers.parquet")
    people = People()
    for i, cid in enumerate(customers.customer_id):
        first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
        people.name[cid] = f"{first} {last}"
        people.email[cid] = f"{first.lower()}.{last.lower()}{i}@mailbox{i % 7}.example.com"
        people.phone[cid] = f"+86 1{rng.integers(30, 99)} {rng.integers(0, 10**4):04d} " \
            f"{rng.integers(0, 10**4):04d}"
        street = f"{rng.integers(10, 9999)} {rng.choice(EN_STREETS)} Road"
        people.street[cid] = street  # the export has street, city, zip in separate columns
    utc = lambda s: s.dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")  # noqa: E731
    created, paid_at, shipped = (utc(orders[c]) for c in ("created_at", "paid_at",
                                                             "shipped_at"))
    fmt = lambda ts: "" if pd.isna(ts) else ts.strftime("%Y-%m-%d %H:%M:%S +0000")  # noqa: E731
    rows = []
    for i, o in enumerate(orders.itertuples(index=False)):
        paid = not pd.isna(o.paid_at)
        if not paid:
            status = "pending" if i % 2 else "voided"
        elif o.refund_amount > 0 and o.refund_amount >= o.amount:
            status = "refunded"
        elif o.refund_amount > 0:
            status = "partially_refunded"
        else:
            status = "paid"
        cid = o.customer_id
        first = {
            "Name": f"#{o.order_id}", "Email": people.email[cid], "Financial Status": status,
            "Paid at": fmt(paid_at.iloc[i]), "Fulfillment Status": "fulfilled",
            "Fulfilled at": fmt(shipped.iloc[i]), "Currency": "CNY",
            "Subtotal": f"{o.amount:.2f}", "Shipping": "0.00", "Taxes": "0.00",
            "Total": f"{o.amount:.2f}", "Discount Code": "" if pd.isna(o.coupon_id)
            else o.coupon_id, "Discount Amount": f"{o.discount:.2f}",
            "Created at": fmt(created.iloc[i]), "Lineitem quantity": "1",
            "Lineitem name": "Wool coat", "Lineitem price": f"{o.amount:.2f}",
            "Billing Name": people.name[cid], "Billing Street": people.street[cid],
            "Billing City": "Hangzhou", "Billing Zip": "310000",
            "Billing Province": o.province, "Billing Country": "CN",
            "Billing Phone": people.phone[cid], "Shipping Name": people.name[cid],
            "Shipping Street": people.street[cid], "Shipping Province": o.province,
            "Notes": f"Please call {people.name[cid]} at {people.phone[cid]}",
            "Refunded Amount": f"{o.refund_amount:.2f}", "Phone": people.phone[cid],
        }
        rows.append(first)
        for _ in range(int(rng.integers(0, 3))):  # further line items: item fields only
            rows.append({"Name": f"#{o.order_id}", "Email": people.email[cid],
                         "Lineitem quantity": "1", "Lineitem name": "Scarf",
                         "Lineitem price": "0.00"})
    return pd.DataFrame(rows).fillna(""), people


# --- scanning -------------------------------------------------------------------------------
_CJK = re.compile(r"[\u3400-\u9fff]")
_RUN = re.compile(r"[\u3400-\u9fff\uff00-\uffef0-9A-Za-z_ ]+")
_TOKEN = re.compile(r"[a-z0-9]+")
_UESC = re.compile(r"\\u([0-9a-fA-F]{4})")


class Scanner:
    """Finds any of the needles in texts: CJK needles as substrings of CJK-bearing runs;
    ASCII needles as sequences of alphanumeric tokens (case-insensitive), so digits inside a
    longer number or base64 blob do not count as a phone."""

    def __init__(self, needles: dict[str, set[str]]) -> None:
        self.cjk: dict[str, str] = {}
        self.ascii: dict[tuple[str, ...], tuple[str, str]] = {}
        for kind, values in needles.items():
            for v in values:
                if _CJK.search(v):
                    self.cjk[v] = kind
                else:
                    self.ascii[tuple(_TOKEN.findall(v.lower()))] = (kind, v)
        self.cjk_lengths = sorted({len(v) for v in self.cjk})
        self.ascii_lengths = sorted({len(k) for k in self.ascii})

    def find(self, text: str) -> set[tuple[str, str]]:
        texts = [text]
        if "\\u" in text:
            texts.append(_UESC.sub(lambda m: chr(int(m.group(1), 16)), text))
        if "&#" in text:
            texts.append(html.unescape(text))
        hits: set[tuple[str, str]] = set()
        for t in texts:
            for run in _RUN.findall(t):
                if not _CJK.search(run):
                    continue
                for n in self.cjk_lengths:
                    for i in range(len(run) - n + 1):
                        kind = self.cjk.get(run[i:i + n])
                        if kind:
                            hits.add((kind, run[i:i + n]))
            tokens = _TOKEN.findall(t.lower())
            for n in self.ascii_lengths:
                for i in range(len(tokens) - n + 1):
                    hit = self.ascii.get(tuple(tokens[i:i + n]))
                    if hit:
                        hits.add(hit)
        return hits


def file_texts(path: Path) -> list[str]:
    """Everything a file says, as text: Parquet cells, SQLite rows, or the decoded bytes."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
        return [" ".join(map(str, frame.columns)), frame.to_csv(index=False)]
    data = path.read_bytes()
    if data.startswith(b"SQLite format 3"):
        con = sqlite3.connect(path)
        try:
            out = []
            for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
                out.append(json.dumps(rows, default=str, ensure_ascii=False))
            return out
        finally:
            con.close()
    return [data.decode("utf-8", errors="replace")]


def scan_tree(roots: list[Path], scanner: Scanner) -> dict[str, set[tuple[str, str]]]:
    """``{file: hits}`` for every file under ``roots`` that holds a needle; also the number of
    files scanned under the key ``"<files>"`` (as a one-element set)."""
    found: dict[str, set[tuple[str, str]]] = {}
    n = 0
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for p in files:
            n += 1
            hits = set()
            for text in file_texts(p):
                hits |= scanner.find(text)
            if hits:
                found[str(p)] = hits
    found["<files>"] = {("count", str(n))}
    return found


def campaign_lists(shop: Path, identifier: dict[str, str], out_dir: Path, *,
                   header: str = "买家会员名", people: People | None = None) -> dict[str, Path]:
    """The shop's campaign as the lists a team has: one file per arm of buyer identifiers
    (``identifier``: original customer id -> nick or email) under ``header``; treatment arms
    with one row per message (发送时间, 渠道, 费用; empty for a customer not messaged), the control
    arm with identifiers only.
    Alternately a GBK CSV and an XLSX workbook.

    ``header="Email"``: a Shopify customer segment export instead (UTF-8 BOM CSV / XLSX,
    English headers, send times in UTC as ``sent_at``, ``channel``, ``cost``); with ``people``
    it also carries the segment export's personal columns (First Name, Last Name, Phone,
    Default Address Address1) and its counts, which the list import must drop. ``{arm: file}``.
    """
    assignments = pd.read_parquet(shop / "assignments.parquet")
    contacts = pd.read_parquet(shop / "contacts.parquet")
    shopify = header == "Email"
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for i, (arm, group) in enumerate(assignments.groupby("arm", sort=True)):
        sent = group[["customer_id"]].merge(contacts, on="customer_id", how="left")
        if sent.sent_at.isna().all():
            rows = group[["customer_id"]]
            frame = pd.DataFrame({header: group.customer_id.map(identifier)})
        else:  # a customer not messaged has a row with an empty send time
            rows = sent
            when = sent.sent_at
            if shopify:
                when = when.dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
                stamp = [("" if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M:%S +0000"))
                         for t in when]
            else:
                stamp = when.map(_fmt)
            names = ("sent_at", "channel", "cost") if shopify else ("发送时间", "渠道", "费用")
            frame = pd.DataFrame({header: sent.customer_id.map(identifier),
                                  names[0]: stamp,
                                  names[1]: sent.channel.fillna(""),
                                  names[2]: ["" if pd.isna(x) else f"{x:.2f}"
                                             for x in sent.cost]})
        if shopify and people is not None:
            cid = rows.customer_id.to_numpy()
            frame.insert(0, "First Name", [people.name[c].split(" ")[0] for c in cid])
            frame.insert(1, "Last Name", [people.name[c].split(" ")[1] for c in cid])
            frame["Accepts Email Marketing"] = "yes"
            frame["Default Address Address1"] = [people.street[c] for c in cid]
            frame["Phone"] = [people.phone[c] for c in cid]
            frame["Total Orders"] = "3"
            frame["Tags"] = "vip, newsletter"
        stem = f"segment_{arm}" if shopify else f"人群_{arm}"
        if i % 2:
            files[arm] = out_dir / f"{stem}.xlsx"
            frame.to_excel(files[arm], index=False)
        else:
            files[arm] = out_dir / f"{stem}.csv"
            frame.to_csv(files[arm], index=False, encoding="gbk" if not shopify
                         else "utf-8-sig")
    return files
