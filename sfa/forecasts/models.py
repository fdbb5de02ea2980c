"""Quotas: the target amount per territory, month and product line."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sfa.columns import Amount, Revisioned, Tracked, UTCDateTime, new_id, utcnow
from sfa.db import Base


class Quota(Tracked, Base):
    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("territory_id", "period", "product_line"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    territory_id: Mapped[str] = mapped_column(ForeignKey("territories.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    product_line: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Amount)
    units: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


FORECAST_CATEGORIES = ("commit", "best_case", "pipeline")


class Forecast(Revisioned, Base):
    """A rep's forecast for a month and product line; frozen once submitted."""

    __tablename__ = "forecasts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # chosen by the device
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    product_line: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Amount)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
