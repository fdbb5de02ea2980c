"""Importing users and their territory assignments.

A user's ``territories`` in the file is the full set they hold from today: assignments not
listed end yesterday, new ones start today, unchanged ones are left as they are (history is
kept). ``password`` is an initial password: it is set when the user is created or has none,
never overwriting one the user chose, so re-importing the same file changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from sfa.auth.models import User
from sfa.auth.passwords import PasswordHasher
from sfa.erp.imports.upsert import SectionCount
from sfa.territories.models import TerritoryAssignment

ASSIGNMENT_ROLE = {"rep": "owner", "manager": "manager"}


def import_users(
    session: Session,
    hasher: PasswordHasher,
    rows: list[dict],
    territory_ids: dict[str, str],
    today: date,
    now: datetime,
    progress: Callable[[int], None] | None,
) -> SectionCount:
    count = SectionCount()
    existing = {u.email: u for u in session.scalars(select(User))}
    for row in rows:
        email = row["email"].strip().lower()
        user = existing.get(email)
        touched = False
        is_new = user is None
        if user is None:
            user = User(email=email, name=row["name"], role=row["role"], active=row["active"])
            session.add(user)
            session.flush()
            count.created += 1
        else:
            for name in ("name", "role", "active"):
                if getattr(user, name) != row[name]:
                    setattr(user, name, row[name])
                    touched = True
        if row["password"] and user.password_hash is None:
            user.password_hash = hasher.hash(row["password"])
            touched = True
        wanted = {territory_ids[code] for code in row["territories"]}
        touched |= _assign(session, user, wanted, today, now)
        if not is_new:
            count.updated += touched
            count.unchanged += not touched
        if progress:
            progress(1)
    return count


def _assign(session: Session, user: User, wanted: set[str], today: date, now: datetime) -> bool:
    """Make ``wanted`` the user's territories from today; True if anything changed."""
    role = ASSIGNMENT_ROLE.get(user.role)
    current = list(
        session.scalars(
            select(TerritoryAssignment).where(
                TerritoryAssignment.user_id == user.id,
                or_(TerritoryAssignment.valid_to.is_(None), TerritoryAssignment.valid_to >= today),
            )
        )
    )
    changed = False
    held = set()
    for assignment in current:
        if assignment.territory_id in wanted and assignment.role == role:
            held.add(assignment.territory_id)
            continue
        changed = True
        if assignment.valid_from >= today:
            session.execute(
                delete(TerritoryAssignment).where(TerritoryAssignment.id == assignment.id)
            )
        else:
            assignment.valid_to = today - timedelta(days=1)
    for territory_id in sorted(wanted - held):
        session.add(
            TerritoryAssignment(
                user_id=user.id,
                territory_id=territory_id,
                role=role,
                valid_from=today,
                created_at=now,
            )
        )
        changed = True
    return changed
