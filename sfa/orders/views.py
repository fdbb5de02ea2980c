"""Orders for people: managers list, inspect, release or cancel them (reps see theirs through
sync, and here too). Ids outside the caller's scope answer 404."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.errors import NotFound
from sfa.http.access import current_principal
from sfa.http.endpoints import endpoint
from sfa.orders import services
from sfa.orders.models import ORDER_STATUSES, Order
from sfa.pagination import PageQuerySchema, fetch_page, page_schema
from sfa.territories.services import scope_territories
from sfa.wire_fields import Text

bp = Blueprint("orders", __name__, url_prefix="/api/v1/orders")
PEOPLE = {"rep", "manager", "admin"}


def _number() -> fields.Decimal:
    return fields.Decimal(dump_only=True, allow_none=True, as_string=False)


class LineSchema(Schema):
    id = fields.String()
    product_id = fields.String()
    sku = fields.String(allow_none=True)
    quantity = fields.Integer()
    bonus_quantity = fields.Integer()
    free_quantity = fields.Integer(allow_none=True)
    unit_price = _number()
    discount_percent = _number()
    discount_amount = _number()
    line_total = _number()
    line_status = fields.String()
    confirmed_quantity = fields.Integer(allow_none=True)
    backordered_quantity = fields.Integer()
    shipped_quantity = fields.Integer()
    invoiced_quantity = fields.Integer()


class HistorySchema(Schema):
    at = fields.DateTime()
    kind = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    actor_user_id = fields.String(allow_none=True)
    details = fields.Raw(allow_none=True)


class OrderSchema(Schema):
    id = fields.String()
    account_id = fields.String()
    user_id = fields.String()
    territory_id = fields.String(allow_none=True)
    status = fields.String()
    placed_at = fields.DateTime(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    requested_delivery_date = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    gross_total = _number()
    discount_total = _number()
    total = _number()
    shown_total = _number()
    pricing_differences = fields.Raw(allow_none=True)
    hold_reasons = fields.Raw(allow_none=True)
    status_reason = fields.String(allow_none=True)
    erp_reference = fields.String(allow_none=True)


class OrderDetailSchema(OrderSchema):
    lines = fields.List(fields.Nested(LineSchema))
    history = fields.List(fields.Nested(HistorySchema))


class OrderQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(ORDER_STATUSES))


class ReleaseSchema(Schema):
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class CancelSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=2000))


OrderPageSchema = page_schema(OrderSchema, "OrderPageSchema")


def _visible():  # noqa: ANN202
    principal = current_principal()
    query = select(Order)
    if principal.role == "rep":
        return query.where(Order.user_id == principal.user_id)
    scope = scope_territories(principal, today())
    return query if scope is None else query.where(Order.territory_id.in_(scope))


def _one(order_id: str) -> Order:
    order = db.session.scalar(_visible().where(Order.id == order_id))
    if order is None:
        raise NotFound("no such order", details={"order_id": order_id})
    return order


@endpoint(
    bp,
    "",
    roles=PEOPLE,
    summary="Orders in the caller's scope (a rep's own), e.g. ?status=on_hold",
    query=OrderQuerySchema(),
    response=OrderPageSchema,
)
def list_orders(query: dict):
    wanted = _visible()
    if query["status"]:
        wanted = wanted.where(Order.status == query["status"])
    return fetch_page(db.session, wanted, Order.id, query["limit"], query["after"])


@endpoint(
    bp,
    "/<order_id>",
    roles=PEOPLE,
    summary="One order with its lines and its history",
    response=OrderDetailSchema(),
)
def get_order(order_id: str):
    order = _one(order_id)
    return _Detail(
        order, services.lines_of(db.session, order.id), services.history(db.session, order.id)
    )


class _Detail:
    """An order with its lines and history, for dumping."""

    def __init__(self, order: Order, lines: list, history: list) -> None:
        self._order, self.lines, self.history = order, lines, history

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._order, name)


@endpoint(
    bp,
    "/<order_id>/release",
    method="POST",
    roles={"manager", "admin"},
    summary="Send a held order to the ERP as it is (audited)",
    body=ReleaseSchema(),
    body_required=False,
    response=OrderSchema(),
)
def release(order_id: str, body: dict):
    _one(order_id)
    order = services.release(
        db.session, order_id, current_principal().user_id, body.get("note"), utcnow()
    )
    db.session.commit()
    return order


@endpoint(
    bp,
    "/<order_id>/cancel",
    method="POST",
    roles={"manager", "admin"},
    summary="Cancel an order before it ships (audited; an ERP that has it is told)",
    body=CancelSchema(),
    response=OrderSchema(),
)
def cancel(order_id: str, body: dict):
    _one(order_id)
    order = services.cancel(
        db.session, order_id, current_principal().user_id, body["reason"], utcnow()
    )
    db.session.commit()
    return order
