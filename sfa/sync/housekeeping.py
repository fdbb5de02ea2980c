"""Forgetting what no cursor can still need: tombstones, account moves, stored push results,
scope snapshots and WatermelonDB checkpoints older than the offline horizon. A cursor older
than the horizon is answered with ``reset_required``, so nothing it could ask for is lost."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from sfa.auth.models import BrowserSession
from sfa.sync.models import (
    AccountMove,
    AppliedMutation,
    ScopeSnapshot,
    Tombstone,
    WatermelonCheckpoint,
)


def purge(session: Session, now: datetime, horizon_seconds: int) -> dict[str, int]:
    """Delete sync bookkeeping older than the horizon; returns the rows removed per kind."""
    cutoff = now - timedelta(seconds=horizon_seconds)
    removed = {
        "tombstones": session.execute(delete(Tombstone).where(Tombstone.deleted_at < cutoff)),
        "account_moves": session.execute(delete(AccountMove).where(AccountMove.moved_at < cutoff)),
        "push_results": session.execute(
            delete(AppliedMutation).where(AppliedMutation.created_at < cutoff)
        ),
        "scopes": session.execute(delete(ScopeSnapshot).where(ScopeSnapshot.last_used_at < cutoff)),
        "watermelon_checkpoints": session.execute(
            delete(WatermelonCheckpoint).where(WatermelonCheckpoint.created_at < cutoff)
        ),
        "browser_sessions": session.execute(  # dashboard sign-ins long expired
            delete(BrowserSession).where(BrowserSession.expires_at < cutoff)
        ),
    }
    session.commit()
    return {kind: result.rowcount for kind, result in removed.items()}
