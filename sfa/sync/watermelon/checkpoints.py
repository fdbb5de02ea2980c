"""WatermelonDB's ``timestamp`` for a device, and the engine cursor behind it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.sync.models import WatermelonCheckpoint
from sfa.sync.pull import ResetRequired


def issue(session: Session, device_id: str, cursor: str, now: datetime) -> int:
    """A new timestamp for the device, standing for ``cursor``: milliseconds since the epoch,
    and always above every timestamp the device was given before (a clock that steps back, or
    two pulls in the same millisecond, cannot make it repeat or go down)."""
    for _ in range(5):  # a concurrent pull of the same device took the same value: next one
        last = session.scalar(
            select(func.max(WatermelonCheckpoint.timestamp)).where(
                WatermelonCheckpoint.device_id == device_id
            )
        )
        timestamp = max(int(now.timestamp() * 1000), (last or 0) + 1)
        try:
            with session.begin_nested():
                session.add(
                    WatermelonCheckpoint(
                        device_id=device_id, timestamp=timestamp, cursor=cursor, created_at=now
                    )
                )
        except IntegrityError:
            continue
        session.commit()
        return timestamp
    raise RuntimeError("could not issue a checkpoint after 5 attempts")


def cursor_for(session: Session, device_id: str, timestamp: int) -> str:
    """The engine cursor a timestamp stands for. A timestamp this device was never given, or
    one forgotten past the offline horizon, means the device must start over."""
    cursor = session.scalar(
        select(WatermelonCheckpoint.cursor).where(
            WatermelonCheckpoint.device_id == device_id,
            WatermelonCheckpoint.timestamp == timestamp,
        )
    )
    if cursor is None:
        raise ResetRequired(
            "checkpoint_unknown",
            "last_pulled_at is not a timestamp this device was given, or it is older than the "
            "offline horizon",
        )
    return cursor
