"""Orders taken on the device, with their lines. Pricing, validation and the ERP flow build on
these (server-owned fields: status after submission, prices, totals)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, String, Text
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


class Order(InAccountTerritory, Revisioned, Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # chosen by the device
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    status: Mapped[str] = mapped_column(String(30), default="draft")
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_delivery_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    total: Mapped[Decimal | None] = mapped_column(Amount)
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
    quantity: Mapped[int] = mapped_column(BigInteger)
    bonus_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    unit_price: Mapped[Decimal | None] = mapped_column(Amount)
    line_total: Mapped[Decimal | None] = mapped_column(Amount)
