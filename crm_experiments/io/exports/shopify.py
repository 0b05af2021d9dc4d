"""Shopify orders export (Orders -> Export, CSV) -> canonical orders.

The export has one row per line item; the order's fields are on its first line (later lines
of the same order may repeat them or leave them empty). Lines of one order are consecutive
and share ``Name`` (``#1001``). Order fields are taken as the first non-empty value of the
order's lines; two different non-empty values of a used field are an error
(``conflicting_order_fields``), and an order name that comes back after other orders is a
duplicate (``duplicate_key``). Rows are numbered by the order's first line.

Columns used (-> canonical):

=========================  ===============================================================
Name                       order_id (required)
Email                      the buyer, pseudonymised into customer_id (required header; an
                           order without an email uses ``Phone``, pseudonymised the same
                           way, and is an error when both are empty)
Financial Status           paid / unpaid / refunded, see below (required)
Created at                 created_at (required; ``2025-11-01 10:00:00 +0800`` is converted
                           to the shop's timezone)
Total                      amount (required)
Paid at                    paid_at (required on paid orders)
Discount Code              coupon_id, pseudonymised (``d_`` + 16 hex; a shared code names the
                           discount, not a coupon; codes such as VIP-<name> carry a person)
Discount Amount            discount
Refunded Amount            refund_amount (empty = 0)
Fulfilled at               shipped_at
Shipping Province          province (else Billing Province), as Shopify writes it (``ON``)
Currency                   checked only: one import (every file of it) must use one currency
=========================  ===============================================================

Everything else is dropped, among it the personal columns: Billing/Shipping Name, Street,
Address1/2, Company, City, Zip, Phone, Notes, Note Attributes, Email itself and the line
items.

Financial Status mapping: ``paid``, ``partially_paid``, ``partially_refunded`` and
``refunded`` are paid (``refunded`` with an empty or zero Refunded Amount counts the whole
Total as refunded); ``pending``, ``authorized`` and ``unpaid`` are unpaid; ``voided`` and
``expired`` are closed unpaid (paid_at cleared). Any other value is an error
(``unknown_status``).
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
    parse_datetime_instants,
    with_examples,
)

SOURCE = "shopify"
#: Discount codes are chosen by the merchant and often carry a person (``VIP-ANNLEE``): the
#: importer pseudonymises every code (:meth:`.pseudonymise.Pseudonymiser.code_id`).
PSEUDONYMISE_CODES = True
HEADERS: dict[str, str] = {
    "order_id": "Name", "email": "Email", "status": "Financial Status",
    "created_at": "Created at", "amount": "Total", "paid_at": "Paid at",
    "coupon_id": "Discount Code", "discount": "Discount Amount",
    "refund_amount": "Refunded Amount", "shipped_at": "Fulfilled at",
    "shipping_province": "Shipping Province", "billing_province": "Billing Province",
    "phone": "Phone", "currency": "Currency",
}
REQUIRED = ("order_id", "email", "status", "created_at", "amount")
PAID = {"paid", "partially_paid", "partially_refunded", "refunded"}
UNPAID = {"pending", "authorized", "unpaid", "voided", "expired"}


def map_file(raw: RawTable, problems: Problems, *, timezone: str,
             now: dt.datetime) -> MappedFile | None:
    """Canonical orders of one Shopify export (None when a required header is missing)."""
    file, frame = raw.file, raw.frame
    lower = {h.lower(): h for h in frame.columns}
    found = {c: lower[h.lower()] for c, h in HEADERS.items() if h.lower() in lower}
    missing = [HEADERS[c] for c in REQUIRED if c not in found]
    for name in missing:
        near = difflib.get_close_matches(name, raw.headers, n=1, cutoff=0.6)
        hint = f"; is {near[0]!r} it?" if near else ""
        shown = ", ".join(h for h in raw.headers[:12] if h)
        more = ", ..." if len(raw.headers) > 12 else ""
        problems.add(file, "missing_column", f"required column {name!r} of the Shopify orders "
                     f"export is missing (the file has: {shown}{more}){hint}", column=name)
    if missing:
        return None

    cells = pd.DataFrame({c: clean_text(frame[h]) for c, h in found.items()}, index=frame.index)
    names = cells.order_id
    problems.mask(file, "required_null", names.isna(),
                  f"required column {found['order_id']!r} is empty", column=found["order_id"])
    cells = cells[names.notna()]
    # consecutive lines with the same Name form one order; a Name seen again is a duplicate
    block = (cells.order_id != cells.order_id.shift()).cumsum()
    first_row = pd.Series(cells.index, index=cells.index).groupby(block).transform("first")
    fields = [c for c in cells.columns if c != "order_id"]
    grouped = cells.groupby(block, sort=False)
    orders_raw = grouped[fields].first()
    orders_raw.insert(0, "order_id", grouped.order_id.first())
    orders_raw.index = pd.Index(first_row.groupby(block).first().to_numpy(), name=None)
    conflicts = grouped[fields].nunique() > 1
    if conflicts.to_numpy().any():
        for c in fields:
            rows = orders_raw.index[conflicts[c].to_numpy()]
            if len(rows):
                problems.add(file, "conflicting_order_fields", "lines of the same order hold "
                             f"different values of {found[c]!r}", column=found[c], rows=rows)

    o = orders_raw
    check_ids(problems, file, found["order_id"], o.order_id)
    status = o.status.str.strip().str.lower()
    problems.mask(file, "required_null", o.status.isna(),
                  f"required column {found['status']!r} is empty", column=found["status"])
    problems.mask(file, "unknown_status", status.notna() & ~status.isin(PAID | UNPAID),
                  with_examples(f"unknown financial status; known: {', '.join(sorted(PAID))}, "
                                f"{', '.join(sorted(UNPAID))}"),
                  column=found["status"], examples=o.status)
    buyer = o.email
    if "phone" in found:
        buyer = buyer.where(buyer.notna(), o.phone)
    problems.mask(file, "required_null", buyer.isna(), f"the order has no {found['email']!r}"
                  + (f" and no {found['phone']!r}" if "phone" in found else "")
                  + ": it cannot be attributed to a customer", column=found["email"])
    currencies: list[str] = []
    if "currency" in found:
        currencies = list(o.currency.dropna().str.upper().unique())
        if len(currencies) > 1:
            problems.add(file, "mixed_currency", "orders are in different currencies "
                         f"({', '.join(sorted(currencies))}); import one currency at a time",
                         column=found["currency"])

    times: dict[str, pd.Series] = {}
    instants: dict[str, pd.Series] = {}
    for c in ("created_at", "paid_at", "shipped_at"):
        series = o[c] if c in o else pd.Series([None] * len(o), index=o.index, dtype=object)
        values, instants[c], bad = parse_datetime_instants(series, timezone)
        times[c] = values
        if c in found:
            problems.mask(file, "unparseable", bad, with_examples(
                f"value is not a date/time in an accepted format ({DATE_FORMATS_HELP})"),
                column=found[c], examples=series)
    problems.mask(file, "required_null", o.created_at.isna(),
                  f"required column {found['created_at']!r} is empty",
                  column=found["created_at"])
    amounts: dict[str, pd.Series] = {}
    for c in ("amount", "discount", "refund_amount"):
        series = o[c] if c in o else pd.Series([None] * len(o), index=o.index, dtype=object)
        values, bad, reformatted = parse_amounts(series)
        amounts[c] = values
        if c in found:
            problems.mask(file, "unparseable", bad, with_examples(
                "value is not an amount (accepted: 1234.5, 1,234.50, $12)"), column=found[c],
                examples=series)
            problems.mask(file, "amount_reformatted", reformatted, with_examples(
                "currency signs / thousands separators were removed"), column=found[c],
                severity="warning", examples=series)

    is_paid = status.isin(PAID)
    unpaid = status.isin(UNPAID)
    amount = amounts["amount"]
    problems.mask(file, "required_null", is_paid & o.amount.isna(),
                  f"{found['amount']!r} is empty on a paid order", column=found["amount"])
    amount = amount.where(~(unpaid & o.amount.isna()), 0.0)
    if "paid_at" in found:
        problems.mask(file, "paid_without_time", is_paid & times["paid_at"].isna()
                      & o.paid_at.isna(),
                      f"the financial status says paid but {found['paid_at']!r} is empty",
                      column=found["paid_at"])
    else:
        problems.add(file, "missing_column", "column 'Paid at' is missing: paid orders need "
                     "their payment time", column="Paid at")
    refund = amounts["refund_amount"].fillna(0.0)
    refund = refund.where(~((status == "refunded") & (refund <= 0)), amount)
    province = o.get("shipping_province")
    if "billing_province" in o:
        province = o.billing_province if province is None \
            else province.where(province.notna(), o.billing_province)
    if province is None:
        province = pd.Series([None] * len(o), index=o.index, dtype=object)

    orders = pd.DataFrame({
        "order_id": o.order_id,
        "created_at": times["created_at"],
        "paid_at": times["paid_at"].where(is_paid),
        "amount": amount,
        "discount": amounts["discount"],
        "coupon_id": o.get("coupon_id"),
        "refund_amount": refund,
        "shipped_at": times["shipped_at"],
        "province": province.astype(object),
        "buyer": buyer,
    }, index=o.index)
    orders["discount"] = orders.discount.astype(np.float64)
    source = {c: found[c] for c in ("order_id", "created_at", "paid_at", "amount",
                                    "refund_amount", "shipped_at", "discount") if c in found}
    check_orders(problems, file, orders, source, now,
                 {c: v.where(is_paid) if c == "paid_at" else v for c, v in instants.items()},
                 timezone=timezone)
    used = set(found.values())
    dropped = tuple(h for h in raw.headers if h and h not in used)
    return MappedFile(file=file, encoding=raw.encoding, orders=orders, dropped_columns=dropped,
                      currency=currencies[0] if len(currencies) == 1 else None)
