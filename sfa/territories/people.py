"""Who works where: users' roles in territories over validity periods (owner, overlay
specialist, manager). A user's scope on a day is the subtrees of the territories they hold
that day; changing an assignment changes what their devices receive on the next sync."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa import audit
from sfa.auth.models import User
from sfa.errors import NotFound, ValidationFailed
from sfa.territories.models import Territory, TerritoryAssignment


def _view(assignment: TerritoryAssignment) -> dict:
    return {
        "user_id": assignment.user_id,
        "territory_id": assignment.territory_id,
        "role": assignment.role,
        "valid_from": assignment.valid_from,
        "valid_to": assignment.valid_to,
    }


def list_assignments(
    session: Session, user_id: str | None, territory_id: str | None
) -> list[TerritoryAssignment]:
    query = select(TerritoryAssignment).order_by(
        TerritoryAssignment.valid_from, TerritoryAssignment.id
    )
    if user_id:
        query = query.where(TerritoryAssignment.user_id == user_id)
    if territory_id:
        query = query.where(TerritoryAssignment.territory_id == territory_id)
    return list(session.scalars(query))


def assign(
    session: Session,
    *,
    user_id: str,
    territory_id: str,
    role: str,
    valid_from: date,
    valid_to: date | None,
    actor: str | None,
    now: datetime,
) -> TerritoryAssignment:
    errors = []
    if session.get(User, user_id) is None:
        errors.append({"path": "user_id", "message": "unknown user"})
    if session.get(Territory, territory_id) is None:
        errors.append({"path": "territory_id", "message": "unknown territory"})
    if valid_to is not None and valid_to < valid_from:
        errors.append({"path": "valid_to", "message": "before valid_from"})
    if errors:
        raise ValidationFailed(errors)
    assignment = TerritoryAssignment(
        user_id=user_id, territory_id=territory_id, role=role, valid_from=valid_from,
        valid_to=valid_to, created_at=now,
    )  # fmt: skip
    session.add(assignment)
    session.flush()
    audit.record(session, actor, "assignment", assignment.id, "created", None, _view(assignment),
                 at=now)  # fmt: skip
    return assignment


def set_end(
    session: Session, assignment_id: str, valid_to: date | None, actor: str | None, now: datetime
) -> TerritoryAssignment:
    assignment = session.get(TerritoryAssignment, assignment_id, with_for_update=True)
    if assignment is None:
        raise NotFound("no such assignment", details={"assignment_id": assignment_id})
    if valid_to is not None and valid_to < assignment.valid_from:
        raise ValidationFailed([{"path": "valid_to", "message": "before valid_from"}])
    before = _view(assignment)
    assignment.valid_to = valid_to
    audit.record(session, actor, "assignment", assignment.id, "ended", before, _view(assignment),
                 at=now)  # fmt: skip
    return assignment
