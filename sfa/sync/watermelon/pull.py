"""A WatermelonDB pull: the engine's pull, run to its last page, in WatermelonDB's shape.

The engine does the work (scope, move-in and move-out, one consistent cut, catch-up of what
changed while the pages were read); this module only sorts its records into ``created``,
``updated`` and ``deleted``:

- a first sync delivers everything under ``created``;
- later, records that entered the rep's scope (an account moved in, a territory added) are
  ``created``; every other change is ``updated``. In particular a device's own new records are
  never echoed as ``created``: a record the user deleted offline after pushing it would come
  back (WatermelonDB issue #649). Apps pass ``sendCreatedAsUpdated: true`` to
  ``synchronize()``, so a record new to the device under ``updated`` is created quietly;
- removals (deletions, and records that left the scope) are ``deleted``.

An id appears once per table; when the engine's catch-up delivers a record twice, its last
state wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.sync import pull as engine
from sfa.sync.schemas import MAX_PAGE
from sfa.sync.watermelon import checkpoints
from sfa.sync.watermelon.records import to_raw
from sfa.sync.watermelon.schema import BY_TABLE, TABLES

CREATED, UPDATED, DELETED = "created", "updated", "deleted"


@dataclass(frozen=True)
class Migration:
    """What a device's schema gained since its last sync (WatermelonDB's ``migration``)."""

    since: int
    tables: frozenset[str]
    columns: dict[str, frozenset[str]]


@dataclass
class Changes:
    """Per table, each record id's last state: (CREATED | UPDATED, raw record) or DELETED."""

    by_table: dict[str, dict[str, tuple[str, Any]]] = field(default_factory=dict)

    def put(self, table: str, kind: str, record_id: str, raw: Any = None) -> None:
        held = self.by_table.setdefault(table, {})
        before = held.get(record_id)
        if kind == UPDATED and before is not None and before[0] == CREATED:
            kind = CREATED  # still new to the device, in its latest state
        held[record_id] = (kind, raw)

    def as_watermelon(self) -> dict[str, dict[str, list]]:
        body: dict[str, dict[str, list]] = {}
        for table in TABLES:
            buckets: dict[str, list] = {CREATED: [], UPDATED: [], DELETED: []}
            for record_id, (kind, raw) in self.by_table.get(table.name, {}).items():
                buckets[kind].append(record_id if kind == DELETED else raw)
            body[table.name] = buckets
        return body


def pull(
    session: Session,
    principal: Principal,
    settings: engine.PullSettings,
    *,
    last_pulled_at: int | None,
    migration: Migration | None,
    today: date,
    now: datetime,
) -> dict[str, Any]:
    device = principal.device_id
    cursor = checkpoints.cursor_for(session, device, last_pulled_at) if last_pulled_at else None
    changes = Changes()
    initial = cursor is None

    def sort(entity: str, kind: str, items: list) -> None:
        table = BY_TABLE[entity]
        if kind == "removals":
            for record_id in items:
                changes.put(entity, DELETED, record_id)
            return
        bucket = CREATED if initial or kind == "arrivals" else UPDATED
        for record in items:
            changes.put(entity, bucket, record["id"], to_raw(table, record))

    ended = _run(session, principal, settings, cursor, sort, today, now)
    if migration is not None and not initial:
        _add_migrated(session, principal, settings, migration, changes, today, now)
    timestamp = checkpoints.issue(session, device, ended, now)
    return {"changes": changes.as_watermelon(), "timestamp": timestamp}


def _run(session, principal, settings, cursor, sort, today, now) -> str:  # noqa: ANN001
    """Every page of one engine pull; returns the cursor it ends with."""
    continuation = None
    while True:
        page = engine.pull(
            session,
            principal,
            settings,
            cursor=cursor,
            continuation=continuation,
            limit=MAX_PAGE,
            today=today,
            now=now,
            arrivals=True,
            json_text=False,
        )
        for entity, buckets in page.changes.items():
            for kind, items in buckets.items():
                sort(entity, kind, items)
        if not page.has_more:
            return page.cursor
        continuation = page.continuation


def _add_migrated(
    session: Session,
    principal: Principal,
    settings: engine.PullSettings,
    migration: Migration,
    changes: Changes,
    today: date,
    now: datetime,
) -> None:
    """After a schema migration on the device: every record of a table it just added (as
    ``created``), and every record of a table that gained columns (as ``updated``, which
    covers those whose new columns hold something other than the default). Read from a first
    sync's snapshot, taken after the delta's: the device's next pull starts from the delta's
    cursor, so anything changed in between arrives again, never missed."""
    wanted = set(migration.tables) | set(migration.columns)

    def sort(entity: str, kind: str, items: list) -> None:
        if entity not in wanted or kind == "removals":
            return
        bucket = CREATED if entity in migration.tables else UPDATED
        table = BY_TABLE[entity]
        for record in items:
            changes.put(entity, bucket, record["id"], to_raw(table, record))

    _run(session, principal, settings, None, sort, today, now)
