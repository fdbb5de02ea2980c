"""Orders taken on the device, with their lines, and the history of their status.

The device owns what the rep decides (account, lines, quantities, dates, notes, and moving a
draft to ``submitted``); the server owns prices, totals, validation results and everything
after submission; the ERP owns the line confirmations, shipments and invoices."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sfa.columns import Amount, InAccountTerritory, Revisioned, UTCDateTime, utcnow
from sfa.db import Base

ORDER_STATUSES = (
    "draft",
    "submitted",
    "on_hold",
    "sent_to_erp",
    "accepted",
    "partially_backordered",
    "rejected",
    "shipped",
    "invoiced",
    "closed",
    "cancelled",
)


# Line statuses, in the vocabulary of an EDI 855 purchase order acknowledgement
LINE_STATUSES = (
    "pending",  # not acknowledged yet
    "accepted",
    "backordered",
    "quantity_changed",
    "price_changed",
    "rejected",
)
# Orders that still weigh on the account's credit: taken, not yet invoiced (nor dropped)
OPEN_STATUSES = (
    "submitted",
    "on_hold",
    "sent_to_erp",
    "accepted",
    "partially_backordered",
    "shipped",
)


class Order(InAccountTerritory, Revisioned, Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # chosen by the device
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    status: Mapped[str] = mapped_column(String(30), default="draft", index=True)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_delivery_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    # priced by the server at submission (the device's own figure is kept beside it)
    price_list_id: Mapped[str | None] = mapped_column(String(36))  # the one it was priced from
    currency: Mapped[str | None] = mapped_column(String(3))
    gross_total: Mapped[Decimal | None] = mapped_column(Amount)
    discount_total: Mapped[Decimal | None] = mapped_column(Amount)
    total: Mapped[Decimal | None] = mapped_column(Amount)
    shown_total: Mapped[Decimal | None] = mapped_column(Amount)  # what the device showed
    pricing_differences: Mapped[list | None] = mapped_column(JSON)
    hold_reasons: Mapped[list | None] = mapped_column(JSON)  # [{code, message, details}]
    status_reason: Mapped[str | None] = mapped_column(Text)  # why rejected or cancelled
    erp_reference: Mapped[str | None] = mapped_column(String(64))  # the ERP's order number
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the territory that owned the account on the order's date (placed_at, in the company's
    # time zone): its sales are credited there, whatever realignments come later
    credited_territory_id: Mapped[str | None] = mapped_column(String(36), index=True)
    credited_period: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM of that date
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OrderLine(InAccountTerritory, Revisioned, Base):
    """A line of an order. ``account_id`` repeats the order's (which never changes) so a line's
    scope is known without its order, even in the tombstone of a deleted one."""

    __tablename__ = "order_lines"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str | None] = mapped_column(String(64))  # the product's, when the line was made
    quantity: Mapped[int] = mapped_column(BigInteger)
    bonus_quantity: Mapped[int] = mapped_column(BigInteger, default=0)  # free, on top
    # priced by the server at submission
    free_quantity: Mapped[int | None] = mapped_column(BigInteger)  # free, inside the quantity
    unit_price: Mapped[Decimal | None] = mapped_column(Amount)
    discount_percent: Mapped[Decimal | None] = mapped_column(Amount)
    discount_amount: Mapped[Decimal | None] = mapped_column(Amount)
    line_total: Mapped[Decimal | None] = mapped_column(Amount)  # net
    shown_unit_price: Mapped[Decimal | None] = mapped_column(Amount)  # what the device showed
    shown_line_total: Mapped[Decimal | None] = mapped_column(Amount)
    # acknowledged by the ERP (quantities are cumulative, so replays and reordering are safe)
    line_status: Mapped[str] = mapped_column(
        String(20), default="pending", server_default="pending"
    )
    confirmed_quantity: Mapped[int | None] = mapped_column(BigInteger)
    backordered_quantity: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shipped_quantity: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    invoiced_quantity: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    confirmed_unit_price: Mapped[Decimal | None] = mapped_column(Amount)


class OrderEvent(Base):
    """The audit trail of an order: every status change, who made it and why."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )  # in the order things happened
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))  # None: the ERP
    kind: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str | None] = mapped_column(String(30))
    details: Mapped[dict | None] = mapped_column(JSON)
