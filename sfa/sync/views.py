from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, current_app, g, request

from sfa.auth.tokens import digest
from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.errors import BadRequest
from sfa.http.access import current_principal
from sfa.http.endpoints import endpoint
from sfa.orders.services import OrderSettings
from sfa.sync import cursor as tokens
from sfa.sync import pull as pulling
from sfa.sync import push as pushing
from sfa.sync.entities import wire_value
from sfa.sync.idle import IdleProbe
from sfa.sync.protocol import SUPPORTED, check_protocol_version, sync_response
from sfa.sync.schemas import MAX_PAGE, PullQuerySchema, PullResponseSchema, PushSchema
from sfa.sync.scope import record_pull
from sfa.sync.window import is_well_formed

bp = Blueprint("sync", __name__, url_prefix="/api/v1/sync")
DEVICE_ROLES = frozenset({"rep", "manager", "admin"})


def order_settings() -> OrderSettings:
    config = current_app.config
    return OrderSettings(
        min_order_value=Decimal(config["ORDER_MIN_VALUE"]), timezone=config["TIMEZONE"]
    )


def pull_settings() -> pulling.PullSettings:
    config = current_app.config
    return pulling.PullSettings(
        secret=config["SECRET_KEY"],
        horizon_seconds=config["SYNC_HORIZON_DAYS"] * 86400,
        order_history_days=config["SYNC_ORDER_HISTORY_DAYS"] or None,
    )


def idle_pull(roles: frozenset[str]) -> Response | None:
    """The fast lane of ``/pull``: answer a device whose cursor is current with one statement
    (:mod:`sfa.sync.idle`). Anything unusual, including every error, is left to :func:`pull`."""
    args, config = request.args, current_app.config
    if not config["SYNC_IDLE_FAST_LANE"] or not set(args) <= {"cursor", "limit"}:
        return None
    limit = args.get("limit", "1")
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE:
        return None
    if request.headers.get("X-SFA-Protocol", "1").strip() not in _SUPPORTED_TEXT:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    raw_cursor = args.get("cursor", "")
    if scheme.lower() != "bearer" or not token or not raw_cursor or len(raw_cursor) > 4096:
        return None
    settings, now = pull_settings(), utcnow()
    try:
        cursor = tokens.decode(settings.secret, "cursor", raw_cursor)
    except BadRequest:
        return None
    probe = _idle_probe()
    if (
        cursor.backend != probe.backend
        or not is_well_formed(probe.backend, cursor.bound)
        or cursor.issued_at < now.timestamp() - settings.horizon_seconds
    ):
        return None
    idle = probe.check(digest(token), cursor, today=today(), now=now)
    if idle is None or idle.principal.role not in roles:
        return None
    g.principal = idle.principal
    record_pull(db.session, idle.principal.device_id, now)
    issued = tokens.Cursor(probe.backend, idle.upper, cursor.scope, int(now.timestamp()))
    return sync_response(
        {
            "protocol": int(request.headers.get("X-SFA-Protocol", "1")),
            "changes": {},
            "has_more": False,
            "continuation": None,
            "cursor": tokens.encode(settings.secret, "cursor", issued),
            "server_time": wire_value(now),
        }
    )


_SUPPORTED_TEXT = frozenset(str(version) for version in SUPPORTED)


def _idle_probe() -> IdleProbe:
    probe = current_app.extensions.get("sfa.idle_probe")
    if probe is None or probe.engine is not db.engine:
        probe = current_app.extensions["sfa.idle_probe"] = IdleProbe(db.engine)
    return probe


@endpoint(
    bp,
    "/pull",
    roles=DEVICE_ROLES,
    summary="Changes in the caller's scope since a cursor, one page at a time (protocol 1)",
    query=PullQuerySchema(),
    response=PullResponseSchema(),
    snapshot=True,
    fast_lane=idle_pull,
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
        orders=order_settings(),
    )
    return sync_response({"protocol": protocol, "results": results})
