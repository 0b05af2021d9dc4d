"""Taobao / Tmall seller-centre order report (订单报表) -> canonical orders.

The report is a CSV (UTF-8, UTF-8 with BOM, or GBK/GB18030) or an XLSX workbook with one row
per order and Chinese headers. Reading rules for encodings, ids (``="..."``), amounts
(``¥1,234.00``) and dates are in :mod:`crm_experiments.io.exports._parse`.

Columns used (header -> canonical column; alternative headers in brackets):

=====================================  =================================================
订单编号                                  order_id (required)
买家会员名 [买家昵称]                     the buyer: pseudonymised into customer_id (required)
订单创建时间 [创建时间, 下单时间]          created_at (required)
买家实际支付金额 [实付金额]                amount (required)
订单状态                                  paid / unpaid / refunded, see below (required)
订单付款时间 [付款时间]                   paid_at (cleared when the status says unpaid)
退款金额                                  refund_amount (empty = 0)
发货时间 [卖家发货时间]                   shipped_at
收货地址                                  province only: the address's first token
店铺优惠 [店铺优惠金额, 优惠金额]          discount, when it is a number
=====================================  =================================================

Every other column is dropped at import, among them the personal ones: 收货人姓名 (name),
联系手机 / 联系电话 (phones), 收货地址 beyond the province, 买家支付宝账号, 买家留言 (buyer
message), 订单备注, and shop details (宝贝标题, 物流单号, ...).

Status mapping (订单状态 -> what the analysis sees):

==========================  =========================  ===================================
status                      meaning                    canonical
==========================  =========================  ===================================
等待买家付款                 waiting for payment        unpaid: paid_at cleared
付款确认中                   payment being confirmed    unpaid: paid_at cleared
买家已付款，等待卖家发货       paid, not shipped          paid (paid_at required)
卖家部分发货                 paid, partly shipped       paid (paid_at required)
卖家已发货，等待买家确认       paid, shipped              paid (paid_at required)
交易成功                     paid, received             paid (paid_at required)
交易关闭 / 交易被淘宝关闭      closed                     without 订单付款时间: closed unpaid
                                                       (paid_at null); with it: paid and
                                                       refunded in full (refund_amount =
                                                       退款金额, or the amount when empty/0)
==========================  =========================  ===================================

Statuses are compared after removing spaces, with ASCII commas read as "，". Any other
status is an error (``unknown_status``), never a guess. On unpaid orders an empty amount
reads as 0; on paid orders it is an error. Partial refunds of a successful trade keep the
order paid with its 退款金额.

Province: the first token of 收货地址 (``浙江省 杭州市 ...`` or ``浙江省杭州市...``) matched
against China's 34 provincial-level divisions and written in English (``Zhejiang``, as in the
demo shop); an address that starts otherwise gives a null province and a warning
(``unknown_province``, rows only: the address itself is never shown).
"""

from __future__ import annotations

import datetime as dt
import difflib

import numpy as np
import pandas as pd

from crm_experiments.io.exports._orders import MappedFile, check_orders
from crm_experiments.io.exports._parse import (
    DATE_FORMATS_HELP,
    Problems,
    RawTable,
    check_ids,
    clean_text,
    parse_amounts,
    parse_datetimes,
    with_examples,
)

SOURCE = "taobao"

#: canonical column -> accepted headers (the first is the seller centre's own).
HEADERS: dict[str, tuple[str, ...]] = {
    "order_id": ("订单编号",),
    "buyer": ("买家会员名", "买家昵称"),
    "created_at": ("订单创建时间", "创建时间", "下单时间"),
    "amount": ("买家实际支付金额", "实付金额"),
    "status": ("订单状态",),
    "paid_at": ("订单付款时间", "付款时间"),
    "refund_amount": ("退款金额",),
    "shipped_at": ("发货时间", "卖家发货时间"),
    "address": ("收货地址",),
    "discount": ("店铺优惠", "店铺优惠金额", "优惠金额"),
}
REQUIRED = ("order_id", "buyer", "created_at", "amount", "status")

