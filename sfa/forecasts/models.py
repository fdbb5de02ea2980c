"""Quotas: the target amount per territory, month and product line."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sfa.columns import Amount, UTCDateTime, new_id, utcnow
from sfa.db import Base


class Quota(Base):
    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("territory_id", "period", "product_line"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    territory_id: Mapped[str] = mapped_column(ForeignKey("territories.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    product_line: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Amount)
    units: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
