"""Conflicts as people see them: reps their own, managers those of their subtree, admins all.
A conflict kept for review stays open until a manager keeps the server's value or applies the
device's."""

from __future__ import annotations

from datetime import date, datetime

from marshmallow import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.errors import Conflict as ConflictError
from sfa.errors import NotFound
from sfa.pagination import Page, fetch_page
from sfa.sync.entities import BY_NAME
from sfa.sync.merge import Stamp
from sfa.sync.models import Conflict
from sfa.sync.schemas import FIELD_SCHEMAS
from sfa.territories.services import scope_territories


def _visible(principal: Principal, on: date) -> Select:
    query = select(Conflict)
    if principal.role == "rep":
        return query.where(Conflict.user_id == principal.user_id)
    scope = scope_territories(principal, on)
    return query if scope is None else query.where(Conflict.territory_id.in_(scope))


def list_conflicts(
    session: Session,
    principal: Principal,
    on: date,
    *,
    status: str | None,
    limit: int,
    after: str | None,
) -> Page[Conflict]:
    query = _visible(principal, on)
    if status:
        query = query.where(Conflict.status == status)
    return fetch_page(session, query, Conflict.id, limit, after)


def resolve(
    session: Session,
    principal: Principal,
    conflict_id: str,
    decision: str,
    on: date,
    now: datetime,
) -> Conflict:
    """Settle an open review: ``keep`` the server's value, or ``apply`` the device's (a
    back-office edit by the manager, which devices receive on their next pull)."""
    conflict = session.scalar(_visible(principal, on).where(Conflict.id == conflict_id))
    if conflict is None:
        raise NotFound("no such conflict", details={"conflict_id": conflict_id})
    if conflict.status != "open":
        raise ConflictError("this conflict is already resolved", code="already_resolved")
    if decision == "apply":
        _apply_overruled_value(session, principal, conflict, now)
    conflict.status, conflict.resolution = "resolved", decision
    conflict.resolved_by, conflict.resolved_at = principal.user_id, now
    session.commit()
    return conflict


def _apply_overruled_value(
    session: Session, principal: Principal, conflict: Conflict, now: datetime
) -> None:
    model = BY_NAME[conflict.entity].model
    record = session.get(model, conflict.record_id, with_for_update=True)
    if record is None:
        raise ConflictError("the record no longer exists", code="record_gone")
    try:
        values = FIELD_SCHEMAS[conflict.entity].load(
            {conflict.field: conflict.overruled_value}, partial=True
        )
    except ValidationError:  # the field's contract changed since: refuse rather than guess
        raise ConflictError(
            "the device's value can no longer be applied", code="stale_value"
        ) from None
    revision = record.revision + 1
    stamps = dict(record.field_stamps or {})
    stamps[conflict.field] = Stamp(
        revision, int(now.timestamp() * 1000), "", principal.user_id
    ).write()
    setattr(record, conflict.field, values[conflict.field])
    record.revision, record.field_stamps = revision, stamps
