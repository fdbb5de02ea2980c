"""A WatermelonDB push: its changes, checked as a whole, applied as native mutations.

WatermelonDB's contract (``docs/Sync/Backend.md``) and how it is met:

- *Atomic, and refused whole on a conflict.* If any record the push edits or deletes changed
  on the server after ``last_pulled_at``, or was deleted there since, the push is refused with
  409 ``push_conflict`` and nothing is applied; the app pulls, merges, pushes again. The check
  runs inside the push's transaction with the records locked, so nothing can slip in between
  check and write. A pushed record identical to the server's is no edit and no conflict: a
  push replayed after a lost response, with the same ``last_pulled_at``, succeeds and changes
  nothing.
- *A created record that exists is an update* (a retry after a lost response), *an updated
  record the server does not know is created*, *deleting an unknown id is fine*.
- *Whole records in, edits out.* WatermelonDB sends every column of a changed record; the
  engine wants the fields that changed. With no server change since ``last_pulled_at``, the
  fields that differ from the server's record are exactly the device's edits, so only those
  become the update. A replayed push therefore changes nothing.
- *Sanitised, not failed.* On create, columns the device may not set (totals the server
  computes, ERP fields) are dropped. On update, such a column holding a value other than the
  server's is not applied and the record is sent back with the server's values on the next
  pull. A record the rep may not write at all (another rep's order, a product, an account out
  of scope), or with a value of the wrong type, is reported in ``experimentalRejectedIds``
  with the engine's reason, and the rest of the push applies.
- *Status moves last.* An order or forecast that arrives as ``submitted`` is created or edited
  as a draft first, with its lines, then submitted at the end of the push: the server prices
  and validates the complete order, and the submission goes through the ERP flow. A status
  the server has already moved past (the order was submitted by a push whose response was
  lost; the retry, made after a pull, still carries the device's ``submitted``) is stale, not
  refused: the record is sent back with the server's status.

Everything else (scope, ownership, permissions, field policies, validation, orders and the
ERP outbox) is the engine's own push.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.errors import Conflict, ValidationFailed
from sfa.orders.services import OrderSettings
from sfa.sync import cursor as tokens
from sfa.sync import push as engine
from sfa.sync.entities import ENTITIES, record_shaper
from sfa.sync.models import Tombstone
from sfa.sync.policy import ENTITY_RULES
from sfa.sync.watermelon import checkpoints
from sfa.sync.watermelon.records import SAFE_ID, BadValue, from_raw
from sfa.sync.watermelon.schema import BY_TABLE, WatermelonTable
from sfa.sync.window import ChangeWindow, current_bound

CREATED, UPDATED, DELETED = "created", "updated", "deleted"
_ORDER = {entity.name: n for n, entity in enumerate(ENTITIES)}  # parents before children


class PushConflict(Conflict):
    code = "push_conflict"


@dataclass(frozen=True)
class Pushed:
    table: WatermelonTable
    kind: str  # CREATED | UPDATED | DELETED
    record_id: str
    raw: dict[str, Any] | None = None


@dataclass
class Plan:
    """The native mutations a push becomes, and what it tells the device beside them."""

    mutations: list[dict[str, Any]]
    targets: list[tuple[str, str]]  # (table, record id) of each mutation
    rejected: dict[tuple[str, str], dict[str, Any]]
    stale: dict[str, set[str]]  # records to send back with the server's values
    checked: dict[str, set[str]]  # existing records the push touches: none may have changed


def parse(changes: Any, max_records: int) -> list[Pushed]:
    """The pushed records, in the order they apply; a malformed ``changes`` document is a 422
    listing every problem with its path (unknown tables, bad ids, wrong shapes)."""
    errors: list[dict[str, str]] = []
    found: list[Pushed] = []
    if not isinstance(changes, dict):
        raise ValidationFailed([{"path": "changes", "message": "an object of tables is expected"}])
    for name, lists in changes.items():
        table = BY_TABLE.get(name)
        if table is None:
            errors.append({"path": f"changes.{name}", "message": "unknown table"})
            continue
        if not isinstance(lists, dict):
            errors.append({"path": f"changes.{name}", "message": "an object is expected"})
            continue
        seen: set[str] = set()
        for kind, items in lists.items():
            path = f"changes.{name}.{kind}"
            if kind not in (CREATED, UPDATED, DELETED):
                errors.append({"path": path, "message": "expected created, updated or deleted"})
                continue
            if not isinstance(items, list):
                errors.append({"path": path, "message": "a list is expected"})
                continue
            for n, item in enumerate(items):
                raw = item if kind != DELETED else None
                record_id = (
                    item
                    if kind == DELETED
                    else (item.get("id") if isinstance(item, dict) else None)
                )
                where = f"{path}[{n}]"
                if kind != DELETED and not isinstance(item, dict):
                    errors.append({"path": where, "message": "a record object is expected"})
                elif not isinstance(record_id, str) or not SAFE_ID.fullmatch(record_id):
                    errors.append(
                        {"path": where, "message": "ids are 1 to 36 letters, digits, _ . -"}
                    )
                elif record_id in seen:
                    errors.append({"path": where, "message": f"{record_id} appears twice"})
                else:
                    seen.add(record_id)
                    found.append(Pushed(table, kind, record_id, raw))
    if errors:
        raise ValidationFailed(errors)
    if len(found) > max_records:
        raise ValidationFailed(
            [
                {
                    "path": "changes",
                    "message": f"at most {max_records} records per push; sync more often",
                }
            ]
        )
    # creations and edits parent first, then deletions child first
    found.sort(
        key=lambda p: (
            p.kind == DELETED,
            -_ORDER[p.table.name] if p.kind == DELETED else _ORDER[p.table.name],
        )
    )
    return found


def push(
    session: Session,
    principal: Principal,
    secret: str,
    *,
    last_pulled_at: int,
    changes: Any,
    today: date,
    now: datetime,
    max_records: int,
    orders: OrderSettings,
) -> dict[str, Any]:
    token = checkpoints.cursor_for(session, principal.device_id, last_pulled_at)
    pulled = tokens.decode(secret, "cursor", token)
    pushed = parse(changes, max_records)
    plan = _plan(session, pushed, principal.device_id, last_pulled_at)

    def precheck(locked: Session) -> None:
        window = ChangeWindow(pulled.backend, pulled.bound, current_bound(locked))
        changed = _changed_since(locked, window, plan.checked)
        if changed:
            raise PushConflict(
                "records changed on the server since last_pulled_at: pull, then push again",
                details={"records": {t: sorted(ids) for t, ids in sorted(changed.items())}},
            )
        # stale records are stamped again (by the triggers), so the next pull sends them back;
        # not those that changed since the device's pull: that pull sends them anyway
        pulled_again = _changed_since(locked, window, plan.stale)
        for name, ids in plan.stale.items():
            table = BY_TABLE[name].entity.table
            unchanged = sorted(ids - pulled_again.get(name, set()))
            if unchanged:
                locked.execute(
                    update(table).where(table.c.id.in_(unchanged)).values(revision=table.c.revision)
                )

    results = engine.push(
        session,
        principal,
        principal.device_id,
        plan.mutations,
        device_time=None,
        today=today,
        now=now,
        max_mutations=max(len(plan.mutations), 1),
        orders=orders,
        precheck=precheck,
    )
    rejected = dict(plan.rejected)
    for target, result in zip(plan.targets, results, strict=True):
        if result["status"] == "rejected" and target not in rejected:
            rejected[target] = {"code": result["code"], "reason": result["reason"]}
    by_table: dict[str, list[str]] = {}
    for name, record_id in rejected:
        by_table.setdefault(name, []).append(record_id)
    return {
        "experimentalRejectedIds": by_table,
        "rejected": [
            {"table": name, "id": record_id, **why}
            for (name, record_id), why in sorted(rejected.items())
        ],
        "applied": sum(1 for r in results if r["status"] == "applied"),
    }


def _plan(session: Session, pushed: list[Pushed], device_id: str, stamp: int) -> Plan:
    plan = Plan([], [], {}, {}, {})
    current = _current(session, pushed)
    deleted = _tombstoned(session, pushed, current)
    submit_later: list[tuple[Pushed, str]] = []
    for item in pushed:
        name, target = item.table.name, (item.table.name, item.record_id)
        rules = ENTITY_RULES.get(name)
        if rules is None:
            plan.rejected[target] = {
                "code": "operation_not_allowed",
                "reason": f"devices may not write {name}",
            }
            continue
        existing = current.get(target)
        if target in deleted:
            plan.checked.setdefault(name, set()).add(item.record_id)
        if item.kind == DELETED:
            if existing is not None:
                plan.checked.setdefault(name, set()).add(item.record_id)
                _add(plan, device_id, stamp, item, "delete", {})
            continue
        try:
            fields = from_raw(item.table, item.raw or {})
        except BadValue as bad:
            plan.rejected[target] = {"code": "invalid_fields", "reason": str(bad)}
            continue
        status = fields.pop("status", None) if rules.status_moves else None
        if existing is None:
            if target in deleted:
                plan.rejected[target] = {
                    "code": "record_deleted",
                    "reason": "the record was deleted on the server",
                }
                continue
            values = {
                field: value
                for field, value in fields.items()
                if value is not None and rules.writable(field, creating=True)
            }
            _add(plan, device_id, stamp, item, "create", values)
            if status not in (None, "draft"):
                submit_later.append((item, status))
            continue
        edits = {f: v for f, v in fields.items() if not _same(v, existing.get(f))}
        values = {f: v for f, v in edits.items() if rules.writable(f, creating=False)}
        if len(values) < len(edits):
            plan.stale.setdefault(name, set()).add(item.record_id)
        moves_on = status is not None and status != existing.get("status")
        if moves_on and existing.get("status") not in rules.status_moves:
            # the server has moved it on already (a push whose response was lost, retried
            # after a pull that kept the device's own status): the device's status is stale
            plan.stale.setdefault(name, set()).add(item.record_id)
            moves_on = False
        if values or moves_on:  # an edit: the record must not have changed since the pull
            plan.checked.setdefault(name, set()).add(item.record_id)
        if values:
            _add(plan, device_id, stamp, item, "update", values)
        if moves_on:
            submit_later.append((item, status))
    for item, status in submit_later:
        _add(plan, device_id, stamp, item, "update", {"status": status})
    return plan


def _add(plan: Plan, device_id: str, stamp: int, item: Pushed, op: str, fields: dict) -> None:
    entity = item.table.entity.name
    identity = json.dumps(
        [device_id, stamp, entity, item.record_id, op, fields], sort_keys=True, default=str
    )
    plan.mutations.append(
        {
            "id": hashlib.sha256(identity.encode()).hexdigest()[:40],
            "entity": entity,
            "op": op,
            "record_id": item.record_id,
            "fields": fields,
        }
    )
    plan.targets.append((item.table.name, item.record_id))


def _same(pushed: Any, stored: Any) -> bool:
    if isinstance(pushed, Decimal | int | float) and not isinstance(pushed, bool):
        if isinstance(stored, int | float | Decimal) and not isinstance(stored, bool):
            return Decimal(str(pushed)) == Decimal(str(stored))
        return False
    return pushed == stored


def _current(session: Session, pushed: list[Pushed]) -> dict[tuple[str, str], dict[str, Any]]:
    """The server's record (wire form) of every pushed id that exists."""
    ids: dict[str, set[str]] = {}
    for item in pushed:
        if item.table.name in ENTITY_RULES:
            ids.setdefault(item.table.name, set()).add(item.record_id)
    found = {}
    for name, wanted in ids.items():
        entity = BY_TABLE[name].entity
        table = entity.table
        shape = record_shaper(entity)
        columns = [table.c[column] for column in entity.record_columns()]
        rows = session.execute(select(*columns).where(table.c.id.in_(sorted(wanted))))
        for row in rows:
            record = shape(row)
            found[(name, record["id"])] = record
    return found


