"""Column types shared by every feature: identifiers, exact amounts and UTC timestamps."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, DateTime, FetchedValue, Index, Integer, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

AMOUNT_SCALE = 4
_SCALE = Decimal(10) ** AMOUNT_SCALE


def new_id() -> str:
    """A time-ordered UUID (version 7 layout): unique, and index-friendly as a string key."""
    millis = time.time_ns() // 1_000_000
    raw = bytearray(millis.to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def utcnow() -> datetime:
    return datetime.now(UTC)


class Amount(TypeDecorator[Decimal]):
    """An exact decimal amount with 4 decimal places.

    PostgreSQL keeps it as NUMERIC. SQLite has no exact decimal, so it is kept there as an
    integer of ten-thousandths; SUM() over the column stays exact and converts back.
    """

    impl = Numeric(20, AMOUNT_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect):  # noqa: ANN201
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(20, AMOUNT_SCALE, asdecimal=True))

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201
        if value is None:
            return None
        exact = Decimal(value).quantize(Decimal(1) / _SCALE)
        if dialect.name == "sqlite":
            return int(exact * _SCALE)
        return exact

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / _SCALE).quantize(Decimal(1) / _SCALE)
        return Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Tracked:
    """A synced record: ``sync_version`` orders its changes for pulls. It is stamped by database
    triggers on every insert and update (PostgreSQL: the writing transaction's id; SQLite: a
    clock bumped inside the serialised write transaction), so no write path can forget it."""

    sync_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", index=True)


class Revisioned(Tracked):
    """A record devices edit: ``revision`` grows with every change (under the row lock, so it is
    strictly ordered per record), and ``field_stamps`` remembers for each field the revision,
    edit time (epoch ms) and editor of its last change: ``{"phone": {"r": 4, "t": ..., "u": ...,
    "m": ...}}``. Together they tell a concurrent edit from a stale one, field by field."""

    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    field_stamps: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")


class InAccountTerritory:
    """A record that belongs to an account (contacts, orders, order lines, visits) carries its
    account's territory. Database triggers copy it (``sfa/sync/triggers.py``) when the record is
    written and when the account moves, so no write path can leave it stale; pulls then select
    a territory's records by an index range instead of joining accounts on every page."""

    territory_id: Mapped[str | None] = mapped_column(String(36), server_default=FetchedValue())

    @declared_attr.directive
    def __table_args__(cls) -> tuple:  # noqa: N805
        return (Index(f"ix_{cls.__tablename__}_territory_id_id", "territory_id", "id"),)
