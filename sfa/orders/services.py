"""Order lifecycle: submission (pricing, validation, hold or send), managers' release and
cancel, and the ERP's acknowledgements. Functions take a session and do not commit: the
caller's transaction holds the order, its audit trail and its outbox event together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mobile_protocol.pricing import PricingError
from sfa.accounts.models import Account
from sfa.catalog.models import StockLevel
from sfa.clock import DEFAULT_TIMEZONE, business_date
from sfa.erp.events import CANCELLED, SUBMITTED
from sfa.erp.outbox import enqueue
from sfa.errors import Conflict, DomainError, NotFound
from sfa.forecasts import sales
from sfa.orders import pricing as server_pricing
from sfa.orders import rules
from sfa.orders.models import OPEN_STATUSES, Order, OrderEvent, OrderLine
from sfa.territories.history import territory_on
from sfa.wire import wire_value


class OrderMalformed(DomainError):
    """The order cannot be taken as it is (not even held): the device must fix it."""

    status = 422
    code = "invalid_order"


@dataclass(frozen=True)
class OrderSettings:
    min_order_value: Decimal = Decimal(0)  # when the account sets none
    timezone: str = DEFAULT_TIMEZONE  # the company's: an order's date is its local date


def lines_of(session: Session, order_id: str) -> list[OrderLine]:
    return list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)
        )
    )


def check_submittable(session: Session, order_id: str) -> None:
    """Refuse, before anything changes, an order that cannot even be held."""
    count = session.scalar(select(func.count()).where(OrderLine.order_id == order_id))
    if not count:
        raise OrderMalformed("an order needs at least one line")


def submit(
    session: Session,
    order: Order,
    settings: OrderSettings,
    now: datetime,
    actor_user_id: str | None,
) -> None:
    """A draft just became ``submitted``: price it with the server's rules, record what the
    device showed otherwise, check it, then hold it with its reasons or send it to the ERP."""
    lines = lines_of(session, order.id)
    account = session.get(Account, order.account_id)
    order.submitted_at = now
    day = business_date(order.placed_at or now, settings.timezone)
    order.credited_territory_id = territory_on(session, order.account_id, day)
    order.credited_period = f"{day:%Y-%m}"
    _record(session, order, "submitted", "draft", "submitted", actor_user_id, now)
    try:
        priced = server_pricing.price(session, order, lines, account)
    except PricingError as exc:
        _hold(session, order, [rules.Hold(exc.code, exc.message, exc.details)], now)
        return
    _apply_prices(order, lines, priced)
    stock = dict(
        session.execute(
            select(StockLevel.product_id, StockLevel.available).where(
                StockLevel.product_id.in_({line.product_id for line in lines})
            )
        ).all()
    )
    facts = rules.OrderFacts(
        total=order.total,
        credit_limit=account.credit_limit,
        outstanding=account.outstanding_balance or Decimal(0),
        open_orders=_open_orders(session, account.id, order.id),
        min_order_value=account.min_order_value
        if account.min_order_value is not None
        else settings.min_order_value,
        lines=tuple(
            rules.LineFacts(
                line.id,
                line.sku or "",
                line.quantity + (line.bonus_quantity or 0),
                priced.products[line.product_id].active,
                stock.get(line.product_id),
            )
            for line in lines
        ),
    )
    found = rules.holds(facts)
    if found:
        _hold(session, order, found, now)
    else:
        _send(session, order, now, actor_user_id=None, kind="sent_to_erp")


def _apply_prices(order: Order, lines: list[OrderLine], priced: server_pricing.Priced) -> None:
    result = priced.result
    order.pricing_differences = server_pricing.differences(order, lines, result) or None
    for line, computed in zip(lines, result.lines, strict=True):
        line.sku = priced.products[line.product_id].sku
        line.unit_price = computed.unit_price
        line.discount_percent = computed.discount_percent
        line.discount_amount = computed.discount_amount
        line.line_total = computed.net_amount
        line.bonus_quantity = computed.bonus_quantity
        line.free_quantity = computed.inclusive_free_quantity
        line.revision += 1
    order.price_list_id = priced.price_list.id if priced.price_list else None
    order.currency = priced.price_list.currency if priced.price_list else None
    order.gross_total = result.gross_amount
    order.discount_total = result.discount_amount
    order.total = result.net_amount


def _open_orders(session: Session, account_id: str, excluding: str) -> Decimal:
    total = session.scalar(
        select(func.coalesce(func.sum(Order.total), 0)).where(
            Order.account_id == account_id,
            Order.status.in_(OPEN_STATUSES),
            Order.id != excluding,
        )
    )
    return Decimal(total or 0)


def _hold(session: Session, order: Order, found: list[rules.Hold], now: datetime) -> None:
    reasons = [_plain(hold.as_dict()) for hold in found]
    _move(session, order, "on_hold", now, None, "held", {"reasons": reasons})
    order.hold_reasons = reasons


def _send(
    session: Session, order: Order, now: datetime, *, actor_user_id: str | None, kind: str
) -> None:
    _move(session, order, "sent_to_erp", now, actor_user_id, kind)
    enqueue(session, order, SUBMITTED, now)


def release(session: Session, order_id: str, actor_user_id: str, note: str | None, now: datetime):  # noqa: ANN201
    """A manager lets a held order go to the ERP as it is."""
    order = _locked(session, order_id)
    if order.status not in rules.RELEASABLE:
        raise Conflict(f"a {order.status} order cannot be released", code="invalid_state")
    _send(session, order, now, actor_user_id=actor_user_id, kind="released")
    if note:
        session.flush()
        _last_event(session, order.id).details = {"note": note}
    return order


def cancel(session: Session, order_id: str, actor_user_id: str, reason: str, now: datetime):  # noqa: ANN201
    """A manager cancels an order before it ships; an ERP that has it is told."""
    order = _locked(session, order_id)
    if order.status not in rules.CANCELLABLE:
        raise Conflict(f"a {order.status} order cannot be cancelled", code="invalid_state")
    told_erp = order.status in rules.KNOWN_TO_ERP
    booked = order.status in sales.BOOKED_STATUSES
    order.status_reason = reason
    _move(session, order, "cancelled", now, actor_user_id, "cancelled", {"reason": reason})
    if told_erp:
        enqueue(session, order, CANCELLED, now)
    if booked:  # it no longer counts towards attainment
        session.flush()
        sales.refresh(session, sales.keys_of(session, [order.id]))
    return order


def _locked(session: Session, order_id: str) -> Order:
    order = session.get(Order, order_id, with_for_update=True)
    if order is None:
        raise NotFound("no such order", details={"order_id": order_id})
    return order


def _move(
    session: Session,
    order: Order,
    status: str,
    now: datetime,
    actor_user_id: str | None,
    kind: str,
    details: dict[str, Any] | None = None,
) -> None:
    before = order.status
    order.status = status
    order.revision += 1
    _record(session, order, kind, before, status, actor_user_id, now, details)


def _record(
    session: Session,
    order: Order,
    kind: str,
    before: str | None,
    after: str | None,
    actor_user_id: str | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        OrderEvent(
            order_id=order.id,
            at=now,
            actor_user_id=actor_user_id,
            kind=kind,
            from_status=before,
            to_status=after,
            details=details,
        )
    )


def _last_event(session: Session, order_id: str) -> OrderEvent:
    return session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id.desc())
    ).first()


def _plain(value: Any) -> Any:
    """JSON-ready (exact amounts as JSON numbers) for the JSON columns."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return wire_value(value)


