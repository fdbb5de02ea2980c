"""A device's scope as a set of territory ids, and the snapshots cursors refer to by hash."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.columns import utcnow
from sfa.sync.models import DeviceSyncStatus, ScopeSnapshot
from sfa.territories.models import Territory
from sfa.territories.services import scope_territories

SNAPSHOT_TOUCH_AFTER = timedelta(days=1)  # a snapshot older than this is touched when used


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
    known = session.get(ScopeSnapshot, digest)
    stale = known is not None and known.last_used_at < utcnow() - SNAPSHOT_TOUCH_AFTER
    session.rollback()
    if known is not None and not stale:
        return digest
    if stale:  # keep it from being purged while cursors still name it
        session.execute(
            update(ScopeSnapshot).where(ScopeSnapshot.hash == digest).values(last_used_at=utcnow())
        )
        session.commit()
        return digest
    session.add(ScopeSnapshot(hash=digest, territory_ids=territory_ids))
    try:
        session.commit()
    except IntegrityError:  # another pull stored the same scope first
        session.rollback()
    return digest


_recent_pulls: dict[str, datetime] = {}  # per process: skip the read while it is fresh
_RECENT_LIMIT = 50_000


def record_pull(session: Session, device_id: str | None, now: datetime) -> None:
    """Note the device's last complete pull (for sync compliance), at most once a minute."""
    if device_id is None:
        return
    minute_ago = now - timedelta(minutes=1)
    if _recent_pulls.get(device_id, minute_ago) > minute_ago:
        return
    status = session.get(DeviceSyncStatus, device_id)
    if status is not None and status.last_pull_at and status.last_pull_at > minute_ago:
        session.rollback()
        _remember_pull(device_id, status.last_pull_at)
        return
    if status is None:
        status = DeviceSyncStatus(device_id=device_id)
        session.add(status)
    status.last_pull_at = now
    try:
        session.commit()
        _remember_pull(device_id, now)
    except IntegrityError:  # the device's two pulls raced to create it
        session.rollback()


def _remember_pull(device_id: str, at: datetime) -> None:
    if len(_recent_pulls) >= _RECENT_LIMIT:
        _recent_pulls.clear()
    _recent_pulls[device_id] = at


def recall(session: Session, digest: str) -> tuple[list[str], bool] | None:
    """The snapshot's territory ids and whether it was used within the last day, or None."""
    snapshot = session.get(ScopeSnapshot, digest)
    if snapshot is None:
        return None
    fresh = snapshot.last_used_at >= utcnow() - SNAPSHOT_TOUCH_AFTER
    return list(snapshot.territory_ids), fresh
