"""The native protocol's request contract (responses are documented in mobile_protocol/)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from sfa.forecasts.models import FORECAST_CATEGORIES
from sfa.wire_fields import RECORD_ID, AmountField, StrictBoolean, StrictInteger, Text

MAX_PAGE = 5000


class PullQuerySchema(Schema):
    cursor = Text(load_default=None, validate=validate.Length(max=4096))
    continuation = Text(load_default=None, validate=validate.Length(max=4096))
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=MAX_PAGE))


class PullResponseSchema(Schema):
    protocol = fields.Integer(dump_only=True)
    changes = fields.Dict(dump_only=True)
    has_more = fields.Boolean(dump_only=True)
    continuation = fields.String(dump_only=True, allow_none=True)
    cursor = fields.String(dump_only=True, allow_none=True)
    server_time = fields.String(dump_only=True)


# What a device may send -----------------------------------------------------------------

_opt = {"load_default": None, "allow_none": True}


def _when() -> fields.AwareDateTime:
    return fields.AwareDateTime(format="iso", allow_none=True)


class PushSchema(Schema):
    protocol = fields.Integer(load_default=1)
    device_time = fields.AwareDateTime(format="iso", load_default=None, allow_none=True)
    mutations = fields.List(fields.Raw(), required=True)


class MutationSchema(Schema):
    id = Text(required=True, validate=validate.Length(min=1, max=64))
    entity = Text(required=True, validate=validate.Length(min=1, max=40))
    op = fields.String(required=True, validate=validate.OneOf(("create", "update", "delete")))
    record_id = Text(required=True, validate=RECORD_ID)
    base_revision = StrictInteger(
        load_default=None, allow_none=True, validate=validate.Range(min=0)
    )
    values = fields.Dict(keys=fields.String(), load_default=dict, data_key="fields")
    edited_at = fields.AwareDateTime(format="iso", load_default=None, allow_none=True)


class SampleSchema(Schema):
    product_id = Text(required=True, validate=RECORD_ID)
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=1_000_000))


class AccountFields(Schema):
    phone = Text(allow_none=True, validate=validate.Length(max=40))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    address = Text(allow_none=True, validate=validate.Length(max=300))


class ContactFields(Schema):
    account_id = Text(validate=RECORD_ID)
    name = Text(validate=validate.Length(min=1, max=200))
    specialty = Text(allow_none=True, validate=validate.Length(max=100))
    phone = Text(allow_none=True, validate=validate.Length(max=40))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    active = StrictBoolean()


class OrderFields(Schema):
    account_id = Text(validate=RECORD_ID)
    placed_at = _when()
    requested_delivery_date = fields.Date(allow_none=True)
    notes = Text(allow_none=True, validate=validate.Length(max=2000))
    status = fields.String(validate=validate.OneOf(("draft", "submitted")))
    shown_total = AmountField(allow_none=True, validate=validate.Range(min=0))


class OrderLineFields(Schema):
    order_id = Text(validate=RECORD_ID)
    product_id = Text(validate=RECORD_ID)
    quantity = StrictInteger(validate=validate.Range(min=1, max=1_000_000))
    bonus_quantity = StrictInteger(validate=validate.Range(min=0, max=1_000_000))
    shown_unit_price = AmountField(allow_none=True, validate=validate.Range(min=0))
    shown_line_total = AmountField(allow_none=True, validate=validate.Range(min=0))


class VisitFields(Schema):
    account_id = Text(validate=RECORD_ID)
    contact_id = Text(allow_none=True, validate=RECORD_ID)
    planned_at = _when()
    started_at = _when()
    ended_at = _when()
    outcome = Text(allow_none=True, validate=validate.Length(max=40))
    notes = Text(allow_none=True, validate=validate.Length(max=4000))
    products_discussed = fields.List(Text(validate=RECORD_ID), validate=validate.Length(max=100))
    samples = fields.List(fields.Nested(SampleSchema), validate=validate.Length(max=100))


class ForecastFields(Schema):
    period = Text(validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))
    product_line = Text(validate=validate.Length(min=1, max=64))
    category = fields.String(validate=validate.OneOf(FORECAST_CATEGORIES))
    amount = AmountField(validate=validate.Range(min=0))
    notes = Text(allow_none=True, validate=validate.Length(max=2000))
    status = fields.String(validate=validate.OneOf(("draft", "submitted")))


# Instances are reused across requests (loading keeps no state on the schema).
FIELD_SCHEMAS: dict[str, Schema] = {
    "accounts": AccountFields(),
    "contacts": ContactFields(),
    "orders": OrderFields(),
    "order_lines": OrderLineFields(),
    "visits": VisitFields(),
    "forecasts": ForecastFields(),
}
MUTATION_SCHEMA = MutationSchema()
