"""The territory tree, its closure table, and who is assigned where, when."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String
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


class AccountTerritoryHistory(Base):
    """Which territory owned an account, from ``valid_from`` up to the day before ``valid_to``
    (open if null): one row per period, never rewritten except to close the open one. Orders
    are credited through it as of their date, so a realignment never changes past results."""

    __tablename__ = "account_territory_history"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_period"),
        Index("ix_account_territory_history_account_from", "account_id", "valid_from"),
        Index("ix_account_territory_history_territory", "territory_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    territory_id: Mapped[str] = mapped_column(ForeignKey("territories.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # exclusive
    source: Mapped[str] = mapped_column(String(64))  # import, model:<model id>
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


MODEL_STATUSES = ("draft", "scheduled", "active", "superseded", "cancelled")


class TerritoryModel(Base):
    """A realignment: assignment rules and manual placements, drafted, reviewed with a dry run,
    and activated at an effective date (the accounts it moves change territory that day).
    At most one model is active: its rules are the ones in force."""

    __tablename__ = "territory_models"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    effective_date: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moved_accounts: Mapped[int | None] = mapped_column(Integer)  # set at activation


class AssignmentRule(Base):
    """Accounts whose fields meet ``condition`` belong to ``territory_id`` (see
    ``sfa.territories.assignment`` for the condition language and how rules combine)."""

    __tablename__ = "territory_assignment_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    model_id: Mapped[str] = mapped_column(
        ForeignKey("territory_models.id", ondelete="CASCADE"), index=True
    )
    territory_id: Mapped[str] = mapped_column(ForeignKey("territories.id"))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    condition: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ManualAssignment(Base):
    """A model's placement of one account by hand: it beats every rule."""

    __tablename__ = "territory_manual_assignments"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("territory_models.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    territory_id: Mapped[str] = mapped_column(ForeignKey("territories.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
