"""Writing order events to the transactional outbox: in the caller's transaction, so an order
change and the event that reports it commit together or not at all."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sfa.columns import new_id
from sfa.erp.events import order_event
from sfa.erp.models import OutboxEvent
from sfa.orders.models import Order
from sfa.wire import wire_number


def enqueue(session: Session, order: Order, event_type: str, now: datetime) -> OutboxEvent:
    """Add the event after the order's earlier ones (``seq``); does not commit."""
    session.flush()  # the order's lines and totals as the event must show them
    last = session.scalar(select(func.max(OutboxEvent.seq)).where(OutboxEvent.order_id == order.id))
    event_id = new_id()
    body = orjson.dumps(order_event(session, event_id, event_type, order, now), default=_number)
    event = OutboxEvent(
        id=event_id,
        order_id=order.id,
        seq=(last or 0) + 1,
        type=event_type,
        body=body.decode(),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(event)
    return event


def _number(value: object) -> int | float:
    if isinstance(value, Decimal):
        return wire_number(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
