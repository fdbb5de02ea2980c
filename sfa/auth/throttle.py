"""Login throttling: failed sign-ins counted per account and per address in a sliding window,
checked before any password is hashed. Kept in the database so every worker shares it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sfa.auth.models import LoginFailure
from sfa.errors import Throttled


def check(session: Session, limits: Sequence[tuple[str, int]], window: int, now: datetime) -> None:
    """Raise :class:`Throttled` if any ``(key, max_failures)`` has reached its limit."""
    since = now - timedelta(seconds=window)
    for key, limit in limits:
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                LoginFailure.key == key, LoginFailure.at > since
            )
        ).one()
        if count >= limit:
            retry_after = max(1, int((oldest + timedelta(seconds=window) - now).total_seconds()))
            raise Throttled(
                "too many failed sign-ins; try again later",
                code="login_throttled",
                retry_after=retry_after,
            )


def record_failure(session: Session, keys: Sequence[str], window: int, now: datetime) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - timedelta(seconds=window)))
    session.add_all(LoginFailure(key=key, at=now) for key in keys)


def clear(session: Session, key: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key == key))