def _tombstoned(
    session: Session, pushed: list[Pushed], current: dict[tuple[str, str], Any]
) -> set[tuple[str, str]]:
    """Pushed (created or updated) records that do not exist because they were deleted."""
    missing = {
        (p.table.name, p.record_id)
        for p in pushed
        if p.kind != DELETED and (p.table.name, p.record_id) not in current
    }
    if not missing:
        return set()
    rows = session.execute(
        select(Tombstone.entity, Tombstone.record_id).where(
            Tombstone.record_id.in_(sorted({record_id for _, record_id in missing}))
        )
    )
    return {(entity, record_id) for entity, record_id in rows} & missing


def _changed_since(
    session: Session, window: ChangeWindow, checked: dict[str, set[str]]
) -> dict[str, set[str]]:
    """Of the records the push touches, those changed or deleted in ``window``."""
    changed: dict[str, set[str]] = {}
    for name, ids in checked.items():
        table = BY_TABLE[name].entity.table
        rows = session.scalars(
            select(table.c.id).where(
                table.c.id.in_(sorted(ids)), window.contains(table.c.sync_version)
            )
        )
        changed.setdefault(name, set()).update(rows)
        gone = session.scalars(
            select(Tombstone.record_id).where(
                Tombstone.entity == name,
                Tombstone.record_id.in_(sorted(ids)),
                window.contains(Tombstone.sync_version),
            )
        )
        changed[name].update(gone)
    return {name: ids for name, ids in changed.items() if ids}
