"""The ERP's side of the API: the pull feed of order events, their acknowledgement, the
inbound acknowledgements of orders, and the dead letters."""

from __future__ import annotations

import time

import orjson
from flask import Blueprint, Response, current_app, request
from marshmallow import Schema, fields, validate
from sqlalchemy import select, update

from sfa.columns import utcnow
from sfa.db import db
from sfa.erp import dispatcher as dispatching
from sfa.erp import inbound
from sfa.erp.adapters.webhook import check_signature
from sfa.erp.models import OutboxEvent
from sfa.errors import BadRequest, Conflict, NotFound
from sfa.http.endpoints import endpoint, load
from sfa.orders.services import ACK_TYPES
from sfa.wire_fields import AmountField, StrictInteger, Text

bp = Blueprint("erp", __name__, url_prefix="/api/v1/erp")
ERP = {"erp", "admin"}


class EventsQuerySchema(Schema):
    after = Text(load_default=None, validate=validate.Length(max=64))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AckEventsSchema(Schema):
    event_ids = fields.List(
        Text(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=1000),
    )


@endpoint(
    bp,
    "/events",
    roles=ERP,
    summary="Order events not yet acknowledged, oldest first (the pull feed)",
    query=EventsQuerySchema(),
)
def events(query: dict):
    """``after`` pages within one poll. Event ids are taken before commit, so an event may
    commit behind a cursor already handed out; it is not lost, because an event stays until
    acknowledged and every poll starts from the oldest (docs/erp-feed.md). Only the first
    unacknowledged event of each order is offered, so an order's events come in sequence."""
    wanted = select(OutboxEvent.id, OutboxEvent.body).where(
        OutboxEvent.status == "pending", dispatching.first_undelivered_of_its_order()
    )
    if query["after"]:
        wanted = wanted.where(OutboxEvent.id > query["after"])
    rows = db.session.execute(wanted.order_by(OutboxEvent.id).limit(query["limit"] + 1)).all()
    more = len(rows) > query["limit"]
    rows = rows[: query["limit"]]
    body = {
        "events": [orjson.Fragment(row.body) for row in rows],
        "cursor": rows[-1].id if rows else query["after"],
        "has_more": more,
    }
    return Response(orjson.dumps(body), content_type="application/json")


@endpoint(
    bp,
    "/events/ack",
    method="POST",
    roles=ERP,
    summary="Acknowledge pulled events: they will not be offered again",
    body=AckEventsSchema(),
)
def ack_events(body: dict):
    ids = sorted(set(body["event_ids"]))
    result = db.session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(ids), OutboxEvent.status == "pending")
        .values(status="delivered", delivered_at=utcnow(), locked_until=None)
    )
    db.session.commit()
    return {"acknowledged": result.rowcount, "event_ids": ids}


class AckLineSchema(Schema):
    line_id = Text(required=True, validate=validate.Length(min=1, max=36))
    status = fields.String(
        validate=validate.OneOf(
            ("accepted", "backordered", "quantity_changed", "price_changed", "rejected")
        )
    )
    confirmed_quantity = StrictInteger(validate=validate.Range(min=0, max=10**9))
    backordered_quantity = StrictInteger(validate=validate.Range(min=0, max=10**9))
    unit_price = AmountField(validate=validate.Range(min=0))
    shipped_quantity = StrictInteger(validate=validate.Range(min=0, max=10**9))
    invoiced_quantity = StrictInteger(validate=validate.Range(min=0, max=10**9))


class InboundAckSchema(Schema):
    delivery_id = Text(required=True, validate=validate.Length(min=1, max=100))
    type = fields.String(required=True, validate=validate.OneOf(ACK_TYPES))
    order_id = Text(required=True, validate=validate.Length(min=1, max=36))
    occurred_at = fields.AwareDateTime(format="iso", required=True)
    erp_reference = Text(load_default=None, allow_none=True, validate=validate.Length(max=64))
    reason = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    lines = fields.List(
        fields.Nested(AckLineSchema), load_default=list, validate=validate.Length(max=1000)
    )
    shipment_id = Text(load_default=None, allow_none=True, validate=validate.Length(max=100))
    invoice_id = Text(load_default=None, allow_none=True, validate=validate.Length(max=100))


@endpoint(
    bp,
    "/acks",
    method="POST",
    roles=ERP,
    summary="The ERP's answer about an order (signed; idempotent by delivery_id)",
    raw_body=True,
)
def acks(body: object):
    _check_signature(request.get_data(cache=True))
    ack = load(InboundAckSchema(), body)
    return inbound.receive(db.session, ack, request.get_data(cache=True), utcnow())


def _check_signature(raw: bytes) -> None:
    config = current_app.config
    secret = config["ERP_INBOUND_SECRET"] or config["ERP_WEBHOOK_SECRET"]
    if not secret:
        raise BadRequest(
            "acknowledgements are refused until SFA_ERP_INBOUND_SECRET is set",
            code="signing_not_configured",
        )
    header = request.headers.get("X-SFA-Signature", "")
    problem = check_signature(
        secret, header, raw, time.time(), config["ERP_SIGNATURE_TOLERANCE_SECONDS"]
    )
    if problem == "stale_signature":
        raise BadRequest(
            "the signature is older than the tolerance; sign again and resend",
            code=problem,
            details={"tolerance_seconds": config["ERP_SIGNATURE_TOLERANCE_SECONDS"]},
        )
    if problem:
        raise BadRequest("the X-SFA-Signature header does not sign this body", code=problem)


class DeadLetterSchema(Schema):
    id = fields.String(dump_only=True)
    order_id = fields.String(dump_only=True)
    type = fields.String(dump_only=True)
    attempts = fields.Integer(dump_only=True)
    last_error = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class DeadLettersSchema(Schema):
    items = fields.List(fields.Nested(DeadLetterSchema), dump_only=True)


@endpoint(
    bp,
    "/dead-letters",
    roles={"admin"},
    summary="Order events the ERP would not take after every attempt",
    response=DeadLettersSchema(),
)
def dead_letters():
    return {"items": dispatching.dead_letters(db.session, limit=500)}


@endpoint(
    bp,
    "/dead-letters/<event_id>/replay",
    method="POST",
    roles={"admin"},
    summary="Send a dead-lettered event again (its attempts start over)",
    response=DeadLetterSchema(),
    body_required=False,
)
def replay(event_id: str):
    try:
        event = dispatching.replay(db.session, event_id, utcnow())
    except dispatching.NotDeadLetter as refused:
        raise Conflict(
            f"the event is {refused.status}, not dead-lettered: there is nothing to replay",
            code="not_dead_letter",
            details={"event_id": event_id, "status": refused.status},
        ) from None
    if event is None:
        raise NotFound("no event with this id", details={"event_id": event_id})
    db.session.commit()
    return event
