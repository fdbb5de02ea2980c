"""Change windows: which row versions a pull delivers.

A pull runs between a lower bound (the device's cursor, or nothing on a first sync) and an
upper bound taken when its first page is read; every page of that pull uses the same upper
bound, so the page set is one consistent cut. Versions are backend-specific:

- PostgreSQL: ``sync_version`` is the writing transaction's id and a bound is a
  ``pg_snapshot``. A row is in the window when the lower snapshot did not see its transaction
  and the upper one does. Transaction ids are handed out at start but commit in any order, so a
  plain ``version > last seen`` cursor would skip a transaction that committed late; comparing
  snapshots cannot.
- SQLite: writers are serialised and ``sync_version`` grows in commit order, so a bound is
  the clock's value and the window is ``lower < version <= upper``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Text, and_, cast, func, literal, not_, or_, select, text, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import UserDefinedType

from sfa.sync.models import SyncClock
from sfa.sync.triggers import TRACKED


class _Xid8(UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **_kw) -> str:  # noqa: ANN003
        return "xid8"


class _Snapshot(UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **_kw) -> str:  # noqa: ANN003
        return "pg_snapshot"


@dataclass(frozen=True)
class ChangeWindow:
    backend: str  # "pg" | "sqlite"
    lower: str | None  # None: everything up to ``upper``
    upper: str

    def contains(self, version: ColumnElement) -> ColumnElement:
        """Rows whose version falls in the window."""
        if self.backend == "sqlite":
            upper = version <= int(self.upper)
            return upper if self.lower is None else and_(version > int(self.lower), upper)
        xid = cast(cast(version, Text), _Xid8())
        # Below a snapshot's xmin every transaction has finished, and at or above its xmax none
        # had: only versions in between need the (per-row, costlier) visibility function.
        upper_xmin, upper_xmax = snapshot_xmin(self.upper), _snapshot_xmax(self.upper)
        in_progress = func.pg_visible_in_snapshot(xid, cast(literal(self.upper), _Snapshot()))
        upper = or_(version < upper_xmin, and_(version < upper_xmax, in_progress))
        if self.lower is None:
            return upper
        seen_before = func.pg_visible_in_snapshot(xid, cast(literal(self.lower), _Snapshot()))
        return and_(version >= snapshot_xmin(self.lower), not_(seen_before), upper)

    @property
    def is_initial(self) -> bool:
        return self.lower is None


_CHANGE_TABLES = (*(t.table for t in TRACKED), "sync_tombstones", "sync_account_moves")
# The bounds' SQL per backend, as parameters; a statement may use other expressions instead.
_BOUNDS = {
    "sqlite": (":lower", ":upper"),
    "pg": ("CAST(:lower AS pg_snapshot)", "CAST(:upper AS pg_snapshot)"),
}
CURRENT_BOUND_SQL = {
    "sqlite": "COALESCE((SELECT value FROM sync_clock WHERE id = 1), 0)",
    "pg": "pg_current_snapshot()",
}


def probe_sql(backend: str, lower: str | None = None, upper: str | None = None) -> str:
    """SQL that is true when any synced table, tombstone or account move changed between the
    bounds ``lower`` and ``upper`` (SQL expressions; default: the ``:lower`` and ``:upper``
    parameters; PostgreSQL also takes ``:xmin``, the lower snapshot's xmin). One indexed probe
    per table."""
    lower, upper = lower or _BOUNDS[backend][0], upper or _BOUNDS[backend][1]
    if backend == "sqlite":
        condition = f"sync_version > {lower} AND sync_version <= {upper}"
    else:
        xid = "sync_version::text::xid8"
        condition = (
            f"sync_version >= :xmin AND NOT pg_visible_in_snapshot({xid}, {lower})"
            f" AND pg_visible_in_snapshot({xid}, {upper})"
        )
    return " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE {condition})" for table in _CHANGE_TABLES
    )


# One prepared statement per backend, built once: an idle pull must cost next to nothing.
_PROBES = {backend: text("SELECT " + probe_sql(backend)) for backend in _BOUNDS}


@dataclass(frozen=True)
class WindowChanges:
    """What changed in a delta window, table by table (read in the snapshot of the page)."""

    tables: frozenset[str]  # tracked tables with a row version in the window
    tombstoned: frozenset[str]  # entities with a deletion in the window
    moved: bool  # an account changed territory in the window


def _changes_sql(backend: str) -> str:
    lower, upper = _BOUNDS[backend]
    if backend == "sqlite":
        condition = f"sync_version > {lower} AND sync_version <= {upper}"
        entities = "group_concat(DISTINCT entity)"
    else:
        xid = "sync_version::text::xid8"
        condition = (
            f"sync_version >= :xmin AND NOT pg_visible_in_snapshot({xid}, {lower})"
            f" AND pg_visible_in_snapshot({xid}, {upper})"
        )
        entities = "string_agg(DISTINCT entity, ',')"
    probes = [
        f"EXISTS (SELECT 1 FROM {table} WHERE {condition}) AS {table}"
        for table in (t.table for t in TRACKED)
    ]
    probes.append(f"(SELECT {entities} FROM sync_tombstones WHERE {condition}) AS tombstoned")
    probes.append(f"EXISTS (SELECT 1 FROM sync_account_moves WHERE {condition}) AS moved")
    return "SELECT " + ", ".join(probes)


_CHANGES = {backend: text(_changes_sql(backend)) for backend in _BOUNDS}


def changes_in(session: Session, window: ChangeWindow) -> WindowChanges:
    """Which tables, deletions and moves a delta window holds: one indexed probe per table,
    in one round trip, so a pull runs only the queries that can find something."""
    row = session.execute(_CHANGES[window.backend], _window_params(window)).one()
    *flags, tombstoned, moved = row
    tables = frozenset(t.table for t, flag in zip(TRACKED, flags, strict=True) if flag)
    return WindowChanges(tables, frozenset((tombstoned or "").split(",")) - {""}, bool(moved))


def _window_params(window: ChangeWindow) -> dict:
    if window.backend == "sqlite":
        return {"lower": int(window.lower), "upper": int(window.upper)}
    return {"lower": window.lower, "upper": window.upper, "xmin": snapshot_xmin(window.lower)}


def anything_changed(session: Session, window: ChangeWindow) -> bool:
    """Whether any synced table, tombstone or account move changed in ``window`` (a delta
    window: it has a lower bound). One indexed probe per table, in one round trip."""
    return bool(session.scalar(_PROBES[window.backend], _window_params(window)))


def everything() -> ColumnElement:
    return true()


def backend_of(session: Session) -> str:
    return "sqlite" if session.get_bind().dialect.name == "sqlite" else "pg"


def current_bound(session: Session) -> str:
    """The upper bound for a pull starting now, read in the pull's own transaction."""
    if backend_of(session) == "sqlite":
        return str(session.scalar(select(SyncClock.value).where(SyncClock.id == 1)) or 0)
    return session.scalar(select(cast(func.pg_current_snapshot(), Text)))


def snapshot_xmin(snapshot: str) -> int:
    return int(snapshot.split(":", 1)[0])


def _snapshot_xmax(snapshot: str) -> int:
    return int(snapshot.split(":", 2)[1])


def is_from_the_future(backend: str, bound: str, now_bound: str) -> bool:
    """A bound the server cannot have issued yet: the database was restored from a backup."""
    if backend == "sqlite":
        return int(bound) > int(now_bound)
    return _snapshot_xmax(bound) > _snapshot_xmax(now_bound)


def is_well_formed(backend: str, bound: str) -> bool:
    if backend == "sqlite":
        return bound.isdigit()
    parts = bound.split(":")
    return (
        len(parts) == 3
        and parts[0].isdigit()
        and parts[1].isdigit()
        and all(p.isdigit() for p in parts[2].split(",") if p)
    )


VERSION_TYPE = BigInteger
