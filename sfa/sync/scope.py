"""A device's scope as a set of territory ids, and the snapshots cursors refer to by hash."""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.sync.models import ScopeSnapshot
from sfa.territories.models import Territory
from sfa.territories.services import scope_territories


def territories_in_scope(session: Session, principal: Principal, on: date) -> list[str]:
    """Sorted ids of the territories whose data ``principal`` holds on ``on``."""
    query = scope_territories(principal, on)
    if query is None:
        query = select(Territory.id)
    return sorted(set(session.scalars(query)))


def scope_hash(territory_ids: list[str]) -> str:
    return hashlib.sha256(",".join(territory_ids).encode()).hexdigest()[:32]


def remember(session: Session, territory_ids: list[str]) -> str:
    """Store the snapshot if it is new (its own short transaction) and return its hash."""
    digest = scope_hash(territory_ids)
    if session.get(ScopeSnapshot, digest) is not None:
        session.rollback()
        return digest
    session.rollback()
    session.add(ScopeSnapshot(hash=digest, territory_ids=territory_ids))
    try:
        session.commit()
    except IntegrityError:  # another pull stored the same scope first
        session.rollback()
    return digest


def recall(session: Session, digest: str) -> list[str] | None:
    snapshot = session.get(ScopeSnapshot, digest)
    return None if snapshot is None else list(snapshot.territory_ids)
