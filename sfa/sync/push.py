"""Push: a batch of mutations from one device, applied in one transaction, each on its own.

Exactly once: every mutation's result is stored with the changes it made, in the same
transaction; a replay (lost response, retry, duplicate) returns the stored result and changes
nothing. Partial rejection: each mutation runs in a savepoint, so one that is refused is rolled
back alone and gets its own result, and the ones after it still apply.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, NamedTuple

from marshmallow import ValidationError
from sqlalchemy import ARRAY, String, any_, bindparam, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from sfa.accounts.models import Account
from sfa.auth.principal import Principal
from sfa.db import is_retryable
from sfa.errors import DomainError, flatten_messages
from sfa.orders.services import OrderSettings
from sfa.sync.entities import BY_NAME
from sfa.sync.models import AppliedMutation, DeviceSyncStatus
from sfa.sync.mutations import Mutation, PushContext, Rejected
from sfa.sync.policy import ENTITY_RULES
from sfa.sync.schemas import MUTATION_SCHEMA
from sfa.sync.scope import territories_in_scope
from sfa.sync.writers import apply, conflict_rows


class TooManyMutations(DomainError):
    status = 422
    code = "too_many_mutations"


def push(
    session: Session,
    principal: Principal,
    device_id: str,
    mutations: list[Any],
    *,
    device_time: datetime | None,
    today: date,
    now: datetime,
    max_mutations: int,
    orders: OrderSettings | None = None,
    precheck: Callable[[Session], None] | None = None,
) -> list[dict[str, Any]]:
    """Apply ``mutations``; one result each. ``precheck`` runs in the push's transaction once
    the records it updates or deletes are locked, before anything is written; it may raise a
    :class:`DomainError` to refuse the whole push (the WatermelonDB endpoint's conflict check).
    """
    if len(mutations) > max_mutations:
        raise TooManyMutations(
            f"at most {max_mutations} mutations per push; split it",
            details={"max_mutations": max_mutations},
        )
    skew_ms = int((now - device_time).total_seconds() * 1000) if device_time else 0
    settings = orders or OrderSettings()
    scope = set(territories_in_scope(session, principal, today))
    try:  # fast path: every target locked at once, one flush at the end
        ctx = PushContext(session, principal, device_id, scope, skew_ms, now, orders=settings)
        stored = _stored_results(session, device_id, mutations)
        held = _lock_targets(session, mutations)  # noqa: F841  (the session only holds weakly)
        if precheck is not None:
            precheck(session)
        results = [_one(ctx, raw, stored) for raw in mutations]
        session.flush()
    except DBAPIError as exc:
        if is_retryable(exc):
            raise
        # the database refused a value: redo with each mutation in its own savepoint, so the
        # one it refuses is rejected alone
        session.rollback()
        ctx = PushContext(
            session, principal, device_id, scope, skew_ms, now, isolated=True, orders=settings
        )
        stored = _stored_results(session, device_id, mutations)
        if precheck is not None:
            held = _lock_targets(session, mutations)  # noqa: F841
            precheck(session)
        results = [_one(ctx, raw, stored) for raw in mutations]
    new = [
        {
            "device_id": device_id,
            "mutation_id": mutation_id,
            "payload_hash": outcome.payload_hash,
            "result": outcome.result,
            "created_at": now,
        }
        for mutation_id, outcome in stored.items()
        if outcome.new
    ]
    if new:
        session.execute(insert(AppliedMutation), new)
    session.add_all(conflict_rows(ctx))
    status = session.get(DeviceSyncStatus, device_id) or DeviceSyncStatus(device_id=device_id)
    status.last_push_at = now
    session.add(status)
    session.commit()
    return results


class Outcome(NamedTuple):
    """A mutation's stored result (``new``: recorded by this push, not stored yet)."""

    payload_hash: str
    result: dict[str, Any]
    new: bool = False


def _stored_results(session: Session, device_id: str, mutations: list[Any]) -> dict[str, Outcome]:
    ids = [m["id"] for m in mutations if isinstance(m, dict) and isinstance(m.get("id"), str)]
    if not ids:
        return {}
    if session.get_bind().dialect.name == "postgresql":  # one array parameter: one plan
        among = AppliedMutation.mutation_id == any_(bindparam("ids", ids, type_=ARRAY(String)))
    else:
        among = AppliedMutation.mutation_id.in_(ids)
    rows = session.execute(
        select(
            AppliedMutation.mutation_id, AppliedMutation.payload_hash, AppliedMutation.result
        ).where(AppliedMutation.device_id == device_id, among)
    )
    return {mutation_id: Outcome(digest, result) for mutation_id, digest, result in rows}


def _lock_targets(session: Session, mutations: list[Any]) -> list[Any]:
    """Lock every record the push updates or deletes, in id order (so concurrent pushes never
    deadlock), and load the accounts it refers to, in a few queries instead of one per mutation.
    Returns the loaded records: the caller keeps them alive while it works (the session's
    identity map holds them only weakly)."""
    targets: dict[str, set[str]] = {}
    accounts: set[str] = set()
    for raw in mutations:
        if not isinstance(raw, dict) or not isinstance(raw.get("record_id"), str):
            continue
        entity, op = raw.get("entity"), raw.get("op")
        values = raw.get("fields") if isinstance(raw.get("fields"), dict) else {}
        if isinstance(values.get("account_id"), str):
            accounts.add(values["account_id"])
        if entity in ENTITY_RULES and op in ("update", "delete"):
            targets.setdefault(entity, set()).add(raw["record_id"])
    loaded: list[Any] = []
    for entity, ids in sorted(targets.items()):
        model = BY_NAME[entity].model
        locked = session.scalars(
            select(model).where(model.id.in_(sorted(ids))).order_by(model.id).with_for_update()
        ).all()
        loaded += locked
        accounts |= {getattr(r, "account_id", None) or r.id for r in locked}
    accounts -= {r.id for r in loaded if isinstance(r, Account)}
    if accounts:
        loaded += session.scalars(select(Account).where(Account.id.in_(sorted(accounts)))).all()
    return loaded


def _digest(raw: Any) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _one(ctx: PushContext, raw: Any, stored: dict[str, Outcome]) -> dict[str, Any]:
    try:
        loaded = MUTATION_SCHEMA.load(raw)
    except ValidationError as exc:
        given = raw.get("id") if isinstance(raw, dict) else None
        return {
            "id": given if isinstance(given, str) else None,
            "status": "rejected",
            "code": "invalid_mutation",
            "reason": "this mutation is malformed",
            "details": {"errors": flatten_messages(exc.messages)},
        }
    digest = _digest(raw)
    prior = stored.get(loaded["id"])
    if prior is not None:
        if prior.payload_hash != digest:
            return _rejection(
                loaded,
                Rejected(
                    "mutation_id_reused", "this mutation id was used for a different mutation"
                ),
            )
        return {"id": loaded["id"], "status": "duplicate", "original": prior.result}
    loaded["fields"] = loaded.pop("values")
    result = {"id": loaded["id"], **_apply(ctx, Mutation(**loaded))}
    stored[loaded["id"]] = Outcome(digest, result, new=True)
    return result


def _apply(ctx: PushContext, mutation: Mutation) -> dict[str, Any]:
    logged = len(ctx.conflicts)
    try:
        if not ctx.isolated:  # every refusal is decided before anything is modified
            return apply(ctx, mutation)
        with ctx.session.begin_nested():
            return apply(ctx, mutation)
    except Rejected as refusal:
        del ctx.conflicts[logged:]
        if refusal.code == "out_of_scope":
            _log_out_of_scope(ctx, mutation, refusal)
        return _rejection_body(mutation.record_id, refusal)
    except DBAPIError as exc:
        if is_retryable(exc) or not ctx.isolated:
            raise
        del ctx.conflicts[logged:]
        return _rejection_body(
            mutation.record_id,
            Rejected("invalid_fields", "the database refused these values"),
        )


def _rejection(loaded: dict, refusal: Rejected) -> dict[str, Any]:
    return {"id": loaded["id"], **_rejection_body(loaded["record_id"], refusal)}


def _rejection_body(record_id: str, refusal: Rejected) -> dict[str, Any]:
    body = {
        "status": "rejected",
        "record_id": record_id,
        "code": refusal.code,
        "reason": refusal.reason,
    }
    if refusal.details:
        body["details"] = refusal.details
    return body


def _log_out_of_scope(ctx: PushContext, mutation: Mutation, refusal: Rejected) -> None:
    """An edit to a record that left the rep's territories is refused, and the rep sees it
    among their conflicts (so the work is not silently lost)."""
    account_id = refusal.details.get("account_id")
    account = ctx.session.get(Account, account_id) if account_id else None
    ctx.conflicts.append(
        {
            "user_id": ctx.principal.user_id,
            "territory_id": account.territory_id if account else None,
            "entity": mutation.entity,
            "record_id": mutation.record_id,
            "field": None,
            "policy": "out_of_scope",
            "winner": "server",
            "kept_value": None,
            "overruled_value": json.loads(json.dumps(mutation.fields, default=str)),
            "mutation_id": mutation.id,
            "device_id": ctx.device_id,
            "status": "resolved",
        }
    )
