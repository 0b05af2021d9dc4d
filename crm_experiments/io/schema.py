"""The canonical data contract (see architecture.md): tables, columns, types.

Column names are public interface; adapters for shop exports map onto them. A data directory
holds ``<table>.csv`` or ``<table>.parquet``; only ``orders`` is required.
Timestamps are normalised on read to naive local time in the campaign's timezone.
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