PAID = "paid"
UNPAID = "unpaid"
CLOSED = "closed"
#: 订单状态 -> paid / unpaid / closed (closed: unpaid without a payment time, else refunded).
STATUS: dict[str, str] = {
    "等待买家付款": UNPAID,
    "付款确认中": UNPAID,
    "买家已付款，等待卖家发货": PAID,
    "等待卖家发货": PAID,
    "卖家部分发货": PAID,
    "卖家已发货，等待买家确认": PAID,
    "等待买家确认收货": PAID,
    "交易成功": PAID,
    "交易关闭": CLOSED,
    "交易被淘宝关闭": CLOSED,
}

#: Provincial-level divisions: Chinese short name -> English name (as the demo shop writes).
PROVINCES: dict[str, str] = {
    "北京": "Beijing", "天津": "Tianjin", "上海": "Shanghai", "重庆": "Chongqing",
    "河北": "Hebei", "山西": "Shanxi", "辽宁": "Liaoning", "吉林": "Jilin",
    "黑龙江": "Heilongjiang", "江苏": "Jiangsu", "浙江": "Zhejiang", "安徽": "Anhui",
    "福建": "Fujian", "江西": "Jiangxi", "山东": "Shandong", "河南": "Henan", "湖北": "Hubei",
    "湖南": "Hunan", "广东": "Guangdong", "海南": "Hainan", "四川": "Sichuan",
    "贵州": "Guizhou", "云南": "Yunnan", "陕西": "Shaanxi", "甘肃": "Gansu", "青海": "Qinghai",
    "台湾": "Taiwan", "内蒙古": "Inner Mongolia", "广西": "Guangxi", "西藏": "Tibet",
    "宁夏": "Ningxia", "新疆": "Xinjiang", "香港": "Hong Kong", "澳门": "Macau",
}
_PROVINCE_PREFIXES = sorted(PROVINCES, key=len, reverse=True)


def province_of(address: str | None) -> str | None:
    """English province name from a Chinese address's first token (None if not found).

    >>> province_of("浙江省 杭州市 西湖区 文三路 1号"), province_of("内蒙古自治区呼和浩特市")
    ('Zhejiang', 'Inner Mongolia')
    >>> province_of("上海 上海市 浦东新区"), province_of("Mars base 1") is None
    ('Shanghai', True)
    """
    if not isinstance(address, str) or not address:
        return None
    text = address.strip()
    for prefix in _PROVINCE_PREFIXES:
        if text.startswith(prefix):
            return PROVINCES[prefix]
    return None


def _normalise_status(text: str | None) -> str | None:
    if not isinstance(text, str):
        return None
    return "".join(text.split()).replace(",", "，")


