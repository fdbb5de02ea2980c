"""Quotas, reps' forecasts, managers' adjustments, and the monthly sales they are compared
with."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
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


class ForecastAdjustment(Base):
    """A manager's adjustment of the forecast of a territory (its whole subtree) for a month,
    product line and category, with the note saying why. Rows are never changed but to mark
    them reset: the latest one not reset is in force, and the rest is the history. Kept apart
    from the reps' forecasts, so no recomputation can erase it."""

    __tablename__ = "forecast_adjustments"
    __table_args__ = (
        Index("ix_forecast_adjustments_key", "territory_id", "period", "product_line"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    territory_id: Mapped[str] = mapped_column(ForeignKey("territories.id"))
    period: Mapped[str] = mapped_column(String(7))
    product_line: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Amount)
    note: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reset_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    reset_reason: Mapped[str | None] = mapped_column(Text)


class SalesMonth(Base):
    """Orders' amounts per credited territory, month (the company's calendar) and product
    line: what attainment and the baselines read. Kept up to date by ``sfa.forecasts.sales``
    whenever an order's ERP status or credit changes."""

    __tablename__ = "sales_months"

    territory_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    product_line: Mapped[str] = mapped_column(String(64), primary_key=True)
    booked_amount: Mapped[Decimal] = mapped_column(Amount)  # confirmed by the ERP
    invoiced_amount: Mapped[Decimal] = mapped_column(Amount)
    orders: Mapped[int] = mapped_column(BigInteger)


class ForecastSnapshot(Base):
    """The forecasts as they stood at a moment (taken weekly): what changed since last week."""

    __tablename__ = "forecast_snapshots"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    week: Mapped[str] = mapped_column(String(8), index=True)  # ISO week, e.g. 2026-W48
    taken_by: Mapped[str | None] = mapped_column(String(36))  # None: the schedule


class ForecastSnapshotRow(Base):
    """One territory's own figures in a snapshot: the reps' submitted forecasts there, and the
    manager's adjustment in force (if any) for that month, line and category."""

    __tablename__ = "forecast_snapshot_rows"

    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("forecast_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    territory_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    product_line: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    forecast: Mapped[Decimal] = mapped_column(Amount)
    adjusted: Mapped[Decimal | None] = mapped_column(Amount)
