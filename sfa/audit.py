"""The append-only audit trail: who changed what, when, with the values before and after.

Rows are only ever inserted: database triggers refuse UPDATE and DELETE on the table
(``AUDIT_GUARD_STATEMENTS``, installed by the migrations), so not even a bug in this code can
rewrite the past. (TRUNCATE, an owner's maintenance statement, is not guarded.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sfa.columns import UTCDateTime, utcnow
from sfa.db import Base
from sfa.wire import wire_value


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(36))  # None: the system (a schedule)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)


def plain(value: Any) -> Any:
    """A value as the audit stores it: JSON-ready (dates ISO, amounts numbers)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return wire_value(value)


def record(
    session: Session,
    actor_id: str | None,
    entity: str,
    entity_id: str,
    action: str,
    before: Any = None,
    after: Any = None,
    *,
    at: datetime | None = None,
) -> None:
    """Add one entry to the session's transaction: it commits with the change it describes."""
    session.execute(
        insert(AuditEntry).values(
            at=at or utcnow(),
            actor_id=actor_id,
            entity=entity,
            entity_id=entity_id,
            action=action,
            before=plain(before),
            after=plain(after),
        )
    )


def entries(
    session: Session,
    entity: str | None = None,
    entity_id: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The trail, newest first; ``before_id`` pages back."""
    wanted = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity:
        wanted = wanted.where(AuditEntry.entity == entity)
    if entity_id:
        wanted = wanted.where(AuditEntry.entity_id == entity_id)
    if before_id:
        wanted = wanted.where(AuditEntry.id < before_id)
    return list(session.scalars(wanted))


AUDIT_GUARD_STATEMENTS = {
    "sqlite": [
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    ],
}
AUDIT_GUARD_REMOVAL = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgresql": [
        "DROP TRIGGER audit_log_no_change ON audit_log",
        "DROP FUNCTION audit_log_append_only()",
    ],
}
