"""The device's local SQLite file: the server's records, the cursor, a pull under way, the
device's identity and tokens, and (kept by :mod:`.queue`) the offline mutation queue.

Every change goes through :meth:`LocalStore.transaction`, so the file always holds either the
state before a change or the state after it: a pull is applied whole or not at all.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

Record = dict[str, Any]

LAYOUT = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    entity TEXT NOT NULL, id TEXT NOT NULL, revision INTEGER, data TEXT NOT NULL,
    PRIMARY KEY (entity, id)
);
CREATE TABLE IF NOT EXISTS staged_pages (
    position INTEGER PRIMARY KEY AUTOINCREMENT, changes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mutations (
    position INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, entity TEXT NOT NULL,
    op TEXT NOT NULL, record_id TEXT NOT NULL, base_revision INTEGER, fields TEXT NOT NULL,
    edited_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejections (
    position INTEGER PRIMARY KEY AUTOINCREMENT, mutation_id TEXT NOT NULL UNIQUE,
    entity TEXT NOT NULL, op TEXT NOT NULL, record_id TEXT NOT NULL, fields TEXT NOT NULL,
    code TEXT NOT NULL, reason TEXT NOT NULL, details TEXT NOT NULL
);
"""
"""One ``records`` table for every entity, each record's server copy as JSON; the queue's
``mutations`` (in the order they were made) and ``rejections``; ``settings`` holds device_id,
the tokens, the signed-in user and the cursor; ``staged_pages`` the pages of a pull under
way."""

SERVER_STATE = ("records", "staged_pages")
USER_DATA = (*SERVER_STATE, "mutations", "rejections")


