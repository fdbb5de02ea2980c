"""Customers (pharmacies, distributors, hospitals, practices) and their contacts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from sfa.columns import Amount, InAccountTerritory, Revisioned, UTCDateTime, new_id, utcnow
from sfa.db import Base

ACCOUNT_KINDS = ("pharmacy", "distributor", "hospital", "practice")
# The account fields the ERP owns and sends in imports (besides territory and price list).
MASTER_FIELDS = (
    "code",
    "name",
    "kind",
    "tax_id",
    "address",
    "city",
    "postal_code",
    "phone",
    "email",
    "channel",
    "credit_limit",
    "outstanding_balance",
    "min_order_value",
    "active",
)


class Account(Revisioned, Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    tax_id: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    channel: Mapped[str | None] = mapped_column(String(40))
    price_list_id: Mapped[str | None] = mapped_column(ForeignKey("price_lists.id"))
    credit_limit: Mapped[Decimal | None] = mapped_column(Amount)
    outstanding_balance: Mapped[Decimal | None] = mapped_column(Amount)  # unpaid invoices (ERP)
    min_order_value: Mapped[Decimal | None] = mapped_column(Amount)  # else the configured one
    territory_id: Mapped[str] = mapped_column(ForeignKey("territories.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # kept where it is by every realignment (a key account a manager placed by hand)
    exclude_from_realignment: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Contact(InAccountTerritory, Revisioned, Base):
    """A doctor or pharmacist at an account. Holds personal data: visible only in scope."""

    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)  # none when from a device
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    specialty: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