def history(session: Session, order_id: str) -> list[OrderEvent]:
    return list(
        session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        )
    )


# The ERP's acknowledgements ------------------------------------------------------------------

ACK_TYPES = (
    "order.accepted",
    "order.rejected",
    "order.lines_confirmed",
    "order.shipped",
    "order.invoiced",
    "order.closed",
)


def acknowledge(session: Session, ack: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Apply what the ERP says about an order. Quantities are cumulative and only grow, and the
    status is recomputed from everything said so far, so a repeated, late or reordered
    acknowledgement never moves an order backwards. Returns what the order now says."""
    order = _locked(session, ack["order_id"])
    if order.status in ("draft", "submitted", "on_hold"):
        raise Conflict(
            f"the ERP was never sent this order (it is {order.status})", code="invalid_state"
        )
    lines = {line.id: line for line in lines_of(session, order.id)}
    unknown = [given["line_id"] for given in ack.get("lines", []) if given["line_id"] not in lines]
    if unknown:
        raise NotFound("no such order lines", details={"line_ids": unknown})
    kind = ack["type"]
    facts = _erp_facts(session, order.id)
    facts[kind] = True
    if ack.get("erp_reference"):
        order.erp_reference = ack["erp_reference"]
    if kind == "order.rejected" and ack.get("reason"):
        order.status_reason = ack["reason"]
    for given in ack.get("lines", []):
        _acknowledge_line(lines[given["line_id"]], given, kind)
    before = order.status
    after = rules.status_from_erp(
        before,
        accepted=facts.get("order.accepted", False) or facts.get("order.lines_confirmed", False),
        rejected=facts.get("order.rejected", False),
        closed=facts.get("order.closed", False),
        lines=[
            rules.LineAck(
                line.line_status,
                line.quantity,
                line.confirmed_quantity,
                line.backordered_quantity,
                line.shipped_quantity,
                line.invoiced_quantity,
            )
            for line in lines.values()
        ],
    )
    order.revision += 1
    details = {
        "delivery_id": ack["delivery_id"],
        "shipment_id": ack.get("shipment_id"),
        "invoice_id": ack.get("invoice_id"),
    }
    if after != before:
        order.status = after
    _record(session, order, kind, before, after, None, now, details)
    session.flush()
    sales.refresh(session, sales.keys_of(session, [order.id]))  # booked and invoiced amounts
    return {"order_id": order.id, "status": order.status}


def _erp_facts(session: Session, order_id: str) -> dict[str, bool]:
    """Which kinds of acknowledgement the order has had so far."""
    kinds = session.scalars(
        select(OrderEvent.kind).where(
            OrderEvent.order_id == order_id, OrderEvent.kind.in_(ACK_TYPES)
        )
    )
    return {kind: True for kind in kinds}


def _acknowledge_line(line: OrderLine, given: dict[str, Any], kind: str) -> None:
    if given.get("status"):
        line.line_status = given["status"]
    elif kind == "order.accepted" and line.line_status == "pending":
        line.line_status = "accepted"
    if given.get("confirmed_quantity") is not None:
        line.confirmed_quantity = given["confirmed_quantity"]
    if given.get("backordered_quantity") is not None:
        line.backordered_quantity = given["backordered_quantity"]
    if given.get("unit_price") is not None:
        line.confirmed_unit_price = given["unit_price"]
    for name in ("shipped_quantity", "invoiced_quantity"):
        if given.get(name) is not None:  # cumulative: a late or repeated one never lowers it
            setattr(line, name, max(getattr(line, name) or 0, given[name]))
    if kind in ("order.shipped", "order.invoiced") and line.line_status == "pending":
        line.line_status = "accepted"  # shipped before the acceptance arrived
    line.revision += 1
