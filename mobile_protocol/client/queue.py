"""The offline mutation queue: what the user did since the last push, in the order they did it.

Kept in the store's SQLite file, so it survives restarts. Each mutation gets its id (a UUID)
when it is queued and keeps it through every retry: that id is what makes a re-sent push
harmless. A mutation leaves the queue when the server has answered it; a rejected one moves
to the rejections, for the app to show.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mobile_protocol.client.store import LocalStore
from mobile_protocol.schemas import ENTITIES

Clock = Callable[[], datetime]
MUTATION_COLUMNS = "id, entity, op, record_id, base_revision, fields, edited_at"
REJECTION_COLUMNS = "mutation_id, entity, op, record_id, fields, code, reason, details"


def utc_now() -> datetime:
    return datetime.now(UTC)


def wire_timestamp(moment: datetime) -> str:
    """``2026-11-23T14:05:09.120Z``: UTC, milliseconds, the protocol's timestamp format."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UnknownRecord(LookupError):
    """An update or delete of a record the user cannot see on this device."""


@dataclass(frozen=True)
class Mutation:
    """One queued change, as the push request carries it."""

    id: str
    entity: str
    op: str
    record_id: str
    base_revision: int | None
    fields: dict[str, Any]
    edited_at: str

    def to_wire(self) -> dict[str, Any]:
        message = {
            "id": self.id,
            "entity": self.entity,
            "op": self.op,
            "record_id": self.record_id,
            "fields": self.fields,
            "edited_at": self.edited_at,
        }
        if self.op != "create":
            message["base_revision"] = self.base_revision
        return message


@dataclass(frozen=True)
class Rejection:
    """A mutation the server refused (nothing of it was applied), with its code and reason."""

    mutation_id: str
    entity: str
    op: str
    record_id: str
    fields: dict[str, Any]
    code: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


class MutationQueue:
    """The queue in ``store``'s file. ``clock`` stamps edits whose time is not given."""

    def __init__(self, store: LocalStore, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def record_create(
        self,
        entity: str,
        record_id: str,
        fields: Mapping[str, Any],
        edited_at: datetime | None = None,
    ) -> Mutation:
        """Queues a new record; ``record_id`` is a UUID the app chose."""
        return self._add(entity, "create", record_id, fields, edited_at)

    def record_update(
        self,
        entity: str,
        record_id: str,
        fields: Mapping[str, Any],
        edited_at: datetime | None = None,
    ) -> Mutation:
        """Queues the fields the user changed, with the revision the device last saw (None
        for a record created on this device and not yet pulled back)."""
        if not fields:
            raise ValueError("an update changes at least one field")
        return self._add(entity, "update", record_id, fields, edited_at)

    def record_delete(
        self, entity: str, record_id: str, edited_at: datetime | None = None
    ) -> Mutation:
        """Queues the deletion of a record the user can see."""
        return self._add(entity, "delete", record_id, {}, edited_at)

    def pending(self, limit: int | None = None) -> list[Mutation]:
        """The queued mutations, oldest first (at most ``limit``)."""
        rows = self.store.connection.execute(
            f"SELECT {MUTATION_COLUMNS} FROM mutations ORDER BY position LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [_mutation(row) for row in rows]

    def __len__(self) -> int:
        return self.store.connection.execute("SELECT count(*) FROM mutations").fetchone()[0]

    def settle(self, results: Iterable[Mapping[str, Any]]) -> list[Rejection]:
        """Takes every answered mutation out of the queue, in one transaction. Those rejected
        (and duplicates whose original was rejected) are kept as rejections and returned."""
        rejections = []
        with self.store.transaction() as db:
            for result in results:
                outcome = result.get("original", result)
                mutation = _take(db, result["id"])
                if mutation is not None and outcome["status"] == "rejected":
                    rejection = Rejection(
                        mutation_id=mutation.id,
                        entity=mutation.entity,
                        op=mutation.op,
                        record_id=mutation.record_id,
                        fields=mutation.fields,
                        code=outcome["code"],
                        reason=outcome["reason"],
                        details=outcome.get("details", {}),
                    )
                    _keep(db, rejection)
                    rejections.append(rejection)
        return rejections

    def reject_locally(self, mutation: Mutation, code: str, reason: str) -> Rejection:
        """Gives up on a mutation the server cannot take at all (one too large to push even
        alone), so that it does not block the queue behind it."""
        return self.settle(
            [{"id": mutation.id, "status": "rejected", "code": code, "reason": reason}]
        )[0]

    def rejections(self) -> list[Rejection]:
        """The rejected mutations the user has not dismissed, oldest first."""
        rows = self.store.connection.execute(
            f"SELECT {REJECTION_COLUMNS} FROM rejections ORDER BY position"
        )
        return [_rejection(row) for row in rows]

    def dismiss(self, mutation_id: str) -> None:
        """Forgets a rejection once the user has seen it."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM rejections WHERE mutation_id = ?", (mutation_id,))

    def _add(
        self,
        entity: str,
        op: str,
        record_id: str,
        fields: Mapping[str, Any],
        edited_at: datetime | None,
    ) -> Mutation:
        """Queues one mutation. Refuses an unknown entity, a create of a record the user can
        already see, and an update or delete of one the user cannot."""
        if entity not in ENTITIES:
            raise ValueError(f"unknown entity {entity!r}")
        visible = self.store.local_record(entity, record_id) is not None
        if op == "create" and visible:
            raise ValueError(f"{entity} {record_id} already exists")
        if op != "create" and not visible:
            raise UnknownRecord(f"{entity} {record_id} is not on this device")
        server_copy = self.store.server_record(entity, record_id)
        base_revision = None if server_copy is None else server_copy.get("revision")
        mutation = Mutation(
            id=str(uuid.uuid4()),
            entity=entity,
            op=op,
            record_id=record_id,
            base_revision=base_revision,
            fields=dict(fields),
            edited_at=wire_timestamp(edited_at or self.clock()),
        )
        with self.store.transaction() as db:
            db.execute(
                f"INSERT INTO mutations ({MUTATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    mutation.id,
                    mutation.entity,
                    mutation.op,
                    mutation.record_id,
                    mutation.base_revision,
                    json.dumps(mutation.fields),
                    mutation.edited_at,
                ),
            )
        return mutation


def _mutation(row: tuple[Any, ...]) -> Mutation:
    mutation_id, entity, op, record_id, base_revision, fields, edited_at = row
    return Mutation(
        mutation_id, entity, op, record_id, base_revision, json.loads(fields), edited_at
    )


def _rejection(row: tuple[Any, ...]) -> Rejection:
    mutation_id, entity, op, record_id, fields, code, reason, details = row
    return Rejection(
        mutation_id, entity, op, record_id, json.loads(fields), code, reason, json.loads(details)
    )


def _take(db: sqlite3.Connection, mutation_id: str) -> Mutation | None:
    row = db.execute(
        f"SELECT {MUTATION_COLUMNS} FROM mutations WHERE id = ?", (mutation_id,)
    ).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM mutations WHERE id = ?", (mutation_id,))
    return _mutation(row)


def _keep(db: sqlite3.Connection, rejection: Rejection) -> None:
    db.execute(
        f"INSERT OR REPLACE INTO rejections ({REJECTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rejection.mutation_id,
            rejection.entity,
            rejection.op,
            rejection.record_id,
            json.dumps(rejection.fields),
            rejection.code,
            rejection.reason,
            json.dumps(rejection.details),
        ),
    )
