"""The territory tree, its closure table, and who is assigned where, when."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sfa.columns import Tracked, UTCDateTime, new_id, utcnow
from sfa.db import Base

TERRITORY_TYPES = ("country", "region", "district", "territory")
ASSIGNMENT_ROLES = ("owner", "overlay", "manager")


class Territory(Tracked, Base):
    __tablename__ = "territories"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("territories.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TerritoryClosure(Base):
    """Every (ancestor, descendant) pair of the tree, including each territory with itself at
    depth 0: a subtree or an ancestor chain is one indexed lookup."""

    __tablename__ = "territory_closure"

    ancestor_id: Mapped[str] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), primary_key=True
    )
    descendant_id: Mapped[str] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    depth: Mapped[int] = mapped_column(Integer)


class TerritoryAssignment(Base):
    """A user's role in a territory over a validity period (``valid_to`` inclusive; open if
    null)."""

    __tablename__ = "territory_assignments"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        Index("ix_territory_assignments_user_period", "user_id", "valid_from"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    territory_id: Mapped[str] = mapped_column(ForeignKey("territories.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