def map_file(raw: RawTable, problems: Problems, *, timezone: str,
             now: dt.datetime) -> MappedFile | None:
    """Canonical orders of one Taobao report (None when a required header is missing)."""
    file, frame = raw.file, raw.frame
    found: dict[str, str] = {}
    for canonical, names in HEADERS.items():
        header = next((h for h in names if h in frame.columns), None)
        if header is not None:
            found[canonical] = header
    missing = [HEADERS[c][0] for c in REQUIRED if c not in found]
    for name in missing:
        near = difflib.get_close_matches(name, raw.headers, n=1, cutoff=0.5)
        hint = f"; is {near[0]!r} it? rename the header to {name!r}" if near else ""
        shown = ", ".join(h for h in raw.headers[:12] if h)
        more = ", ..." if len(raw.headers) > 12 else ""
        problems.add(file, "missing_column", f"required column {name!r} of the Taobao order "
                     f"report is missing (read as {raw.encoding}; the file has: {shown}{more})"
                     f"{hint}", column=name)
    if missing and len(missing) == len(REQUIRED) and raw.encoding == "gb18030":
        problems.add(file, "encoding", "none of the report's headers was found after reading "
                     "the file as GB18030: if the headers above look garbled, the file is in "
                     "another encoding (e.g. Big5); save it as UTF-8")
    if missing:
        return None

    def text(canonical: str) -> pd.Series:
        if canonical not in found:
            return pd.Series([None] * len(frame), index=frame.index, dtype=object)
        return clean_text(frame[found[canonical]])

    order_id = text("order_id")
    buyer = text("buyer")
    status_raw = text("status")
    status = status_raw.map(_normalise_status).map(STATUS)
    for canonical, series in (("order_id", order_id), ("buyer", buyer),
                              ("status", status_raw), ("created_at", text("created_at"))):
        problems.mask(file, "required_null", series.isna(),
                      f"required column {found[canonical]!r} is empty", column=found[canonical])
    check_ids(problems, file, found["order_id"], order_id)
    problems.mask(file, "unknown_status", status_raw.notna() & status.isna(), with_examples(
        f"unknown order status; known: {', '.join(STATUS)}"), column=found["status"],
        examples=status_raw)

    times: dict[str, pd.Series] = {}
    for canonical in ("created_at", "paid_at", "shipped_at"):
        values, bad = parse_datetimes(text(canonical), timezone)
        times[canonical] = values
        if canonical in found:
            problems.mask(file, "unparseable", bad, with_examples(
                f"value is not a date/time in an accepted format ({DATE_FORMATS_HELP})"),
                column=found[canonical], examples=text(canonical))

    amounts: dict[str, pd.Series] = {}
    for canonical in ("amount", "refund_amount", "discount"):
        values, bad, reformatted = parse_amounts(text(canonical))
        amounts[canonical] = values
        if canonical not in found:
            continue
        column = found[canonical]
        if canonical == "discount":
            values[bad] = np.nan   # 店铺优惠 is sometimes a description, not a number
            continue
        problems.mask(file, "unparseable", bad, with_examples(
            "value is not an amount (accepted: 1234.5, 1,234.50, ¥12, 12元)"), column=column,
            examples=text(canonical))
        problems.mask(file, "amount_reformatted", reformatted, with_examples(
            "currency signs / thousands separators were removed"), column=column,
            severity="warning", examples=text(canonical))

    paid_time = times["paid_at"].notna()
    is_paid = (status == PAID) | ((status == CLOSED) & paid_time)
    unpaid = status.notna() & ~is_paid
    paid_at = times["paid_at"].where(is_paid)
    if "paid_at" in found:
        problems.mask(file, "paid_without_time", (status == PAID) & ~paid_time
                      & text("paid_at").isna(),
                      f"the status says paid but {found['paid_at']!r} is empty",
                      column=found["paid_at"])
    else:
        problems.add(file, "missing_column", "column '订单付款时间' is missing: paid orders "
                     "need their payment time", column="订单付款时间")

    amount = amounts["amount"]
    problems.mask(file, "required_null", is_paid & amount.isna() & text("amount").isna(),
                  f"{found['amount']!r} is empty on a paid order", column=found["amount"])
    amount = amount.where(~(unpaid & text("amount").isna()), 0.0)
    refund = amounts["refund_amount"].fillna(0.0)
    full_refund = (status == CLOSED) & paid_time
    refund = refund.where(~(full_refund & (refund <= 0)), amount)

    orders = pd.DataFrame({
        "order_id": order_id,
        "created_at": times["created_at"],
        "paid_at": paid_at,
        "amount": amount,
        "discount": amounts["discount"],
        "coupon_id": pd.Series([None] * len(frame), index=frame.index, dtype=object),
        "refund_amount": refund,
        "shipped_at": times["shipped_at"],
        "province": text("address").map(province_of).astype(object),
        "buyer": buyer,
    }, index=frame.index)
    if "address" in found:
        problems.mask(file, "unknown_province",
                      text("address").notna() & orders.province.isna(),
                      "the address does not start with a Chinese province; province left empty",
                      column=found["address"], severity="warning")
    source = {c: h for c, h in found.items()
              if c in ("order_id", "created_at", "paid_at", "amount", "refund_amount",
                       "shipped_at", "discount")}
    check_orders(problems, file, orders, source, now)
    used = set(found.values())
    dropped = tuple(h for h in raw.headers if h and h not in used)
    return MappedFile(file=file, encoding=raw.encoding, orders=orders, dropped_columns=dropped)
