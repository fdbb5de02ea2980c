"""The ERP's acknowledgements, applied once each (by delivery id)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.erp.models import InboundDelivery
from sfa.errors import Conflict
from sfa.orders import services as orders


def receive(session: Session, ack: dict[str, Any], raw: bytes, now: datetime) -> dict[str, Any]:
    """Apply ``ack`` unless its delivery id was seen: then answer as the first time did (a
    different body under a seen delivery id is refused). Commits."""
    digest = hashlib.sha256(raw).hexdigest()
    seen = session.get(InboundDelivery, ack["delivery_id"])
    if seen is not None:
        return _replayed(seen, digest)
    result = orders.acknowledge(session, ack, now)
    session.add(
        InboundDelivery(
            delivery_id=ack["delivery_id"],
            order_id=ack["order_id"],
            type=ack["type"],
            payload_hash=digest,
            result=result,
            received_at=now,
        )
    )
    try:
        session.commit()
    except IntegrityError:  # the same delivery, sent twice at once: the other one applied it
        session.rollback()
        seen = session.get(InboundDelivery, ack["delivery_id"])
        if seen is None:
            raise
        return _replayed(seen, digest)
    return {**result, "duplicate": False}


def _replayed(seen: InboundDelivery, digest: str) -> dict[str, Any]:
    if seen.payload_hash != digest:
        raise Conflict(
            "this delivery id was used for a different acknowledgement",
            code="delivery_id_reused",
            details={"delivery_id": seen.delivery_id},
        )
    return {**seen.result, "duplicate": True}


def canonical(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
