"""The canonical data contract (see architecture.md): tables, columns, types.

Column names are public interface; adapters for shop exports map onto them. A data directory
holds ``<table>.csv`` or ``<table>.parquet``; only ``orders`` is required.
Timestamps are normalised on read to naive local time in the campaign's timezone.

Values (checked by :mod:`crm_experiments.io.validate`, which names file, column, rows, rule):

* **numbers** are finite: NaN and ±inf (Parquet doubles, ``nan``/``inf`` text) are errors.
* **money** (amount, discount, refund_amount, cost, face_value, threshold) is between 0 and
  ``MAX_MONEY`` = 1e11 currency units per row. The bound is above any real order, refund or
  coupon in any currency (1e11 Indonesian rupiah is about 6 million US dollars) and ten times
  below the largest value the engine's exact money sums hold (DECIMAL(18, 6): just under 1e12),
  so that a value accepted here can never overflow a sum; a larger value is a unit or parsing
  error.
* **timestamps**: a value with a UTC offset (``+08:00``, ``Z``) or in a zone-aware Parquet
  column is an instant, converted to the shop's timezone; ``paid_at`` is compared with
  ``created_at`` as instants. A value without one is shop-local time: in a timezone with
  daylight saving, a local time the clock skips does not exist and one it repeats is
  ambiguous; both are warnings naming the rows. Orders separated from the rest by more than 90
  days and holding at most 1% of them (one order dated 2100) are named (``stray_date``): an
  error when they lie in the future, because they would move the data's end.
* **ids** are text: ``123`` stored as an integer in one file and as text in another is the same
  id; ``00123`` and ``123`` are not, and an id that matches another table's only without its
  leading zeros is an error (``id_leading_zeros``; not rewritten, since ``007`` and ``7`` may
  be two customers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "text", "timestamp", "number", "integer"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _c(name: str, kind: Kind, required: bool = False) -> Column:
    return Column(name, kind, required)


TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (
        TableSchema("orders", (
            _c("order_id", "id", True), _c("customer_id", "id", True),
            _c("created_at", "timestamp", True), _c("paid_at", "timestamp"),
            _c("amount", "number", True), _c("discount", "number"), _c("coupon_id", "id"),
            _c("refund_amount", "number"), _c("shipped_at", "timestamp"), _c("province", "text"),
        ), key=("order_id",)),
        TableSchema("customers", (
            _c("customer_id", "id", True), _c("first_order_at", "timestamp"), _c("tier", "text"),
            _c("birthday", "timestamp"), _c("gender", "text"), _c("province", "text"),
        ), key=("customer_id",)),
        TableSchema("assignments", (
            _c("customer_id", "id", True), _c("campaign_id", "id", True), _c("arm", "text", True),
            _c("assigned_at", "timestamp"),
        )),
        TableSchema("contacts", (
            _c("customer_id", "id", True), _c("campaign_id", "id", True),
            _c("channel", "text", True), _c("sent_at", "timestamp", True), _c("cost", "number"),
        )),
        TableSchema("coupons", (
            _c("coupon_id", "id", True), _c("customer_id", "id", True), _c("campaign_id", "id"),
            _c("arm", "text"), _c("face_value", "number", True), _c("threshold", "number"),
            _c("issued_at", "timestamp"), _c("redeemed_order_id", "id"),
        ), key=("coupon_id",)),
        TableSchema("reviews", (
            _c("order_id", "id", True), _c("customer_id", "id"), _c("created_at", "timestamp"),
            _c("polarity", "text"), _c("dsr_item", "number"), _c("dsr_service", "number"),
            _c("dsr_logistics", "number"),
        )),
        TableSchema("surveys", (
            _c("customer_id", "id", True), _c("answered_at", "timestamp", True),
            _c("score", "number", True), _c("scale", "text"),
        )),
        TableSchema("interactions", (
            _c("customer_id", "id", True), _c("at", "timestamp", True), _c("kind", "text", True),
            _c("value", "number"),
        )),
    )
}

INTERACTION_KINDS = ("sign_in", "favourite", "cart", "vote", "lottery", "visit",
                     "points_earned", "points_spent")
REVIEW_POLARITIES = ("positive", "neutral", "negative")
SURVEY_SCALES = ("csat5", "nps10")
