"""The order events the ERP receives (contract: ``sfa/erp/schemas/order-event.json``, guide:
``docs/erp-feed.md``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.accounts.models import Account
from sfa.auth.models import User
from sfa.catalog.models import PriceList
from sfa.orders.models import Order, OrderLine
from sfa.territories.models import Territory
from sfa.wire import wire_value

SUBMITTED = "order.submitted"
CANCELLED = "order.cancelled"
EVENT_VERSION = 1


def order_event(
    session: Session, event_id: str, event_type: str, order: Order, at: datetime
) -> dict[str, Any]:
    """The whole event, as JSON-ready values (amounts stay exact: ``Decimal`` is written as a
    JSON number by the encoder)."""
    account = session.get(Account, order.account_id)
    rep = session.get(User, order.user_id)
    territory = session.get(Territory, account.territory_id) if account else None
    price_list = session.get(PriceList, order.price_list_id) if order.price_list_id else None
    lines = []
    if event_type == SUBMITTED:
        rows = session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
        )
        lines = [_line(number, line) for number, line in enumerate(rows, start=1)]
    return {
        "event_id": event_id,
        "type": event_type,
        "version": EVENT_VERSION,
        "occurred_at": wire_value(at),
        "order": {
            "id": order.id,
            "status": order.status,
            "placed_at": _when(order.placed_at),
            "submitted_at": _when(order.submitted_at),
            "requested_delivery_date": _when(order.requested_delivery_date),
            "notes": order.notes,
            "currency": order.currency,
            "account": {
                "id": account.id,
                "code": account.code,
                "name": account.name,
                "tax_id": account.tax_id,
                "city": account.city,
                "address": account.address,
            },
            "rep": {
                "id": rep.id,
                "email": rep.email,
                "name": rep.name,
                "territory_code": territory.code if territory else None,
            },
            "price_list": {"id": price_list.id, "code": price_list.code} if price_list else None,
            "lines": lines,
            "totals": {
                "gross": order.gross_total or 0,
                "discount": order.discount_total or 0,
                "net": order.total or 0,
            },
            "reason": order.status_reason if event_type == CANCELLED else None,
        },
    }


def _line(number: int, line: OrderLine) -> dict[str, Any]:
    return {
        "line_number": number,
        "id": line.id,
        "product_id": line.product_id,
        "sku": line.sku,
        "quantity": line.quantity,
        "bonus_quantity": line.bonus_quantity or 0,
        "free_quantity": line.free_quantity or 0,
        "unit_price": line.unit_price or 0,
        "discount_percent": line.discount_percent or 0,
        "discount_amount": line.discount_amount or 0,
        "net_amount": line.line_total or 0,
    }


def _when(value: Any) -> Any:
    return wire_value(value) if value is not None else None
