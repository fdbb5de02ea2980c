"""Pull: the changes in a device's scope since its cursor, in pages of one consistent snapshot.

Server memory stays O(page): every stream is read with keyset pagination (``key > after``),
``room + 1`` rows at a time. A page set shares one upper bound, carried in the continuation
token, so resuming an interrupted pull gives exactly what one uninterrupted pull gives.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.errors import DomainError
from sfa.sync import cursor as tokens
from sfa.sync.cursor import Continuation, Cursor
from sfa.sync.scope import recall, record_pull, remember, scope_hash, territories_in_scope
from sfa.sync.streams import PullPlan, PullScope
from sfa.sync.window import (
    ChangeWindow,
    anything_changed,
    backend_of,
    changes_in,
    current_bound,
    is_from_the_future,
    is_well_formed,
)


class ResetRequired(DomainError):
    """The device must drop its local data (keeping its queue) and pull from the start."""

    status = 410
    code = "reset_required"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message + "; pull again from the start", details={"reason": reason})


@dataclass(frozen=True)
class PullSettings:
    secret: str
    horizon_seconds: int
    order_history_days: int | None = None  # None: every order of an account reaches devices


@dataclass
class PullState:
    """Where a pull stands: its window, the scopes it compares, and its position."""

    backend: str
    lower: str | None
    prev_scope: str | None
    upper: str
    scope: str = ""
    stream: int = 0
    after: str | None = None
    started_at: int = 0
    hops: int = 0  # catch-up deltas chained onto this pull so far


MAX_HOPS = 3


@dataclass
class PullPage:
    changes: dict[str, dict[str, list]]
    has_more: bool
    continuation: str | None = None
    cursor: str | None = None


def pull(
    session: Session,
    principal: Principal,
    settings: PullSettings,
    *,
    cursor: str | None,
    continuation: str | None,
    limit: int,
    today: date,
    now: datetime,
    arrivals: bool = False,
    json_text: bool = True,
) -> PullPage:
    """One page of the pull (``arrivals``, ``json_text``: see :class:`PullPlan`). Raises
    :class:`ResetRequired` for a cursor past the horizon, from the future, or for a scope the
    server no longer knows."""
    backend = backend_of(session)
    if backend == "pg" and not session.info.pop("snapshot", False):
        # one snapshot for every query of this page: end any transaction begun otherwise
        session.rollback()
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        if continuation:
            saved = tokens.decode(settings.secret, "continuation", continuation)
            state = PullState(**asdict(saved))
            if state.backend != backend:
                raise ResetRequired("cursor_from_future", "this pull began on another server")
            scope_now, _ = _recall(session, state.scope)
        else:
            state = _start(session, settings, backend, cursor, now)
            scope_now = territories_in_scope(session, principal, today)
            state.scope = scope_hash(scope_now)
        prev, prev_is_fresh = None, False
        if state.prev_scope:
            prev, prev_is_fresh = _recall(session, state.prev_scope)
        window = ChangeWindow(backend, state.lower, state.upper)
        since = (
            datetime.fromtimestamp(state.started_at, UTC)
            - timedelta(days=settings.order_history_days)
            if settings.order_history_days is not None
            else None
        )
        plan = PullPlan(
            window,
            PullScope(now=scope_now, prev=prev),
            principal.user_id,
            since,
            arrivals=arrivals,
            json_text=json_text,
        )
        if not continuation and _is_idle(session, plan, state):
            page = PullPage({}, has_more=False)
        else:
            page = _read_page(session, plan, state, limit)
            if continuation and not page.has_more:
                page.has_more = _chain_catch_up(session, plan, state)
    finally:
        session.rollback()
    if not continuation and not (state.prev_scope == state.scope and prev_is_fresh):
        remember(session, scope_now)
    if page.has_more:
        page.continuation = tokens.encode(
            settings.secret, "continuation", Continuation(**asdict(state))
        )
    else:
        issued = Cursor(backend, state.upper, state.scope, int(now.timestamp()))
        page.cursor = tokens.encode(settings.secret, "cursor", issued)
        record_pull(session, principal.device_id, now)
    return page


def _start(
    session: Session, settings: PullSettings, backend: str, token: str | None, now: datetime
) -> PullState:
    upper = current_bound(session)
    started = int(now.timestamp())
    if not token:
        return PullState(backend, None, None, upper, started_at=started)
    cursor = tokens.decode(settings.secret, "cursor", token)
    if cursor.backend != backend or not is_well_formed(backend, cursor.bound):
        raise ResetRequired("cursor_from_future", "this cursor came from another kind of server")
    if cursor.issued_at < now.timestamp() - settings.horizon_seconds:
        raise ResetRequired("cursor_expired", "this cursor is older than the offline horizon")
    if is_from_the_future(backend, cursor.bound, upper):
        raise ResetRequired("cursor_from_future", "this cursor is ahead of the server")
    return PullState(backend, cursor.bound, cursor.scope, upper, started_at=started)


def _recall(session: Session, digest: str) -> tuple[list[str], bool]:
    """The scope's territory ids, and whether it was used recently enough not to need a touch."""
    found = recall(session, digest)
    if found is None:
        raise ResetRequired("scope_unknown", "the scope of this cursor is no longer known")
    return found


def _is_idle(session: Session, plan: PullPlan, state: PullState) -> bool:
    """Nothing to deliver: same scope as the cursor and no change anywhere in the window."""
    if plan.window.is_initial or state.prev_scope != state.scope:
        return False
    return not anything_changed(session, plan.window)


def _chain_catch_up(session: Session, plan: PullPlan, state: PullState) -> bool:
    """A page set that spanned several requests left out what changed after its upper bound.
    Continue straight into that delta, so the device ends where an uninterrupted pull made now
    would (at most ``MAX_HOPS`` times, for a server that never stops changing)."""
    if state.hops >= MAX_HOPS:
        return False
    latest = current_bound(session)
    since = ChangeWindow(state.backend, state.upper, latest)
    if not anything_changed(session, since):
        return False
    state.lower, state.prev_scope, state.upper = state.upper, state.scope, latest
    state.stream, state.after, state.hops = 0, None, state.hops + 1
    return True


def _read_page(session: Session, plan: PullPlan, state: PullState, limit: int) -> PullPage:
    changes: dict[str, dict[str, list]] = {}
    room = limit
    streams = plan.streams()
    # a delta reads only the streams that can find something in this page's snapshot
    window_changes = None if plan.window.is_initial else changes_in(session, plan.window)
    while state.stream < len(streams) and room > 0:
        stream = streams[state.stream]
        if window_changes is not None and not stream.needed(window_changes):
            state.stream, state.after = state.stream + 1, None
            continue
        rows = session.execute(stream.page(state.after, room + 1)).all()
        taken = rows[:room]
        if taken:
            bucket = changes.setdefault(stream.entity.name, {"upserts": [], "removals": []})
            bucket.setdefault(stream.kind, []).extend(map(stream.shape, taken))
            room -= len(taken)
        if len(rows) > len(taken):
            state.after = taken[-1][0]
            return PullPage(changes, has_more=True)
        state.stream, state.after = state.stream + 1, None
    return PullPage(changes, has_more=state.stream < len(streams))
