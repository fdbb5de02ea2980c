from __future__ import annotations

from flask import Blueprint, current_app

from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.http.access import current_principal
from sfa.http.endpoints import endpoint
from sfa.sync import pull as pulling
from sfa.sync import push as pushing
from sfa.sync.entities import wire_value
from sfa.sync.protocol import check_protocol_version, sync_response
from sfa.sync.schemas import PullQuerySchema, PullResponseSchema, PushSchema

bp = Blueprint("sync", __name__, url_prefix="/api/v1/sync")
DEVICE_ROLES = frozenset({"rep", "manager", "admin"})


def pull_settings() -> pulling.PullSettings:
    config = current_app.config
    return pulling.PullSettings(
        secret=config["SECRET_KEY"], horizon_seconds=config["SYNC_HORIZON_DAYS"] * 86400
    )


@endpoint(
    bp,
    "/pull",
    roles=DEVICE_ROLES,
    summary="Changes in the caller's scope since a cursor, one page at a time (protocol 1)",
    query=PullQuerySchema(),
    response=PullResponseSchema(),
    snapshot=True,
)
def pull(query: dict):
    protocol = check_protocol_version()
    now = utcnow()
    page = pulling.pull(
        db.session,
        current_principal(),
        pull_settings(),
        cursor=query["cursor"],
        continuation=query["continuation"],
        limit=query["limit"],
        today=today(),
        now=now,
    )
    return sync_response(
        {
            "protocol": protocol,
            "changes": page.changes,
            "has_more": page.has_more,
            "continuation": page.continuation,
            "cursor": page.cursor,
            "server_time": wire_value(now),
        }
    )


@endpoint(
    bp,
    "/push",
    method="POST",
    roles=DEVICE_ROLES,
    summary="Apply a batch of offline mutations; one result per mutation (protocol 1)",
    body=PushSchema(),
    max_body="SYNC_MAX_BODY_BYTES",
)
def push(body: dict):
    protocol = check_protocol_version()
    principal = current_principal()
    results = pushing.push(
        db.session,
        principal,
        principal.device_id,
        body["mutations"],
        device_time=body["device_time"],
        today=today(),
        now=utcnow(),
        max_mutations=current_app.config["SYNC_MAX_MUTATIONS"],
    )
    return sync_response({"protocol": protocol, "results": results})
