"""Sync bookkeeping: tombstones, account moves, scope snapshots, processed mutations, conflicts,
and each device's sync status. Tombstones and moves are written by database triggers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sfa.columns import Tracked, UTCDateTime, new_id, utcnow
from sfa.db import Base

_serial = BigInteger().with_variant(Integer(), "sqlite")


class SyncClock(Base):
    """SQLite only: the change counter, bumped by the triggers inside serialised writes."""

    __tablename__ = "sync_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Tombstone(Base):
    """A deleted synced record, kept for the offline horizon. The scope columns say who must
    hear of it: the territory (resolved at delete time), the account, or the owning user."""

    __tablename__ = "sync_tombstones"
    __table_args__ = (Index("ix_sync_tombstones_entity_version", "entity", "sync_version"),)

    id: Mapped[int] = mapped_column(_serial, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(36))
    territory_id: Mapped[str | None] = mapped_column(String(36))
    account_id: Mapped[str | None] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    sync_version: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountMove(Base):
    """An account changing territory. ``id`` orders the moves of one account (a later move is
    written after the earlier one committed, under the account's row lock)."""

    __tablename__ = "sync_account_moves"
    __table_args__ = (Index("ix_sync_account_moves_version", "sync_version"),)

    id: Mapped[int] = mapped_column(_serial, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    from_territory_id: Mapped[str | None] = mapped_column(String(36))
    to_territory_id: Mapped[str] = mapped_column(String(36))
    sync_version: Mapped[int] = mapped_column(BigInteger)
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScopeSnapshot(Base):
    """A set of territory ids a device's cursor was issued for, addressed by its hash."""

    __tablename__ = "sync_scopes"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    territory_ids: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppliedMutation(Base):
    """The stored result of a pushed mutation: replays return it and change nothing."""

    __tablename__ = "sync_mutations"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    mutation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Conflict(Tracked, Base):
    """A value overruled by a conflict policy (or an edit refused because the record left the
    rep's scope). Synced to the user whose value lost; managers see those of their subtree."""

    __tablename__ = "conflicts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    territory_id: Mapped[str | None] = mapped_column(String(36), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(36))
    field: Mapped[str | None] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(20))
    winner: Mapped[str] = mapped_column(String(10))  # "server" | "client"
    kept_value: Mapped[object | None] = mapped_column(JSON)
    overruled_value: Mapped[object | None] = mapped_column(JSON)
    mutation_id: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10), default="resolved")  # open: awaits review
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolution: Mapped[str | None] = mapped_column(String(10))  # review: "keep" | "apply"
    resolved_by: Mapped[str | None] = mapped_column(String(36))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeviceSyncStatus(Base):
    __tablename__ = "device_sync_status"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    last_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WatermelonCheckpoint(Base):
    """A ``timestamp`` handed to a WatermelonDB device, and the engine cursor it stands for.

    WatermelonDB keeps one integer between syncs (``last_pulled_at``); the engine's cursor is a
    signed snapshot bound. Each pull stores the cursor it ended with under a new timestamp for
    that device (milliseconds, strictly growing per device), and the next pull or push looks
    it up. Kept for the offline horizon, like the cursors themselves."""

    __tablename__ = "sync_watermelon_checkpoints"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    cursor: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
