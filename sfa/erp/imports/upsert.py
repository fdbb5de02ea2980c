"""Diff-based bulk upsert by natural key: only rows whose values differ are written, so an
import of unchanged data performs no writes at all (and so produces no sync changes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from sfa.columns import new_id

CHUNK = 2000
Progress = Callable[[int], None]


@dataclass
class SectionCount:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: SectionCount) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


def upsert(
    session: Session,
    model: type,
    key: Sequence[str],
    desired: Sequence[dict[str, Any]],
    now: datetime,
    progress: Progress | None = None,
) -> tuple[SectionCount, dict[Any, str]]:
    """Make ``model``'s rows match ``desired`` (dicts of column values, including ``key``).

    Records devices edit (with ``revision``) get a new revision and field stamps for what
    changed. Returns the counts and, for models with an ``id`` key, a map from natural key to id
    covering every desired row. Rows in the table but not in ``desired`` are left alone.
    """
    count = SectionCount()
    if not desired:
        return count, {}
    has_id = "id" in model.__table__.c
    value_columns = [c for c in desired[0] if c not in key]
    primary = [c.name for c in model.__table__.primary_key]
    revisioned = "revision" in model.__table__.c
    tracking = ["revision", "field_stamps"] if revisioned else []
    selected = list(dict.fromkeys([*primary, *key, *value_columns, *tracking]))
    existing = {
        tuple(row[c] for c in key): row
        for row in session.execute(select(*(getattr(model, c) for c in selected))).mappings()
    }
    stamps = {c: now for c in ("created_at", "updated_at") if c in model.__table__.c}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    ids: dict[Any, str] = {}
    for row in desired:
        natural = tuple(row[c] for c in key)
        current = existing.get(natural)
        if current is None:
            fresh = {**stamps, **row}
            if has_id:
                fresh.setdefault("id", new_id())
                ids[_plain(natural)] = fresh["id"]
            inserts.append(fresh)
            continue
        if has_id:
            ids[_plain(natural)] = current["id"]
        changed = {c: row[c] for c in value_columns if current[c] != row[c]}
        if changed:
            if revisioned:
                changed.update(_back_office_edit(current, changed, now))
            if "updated_at" in stamps:
                changed["updated_at"] = now
            updates.append({**{c: current[c] for c in primary}, **changed})
        else:
            count.unchanged += 1
    for start in range(0, len(inserts), CHUNK):
        batch = inserts[start : start + CHUNK]
        session.execute(insert(model), batch)
        count.created += len(batch)
        if progress:
            progress(len(batch))
    for start in range(0, len(updates), CHUNK):
        batch = updates[start : start + CHUNK]
        session.execute(update(model), batch)
        count.updated += len(batch)
        if progress:
            progress(len(batch))
    if progress and count.unchanged:
        progress(count.unchanged)
    return count, ids


def _back_office_edit(current: Any, changed: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A new revision, with the changed fields stamped as a back-office edit made ``now``, so a
    device edit based on an older revision is seen as concurrent and its policy applies."""
    revision = current["revision"] + 1
    stamps = dict(current["field_stamps"] or {})
    edited_at = int(now.timestamp() * 1000)
    for column in changed:
        stamps[column] = {"r": revision, "t": edited_at, "u": None, "m": ""}
    return {"revision": revision, "field_stamps": stamps}


def _plain(natural: tuple) -> Any:
    return natural[0] if len(natural) == 1 else natural
