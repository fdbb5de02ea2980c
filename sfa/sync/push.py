"""Push: a batch of mutations from one device, applied in one transaction, each on its own.

Exactly once: every mutation's result is stored with the changes it made, in the same
transaction; a replay (lost response, retry, duplicate) returns the stored result and changes
nothing. Partial rejection: each mutation runs in a savepoint, so one that is refused is rolled
back alone and gets its own result, and the ones after it still apply.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from sfa.accounts.models import Account
from sfa.auth.principal import Principal
from sfa.db import is_retryable
from sfa.errors import DomainError, flatten_messages
from sfa.sync.models import AppliedMutation, DeviceSyncStatus
from sfa.sync.schemas import MutationSchema
from sfa.sync.scope import territories_in_scope
from sfa.sync.writers import Mutation, PushContext, Rejected, apply, conflict_rows


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
) -> list[dict[str, Any]]:
    if len(mutations) > max_mutations:
        raise TooManyMutations(
            f"at most {max_mutations} mutations per push; split it",
            details={"max_mutations": max_mutations},
        )
    skew_ms = int((now - device_time).total_seconds() * 1000) if device_time else 0
    scope = set(territories_in_scope(session, principal, today))
    ctx = PushContext(session, principal, device_id, scope, skew_ms, now)
    stored = _stored_results(session, device_id, mutations)
    results = [_one(ctx, raw, stored) for raw in mutations]
    session.add_all(conflict_rows(ctx))
    status = session.get(DeviceSyncStatus, device_id) or DeviceSyncStatus(device_id=device_id)
    status.last_push_at = now
    session.add(status)
    session.commit()
    return results


def _stored_results(
    session: Session, device_id: str, mutations: list[Any]
) -> dict[str, AppliedMutation]:
    ids = [m["id"] for m in mutations if isinstance(m, dict) and isinstance(m.get("id"), str)]
    if not ids:
        return {}
    rows = session.scalars(
        select(AppliedMutation).where(
            AppliedMutation.device_id == device_id, AppliedMutation.mutation_id.in_(ids)
        )
    )
    return {row.mutation_id: row for row in rows}


def _digest(raw: Any) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _one(ctx: PushContext, raw: Any, stored: dict[str, AppliedMutation]) -> dict[str, Any]:
    try:
        loaded = MutationSchema().load(raw)
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
    row = AppliedMutation(
        device_id=ctx.device_id, mutation_id=loaded["id"], payload_hash=digest, result=result
    )
    ctx.session.add(row)
    stored[loaded["id"]] = row
    return result


def _apply(ctx: PushContext, mutation: Mutation) -> dict[str, Any]:
    logged = len(ctx.conflicts)
    try:
        with ctx.session.begin_nested():
            return apply(ctx, mutation)
    except Rejected as refusal:
        del ctx.conflicts[logged:]
        if refusal.code == "out_of_scope":
            _log_out_of_scope(ctx, mutation, refusal)
        return _rejection_body(mutation.record_id, refusal)
    except DBAPIError as exc:
        if is_retryable(exc):
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
