"""Products, price lists with their items, and stock availability."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sfa.columns import Amount, Tracked, UTCDateTime, new_id, utcnow
from sfa.db import Base


class Product(Tracked, Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    product_line: Mapped[str] = mapped_column(String(64), index=True)
    unit: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PriceList(Tracked, Base):
    __tablename__ = "price_lists"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PriceListItem(Tracked, Base):
    __tablename__ = "price_list_items"
    __table_args__ = (UniqueConstraint("price_list_id", "product_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    price_list_id: Mapped[str] = mapped_column(ForeignKey("price_lists.id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    price: Mapped[Decimal] = mapped_column(Amount)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StockLevel(Tracked, Base):
    """Units available to promise, per product, as last reported by the ERP."""

    __tablename__ = "stock_levels"

    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), primary_key=True)
    available: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


PRICING_RULE_KINDS = ("discount", "volume_band", "bonus")


class PricingRule(Tracked, Base):
    """A line discount, volume band or bonus scheme, as the ERP sends it; synced to every device
    so it prices offline with ``mobile_protocol.pricing``, the code the server prices with.
    ``id`` is the ERP's rule code (the pricing tie-break orders by it)."""

    __tablename__ = "pricing_rules"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    product_line: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    price_list_id: Mapped[str | None] = mapped_column(ForeignKey("price_lists.id"))
    percent: Mapped[Decimal | None] = mapped_column(Amount)  # discount
    bands: Mapped[list | None] = mapped_column(JSON)  # volume_band: [{min_quantity, percent}]
    buy: Mapped[int | None] = mapped_column(Integer)  # bonus
    free: Mapped[int | None] = mapped_column(Integer)
    repeating: Mapped[bool | None] = mapped_column()
    mode: Mapped[str | None] = mapped_column(String(20))  # on_top | inclusive
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
