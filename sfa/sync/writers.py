"""Applying one mutation: the checks (permission, scope, ownership, state, field values) and the
write, with field-level merge. Raises :class:`Rejected` when nothing may be applied."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from sqlalchemy import delete, select

from sfa.errors import flatten_messages
from sfa.orders import services as order_services
from sfa.orders.models import OrderLine
from sfa.sync.entities import BY_NAME, wire_value
from sfa.sync.merge import Edit, Stamp, decide
from sfa.sync.models import Conflict
from sfa.sync.mutations import Mutation, PushContext, Rejected
from sfa.sync.policy import ENTITY_RULES, LATEST_WINS, EntityRules
from sfa.sync.reach import (
    check_reach,
    check_state,
    owner_of,
    ownership_on_create,
    territory_of,
)
from sfa.sync.schemas import FIELD_SCHEMAS


def apply(ctx: PushContext, mutation: Mutation) -> dict[str, Any]:
    rules = ENTITY_RULES.get(mutation.entity)
    if mutation.entity not in BY_NAME:
        raise Rejected("unknown_entity", f"there is no entity {mutation.entity!r}")
    if rules is None or mutation.op not in rules.operations:
        raise Rejected("operation_not_allowed", f"devices may not {mutation.op} {mutation.entity}")
    model = BY_NAME[mutation.entity].model
    if mutation.op == "create":
        return _create(ctx, rules, model, mutation)
    # the fast path locked every target up front; the isolated path locks here
    record = ctx.session.get(model, mutation.record_id, with_for_update=ctx.isolated or None)
    if record is None:
        raise Rejected("not_found", f"no {mutation.entity} record {mutation.record_id}")
    check_reach(ctx, mutation.entity, record)
    if rules.owner_only and owner_of(ctx, mutation.entity, record) != ctx.principal.user_id:
        raise Rejected("operation_not_allowed", "only its author may change this record")
    check_state(ctx, rules, mutation.entity, record)
    if mutation.op == "delete":
        _delete(ctx, mutation.entity, record)
        return {"status": "applied", "record_id": mutation.record_id}
    return _update(ctx, rules, record, mutation)


def _values(rules: EntityRules, mutation: Mutation, creating: bool) -> dict[str, Any]:
    refused = sorted(n for n in mutation.fields if not rules.writable(n, creating))
    if refused:
        raise Rejected(
            "field_not_writable", "these fields are not writable by devices", {"fields": refused}
        )
    schema = FIELD_SCHEMAS[mutation.entity]
    try:
        values = schema.load(mutation.fields, partial=not creating)
    except ValidationError as exc:
        raise Rejected(
            "invalid_fields",
            "some field values are not valid",
            {"errors": flatten_messages(exc.messages, "fields")},
        ) from None
    missing = [n for n in rules.required_on_create if creating and values.get(n) is None]
    if missing:
        raise Rejected(
            "invalid_fields",
            "required fields are missing",
            {"errors": [{"path": f"fields.{n}", "message": "required"} for n in missing]},
        )
    return values


def _edit_time(ctx: PushContext, mutation: Mutation) -> int:
    edited = mutation.edited_at or ctx.now
    return int(edited.timestamp() * 1000) + ctx.skew_ms


def _stamp(ctx: PushContext, mutation: Mutation, revision: int, edit_time: int) -> dict:
    return Stamp(revision, edit_time, mutation.id, ctx.principal.user_id, ctx.device_id).write()


def _create(ctx: PushContext, rules: EntityRules, model: type, mutation: Mutation) -> dict:
    if ctx.session.get(model, mutation.record_id) is not None:
        raise Rejected("already_exists", "a record with this id exists")
    values = _values(rules, mutation, creating=True)
    extra = ownership_on_create(ctx, mutation.entity, values)
    status = values.get("status")
    if status is not None and status != "draft" and rules.status_moves:
        # a record moves on (an order is submitted) by an update, once it is complete
        raise Rejected("invalid_state", f"a new record starts as 'draft', not {status!r}")
    stamp = _stamp(ctx, mutation, 1, _edit_time(ctx, mutation))
    record = model(
        id=mutation.record_id,
        **values,
        **extra,
        revision=1,
        field_stamps={name: stamp for name in values},
    )
    ctx.session.add(record)
    _flush_if_isolated(ctx)
    return {"status": "applied", "record_id": mutation.record_id, "revision": 1}


def _update(ctx: PushContext, rules: EntityRules, record: Any, mutation: Mutation) -> dict:
    values = _values(rules, mutation, creating=False)
    if "status" in values and values["status"] not in rules.status_moves.get(
        record.status, frozenset({record.status})
    ):
        raise Rejected(
            "invalid_state", f"cannot move from {record.status!r} to {values['status']!r}"
        )
    submitting = (
        mutation.entity == "orders"
        and record.status == "draft"
        and values.get("status") == "submitted"
    )
    if submitting:  # refused before anything changes, like every other refusal
        try:
            order_services.check_submittable(ctx.session, record.id)
        except order_services.OrderMalformed as exc:
            raise Rejected(exc.code, exc.message) from None
    base = mutation.base_revision if mutation.base_revision is not None else record.revision
    edit_time = _edit_time(ctx, mutation)
    revision = record.revision + 1
    stamps = dict(record.field_stamps or {})
    applied, conflicts = {}, []
    for name, value in values.items():
        stamp = Stamp.read(stamps, name)
        current = getattr(record, name)
        edit = Edit(value, edit_time, mutation.id, ctx.principal.user_id, ctx.device_id)
        decision = decide(rules.fields[name].policy, base, stamp, current, edit)
        if decision.conflict:
            conflicts.append(
                _conflict(ctx, mutation, record, name, decision, current, value, stamp)
            )
            if decision.winner == "client":
                _restate_kept_value(ctx, mutation.entity, record.id, name, current, value)
        if decision.apply and (current != value or rules.fields[name].policy == LATEST_WINS):
            applied[name] = value
            stamps[name] = _stamp(ctx, mutation, revision, edit_time)
    if applied:
        for name, value in applied.items():
            setattr(record, name, value)
        record.revision, record.field_stamps = revision, stamps
        _flush_if_isolated(ctx)
    if submitting and record.status == "submitted":
        order_services.submit(ctx.session, record, ctx.orders, ctx.now, ctx.principal.user_id)
        _flush_if_isolated(ctx)
    result = {
        "status": "merged" if conflicts else "applied",
        "record_id": record.id,
        "revision": record.revision,
    }
    if conflicts:
        result["conflicts"] = conflicts
    return result


def _conflict(ctx, mutation, record, name, decision, current, value, stamp) -> dict:  # noqa: ANN001
    kept, overruled = (value, current) if decision.winner == "client" else (current, value)
    loser = ctx.principal.user_id if decision.winner == "server" else stamp.user_id
    ctx.conflicts.append(
        {
            "user_id": loser,
            "territory_id": territory_of(ctx, mutation.entity, record),
            "entity": mutation.entity,
            "record_id": record.id,
            "field": name,
            "policy": ENTITY_RULES[mutation.entity].fields[name].policy,
            "winner": decision.winner,
            "kept_value": wire_value(kept),
            "overruled_value": wire_value(overruled),
            "mutation_id": mutation.id,
            "device_id": ctx.device_id,
            "status": "open" if decision.open_for_review else "resolved",
        }
    )
    return {
        "field": name,
        "policy": ctx.conflicts[-1]["policy"],
        "winner": decision.winner,
        "server_value": wire_value(current),
        "client_value": wire_value(value),
    }


def _restate_kept_value(
    ctx: PushContext, entity: str, record_id: str, name: str, replaced: Any, value: Any
) -> None:
    """The value that had beaten earlier edits is itself overruled: their conflicts now name
    the value that stands, so a set of concurrent edits leaves the same log in any order."""
    old, new = wire_value(replaced), wire_value(value)
    for pending in ctx.conflicts[:-1]:
        same_field = (pending["entity"], pending["record_id"], pending["field"])
        if same_field == (entity, record_id, name) and pending["kept_value"] == old:
            pending["kept_value"] = new
    stored = ctx.session.scalars(
        select(Conflict).where(
            Conflict.entity == entity, Conflict.record_id == record_id, Conflict.field == name
        )
    )
    for conflict in stored:
        if conflict.kept_value == old:
            conflict.kept_value = new


def _delete(ctx: PushContext, entity: str, record: Any) -> None:
    if entity == "orders":  # lines first, so each leaves its own tombstone
        ctx.session.execute(delete(OrderLine).where(OrderLine.order_id == record.id))
    ctx.session.delete(record)
    _flush_if_isolated(ctx)


def _flush_if_isolated(ctx: PushContext) -> None:
    if ctx.isolated:  # surface a database refusal inside this mutation's savepoint
        ctx.session.flush()


def conflict_rows(ctx: PushContext) -> list[Conflict]:
    return [Conflict(**row) for row in ctx.conflicts]
