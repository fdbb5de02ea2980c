"""The API contract for accounts and contacts (read side; edits arrive through sync)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from sfa.pagination import PageQuerySchema, page_schema
from sfa.wire_fields import Text


class AccountSchema(Schema):
    id = fields.String(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    kind = fields.String(dump_only=True)
    tax_id = fields.String(dump_only=True, allow_none=True)
    address = fields.String(dump_only=True, allow_none=True)
    city = fields.String(dump_only=True, allow_none=True)
    postal_code = fields.String(dump_only=True, allow_none=True)
    phone = fields.String(dump_only=True, allow_none=True)
    email = fields.String(dump_only=True, allow_none=True)
    channel = fields.String(dump_only=True, allow_none=True)
    price_list_id = fields.String(dump_only=True, allow_none=True)
    credit_limit = fields.Decimal(dump_only=True, allow_none=True, as_string=False)
    outstanding_balance = fields.Decimal(dump_only=True, allow_none=True, as_string=False)
    min_order_value = fields.Decimal(dump_only=True, allow_none=True, as_string=False)
    territory_id = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ContactSchema(Schema):
    id = fields.String(dump_only=True)
    code = fields.String(dump_only=True)
    account_id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    specialty = fields.String(dump_only=True, allow_none=True)
    phone = fields.String(dump_only=True, allow_none=True)
    email = fields.String(dump_only=True, allow_none=True)
    active = fields.Boolean(dump_only=True)


class AccountQuerySchema(PageQuerySchema):
    territory_id = Text(load_default=None, validate=validate.Length(max=36))
    search = Text(load_default=None, validate=validate.Length(min=1, max=100))


class ContactListSchema(Schema):
    items = fields.List(fields.Nested(ContactSchema), required=True)


AccountPageSchema = page_schema(AccountSchema, "AccountPageSchema")