class LocalStore:
    """The local file (a path, or ``":memory:"``). One store per device, used by one thread."""

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = FULL")  # a queued edit must survive a crash
        self.connection.executescript(LAYOUT)

    def close(self) -> None:
        self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One local write transaction: committed when the block ends, rolled back if it
        raises. Not re-entrant."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    # -- identity --------------------------------------------------------------------------

    @property
    def device_id(self) -> str:
        """The installation's stable id, made on first use. It survives sign-outs and wipes, so
        a revoked device stays recognisable to the server."""
        if (device_id := self._setting("device_id")) is None:
            device_id = str(uuid.uuid4())
            with self.transaction() as db:
                _set(db, "device_id", device_id)
        return device_id

    @property
    def user(self) -> dict[str, Any] | None:
        user = self._setting("user")
        return None if user is None else json.loads(user)

    @property
    def access_token(self) -> str | None:
        return self._setting("access_token")

    @property
    def refresh_token(self) -> str | None:
        return self._setting("refresh_token")

    def sign_in(self, user: Mapping[str, Any], access_token: str, refresh_token: str) -> None:
        """Keeps a new session. When a different user signs in, the previous user's records,
        cursor and queue are dropped first: nobody sees or pushes another rep's data."""
        previous = self.user
        with self.transaction() as db:
            if previous is not None and previous.get("id") != user.get("id"):
                _forget(db, USER_DATA, ("cursor",))
            _set(db, "user", json.dumps(dict(user)))
            _set(db, "access_token", access_token)
            _set(db, "refresh_token", refresh_token)

    def save_tokens(self, access_token: str, refresh_token: str) -> None:
        with self.transaction() as db:
            _set(db, "access_token", access_token)
            _set(db, "refresh_token", refresh_token)

    # -- server state ----------------------------------------------------------------------

    @property
    def cursor(self) -> str | None:
        """The cursor of the last complete pull (None before the first one)."""
        return self._setting("cursor")

    def server_record(self, entity: str, record_id: str) -> Record | None:
        """The record as the server last sent it, without the device's pending edits."""
        row = self.connection.execute(
            "SELECT data FROM records WHERE entity = ? AND id = ?", (entity, record_id)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def local_view(self, entity: str) -> list[Record]:
        """The records as the user sees them: the server's copies with the queued mutations
        applied on top, in the order they were made (a create adds a record, an update
        overlays its fields, a delete hides it). Server records come ordered by id."""
        records = self.connection.execute(
            "SELECT id, data FROM records WHERE entity = ? ORDER BY id", (entity,)
        )
        pending = self.connection.execute(
            "SELECT op, record_id, fields FROM mutations WHERE entity = ? ORDER BY position",
            (entity,),
        )
        return list(_overlay(records, pending).values())

    def local_record(self, entity: str, record_id: str) -> Record | None:
        """One record of :meth:`local_view`, or None if the user cannot see it."""
        records = self.connection.execute(
            "SELECT id, data FROM records WHERE entity = ? AND id = ?", (entity, record_id)
        )
        pending = self.connection.execute(
            "SELECT op, record_id, fields FROM mutations WHERE entity = ? AND record_id = ?"
            " ORDER BY position",
            (entity, record_id),
        )
        return _overlay(records, pending).get(record_id)

    # -- pulls -----------------------------------------------------------------------------

    def stage_page(self, changes: Mapping[str, Any]) -> None:
        """Keeps a page of a pull aside, on disk: the records stay as they are."""
        with self.transaction() as db:
            db.execute("INSERT INTO staged_pages (changes) VALUES (?)", (json.dumps(changes),))

    def apply_pull(self, last_changes: Mapping[str, Any], cursor: str) -> tuple[int, int]:
        """Applies the staged pages and the last page in page order, stores the new cursor and
        empties the stage, all in one transaction. Returns (records upserted, removed)."""
        upserted = removed = 0
        with self.transaction() as db:
            staged = db.execute("SELECT changes FROM staged_pages ORDER BY position")
            pages = itertools.chain((json.loads(text) for (text,) in staged), [last_changes])
            for changes in pages:  # one page in memory at a time
                page_upserts, page_removals = _apply(db, changes)
                upserted, removed = upserted + page_upserts, removed + page_removals
            _forget(db, ("staged_pages",), ())
            _set(db, "cursor", cursor)
        return upserted, removed

    def discard_staged_pages(self) -> None:
        """Drops the pages of a pull that never finished."""
        with self.transaction() as db:
            _forget(db, ("staged_pages",), ())

    # -- resets ----------------------------------------------------------------------------

    def forget_server_state(self) -> None:
        """For ``reset_required``: drops the records, the cursor and any staged pull; keeps the
        queue, the rejections, the identity and the tokens."""
        with self.transaction() as db:
            _forget(db, SERVER_STATE, ("cursor",))

    def wipe(self) -> None:
        """For a revoked device: drops everything but the device id (records, queue,
        rejections, cursor, tokens and user)."""
        with self.transaction() as db:
            _forget(db, USER_DATA, ())
            db.execute("DELETE FROM settings WHERE name != 'device_id'")

    def _setting(self, name: str) -> str | None:
        row = self.connection.execute("SELECT value FROM settings WHERE name = ?", (name,))
        found = row.fetchone()
        return None if found is None else found[0]


def _overlay(
    records: Iterable[tuple[str, str]], pending: Iterable[tuple[str, str, str]]
) -> dict[str, Record]:
    view = {record_id: json.loads(data) for record_id, data in records}
    for op, record_id, fields in pending:
        if op == "delete":
            view.pop(record_id, None)
        elif op == "create" or record_id in view:
            view[record_id] = {**view.get(record_id, {"id": record_id}), **json.loads(fields)}
    return view


def _set(db: sqlite3.Connection, name: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, value))


def _forget(db: sqlite3.Connection, tables: Iterable[str], settings: Iterable[str]) -> None:
    for table in tables:
        db.execute(f"DELETE FROM {table}")  # table names are the constants above
    db.executemany("DELETE FROM settings WHERE name = ?", [(name,) for name in settings])


def _apply(db: sqlite3.Connection, changes: Mapping[str, Any]) -> tuple[int, int]:
    upserted = removed = 0
    for entity, change in changes.items():
        db.executemany(
            "INSERT OR REPLACE INTO records (entity, id, revision, data) VALUES (?, ?, ?, ?)",
            [(entity, r["id"], r.get("revision"), json.dumps(r)) for r in change["upserts"]],
        )
        db.executemany(
            "DELETE FROM records WHERE entity = ? AND id = ?",
            [(entity, record_id) for record_id in change["removals"]],
        )
        upserted, removed = upserted + len(change["upserts"]), removed + len(change["removals"])
    return upserted, removed
