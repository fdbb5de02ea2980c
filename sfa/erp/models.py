"""The ERP feed's tables: the transactional outbox of order events, and the inbound
deliveries already applied (so a repeated acknowledgement changes nothing)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sfa.columns import UTCDateTime, new_id, utcnow
from sfa.db import Base

EVENT_STATUSES = ("pending", "delivered", "dead")


class OutboxEvent(Base):
    """An order event for the ERP, written in the same transaction as the change it reports.

    Delivered at least once, in ``seq`` order per order, each time with its ``id`` as the
    idempotency key. ``locked_until`` is a dispatcher's lease: a dispatcher that dies mid-send
    leaves it to expire, and the event is sent again (the ERP dedupes by the key)."""

    __tablename__ = "erp_outbox"
    __table_args__ = (
        UniqueConstraint("order_id", "seq"),
        Index("ix_erp_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # position among the order's events
    type: Mapped[str] = mapped_column(String(40))  # order.submitted, order.cancelled
    body: Mapped[str] = mapped_column(Text)  # the event's JSON, the exact bytes sent and signed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundDelivery(Base):
    """An acknowledgement from the ERP, by its delivery id: applied once, answered the same
    way every time it is sent again."""

    __tablename__ = "erp_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    order_id: Mapped[str | None] = mapped_column(String(36), index=True)
    type: Mapped[str] = mapped_column(String(40))
    payload_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
