"""The master-data import document, ``sfa-import/1``. Every section is optional; unknown
fields and wrong types are errors (see docs/import.md)."""

from __future__ import annotations

import re

from marshmallow import Schema, fields, validate

from sfa.accounts.models import ACCOUNT_KINDS
from sfa.auth.models import ROLES
from sfa.catalog.models import PRICING_RULE_KINDS
from sfa.territories.models import TERRITORY_TYPES
from sfa.wire_fields import AmountField, StrictBoolean, StrictInteger, Text

FORMAT = "sfa-import/1"
_code = validate.Length(min=1, max=64)
_name = validate.Length(min=1, max=200)
_period = validate.Regexp(
    re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"), error="Must be a month as YYYY-MM."
)
_nonneg = validate.Range(min=0)
_count = validate.Range(min=0, max=2**63 - 1)  # a 64-bit integer column on every backend


def _optional(field_class, **kwargs):  # noqa: ANN001, ANN202
    return field_class(load_default=None, allow_none=True, **kwargs)


class TerritoryRow(Schema):
    code = Text(required=True, validate=_code)
    name = Text(required=True, validate=_name)
    parent = Text(required=True, allow_none=True, validate=_code)
    type = Text(required=True, validate=validate.OneOf(TERRITORY_TYPES))
    active = StrictBoolean(load_default=True)


class UserRow(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = Text(required=True, validate=_name)
    role = Text(required=True, validate=validate.OneOf(ROLES))
    password = _optional(Text, validate=validate.Length(min=8, max=256))
    territories = fields.List(Text(validate=_code), load_default=list)
    active = StrictBoolean(load_default=True)


class AccountRow(Schema):
    code = Text(required=True, validate=_code)
    name = Text(required=True, validate=_name)
    kind = Text(required=True, validate=validate.OneOf(ACCOUNT_KINDS))
    tax_id = _optional(Text, validate=validate.Length(max=40))
    address = _optional(Text, validate=validate.Length(max=300))
    city = _optional(Text, validate=validate.Length(max=100))
    postal_code = _optional(Text, validate=validate.Length(max=20))
    phone = _optional(Text, validate=validate.Length(max=40))
    email = _optional(fields.Email, validate=validate.Length(max=254))
    channel = _optional(Text, validate=validate.Length(max=40))
    territory = Text(required=True, validate=_code)
    price_list = _optional(Text, validate=_code)
    credit_limit = _optional(AmountField, validate=_nonneg)
    outstanding_balance = _optional(AmountField, validate=_nonneg)
    min_order_value = _optional(AmountField, validate=_nonneg)
    active = StrictBoolean(load_default=True)


class ContactRow(Schema):
    code = Text(required=True, validate=_code)
    account = Text(required=True, validate=_code)
    name = Text(required=True, validate=_name)
    specialty = _optional(Text, validate=validate.Length(max=100))
    phone = _optional(Text, validate=validate.Length(max=40))
    email = _optional(fields.Email, validate=validate.Length(max=254))
    active = StrictBoolean(load_default=True)


class ProductRow(Schema):
    sku = Text(required=True, validate=_code)
    name = Text(required=True, validate=_name)
    product_line = Text(required=True, validate=_code)
    unit = Text(required=True, validate=validate.Length(min=1, max=20))
    active = StrictBoolean(load_default=True)


class PriceItemRow(Schema):
    sku = Text(required=True, validate=_code)
    price = AmountField(required=True, validate=_nonneg)


class PriceListRow(Schema):
    code = Text(required=True, validate=_code)
    name = Text(required=True, validate=_name)
    currency = Text(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    items = fields.List(fields.Nested(PriceItemRow), load_default=list)
    active = StrictBoolean(load_default=True)


class StockRow(Schema):
    sku = Text(required=True, validate=_code)
    available = StrictInteger(required=True, validate=_count)


class QuotaRow(Schema):
    territory = Text(required=True, validate=_code)
    period = Text(required=True, validate=_period)
    product_line = Text(required=True, validate=_code)
    amount = AmountField(required=True, validate=_nonneg)
    units = _optional(StrictInteger, validate=_count)


_priority = validate.Range(min=-(2**31 - 1), max=2**31 - 1)


class BandRow(Schema):
    min_quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=10**9))
    percent = AmountField(required=True, validate=validate.Range(min=0, max=100))


class PricingRuleRow(Schema):
    """A rule as the ERP sends it; what the shared pricing code would refuse (bands out of
    order, fields of another kind, dates in the wrong order) is refused here too."""

    code = Text(required=True, validate=validate.Length(min=1, max=100))
    kind = Text(required=True, validate=validate.OneOf(PRICING_RULE_KINDS))
    priority = StrictInteger(
        load_default=0, validate=validate.Range(min=-(2**31 - 1), max=2**31 - 1)
    )
    active = StrictBoolean(load_default=True)
    valid_from = _optional(fields.Date)
    valid_to = _optional(fields.Date)
    sku = _optional(Text, validate=_code)
    product_line = _optional(Text, validate=_code)
    account = _optional(Text, validate=_code)
    price_list = _optional(Text, validate=_code)
    percent = _optional(AmountField, validate=validate.Range(min=0, max=100))
    bands = _optional(fields.List, cls_or_instance=fields.Nested(BandRow))
    buy = _optional(StrictInteger, validate=validate.Range(min=1, max=10**9))
    free = _optional(StrictInteger, validate=validate.Range(min=1, max=10**9))
    repeating = _optional(StrictBoolean)
    mode = _optional(Text, validate=validate.OneOf(("on_top", "inclusive")))


SECTIONS: dict[str, type[Schema]] = {
    "territories": TerritoryRow,
    "users": UserRow,
    "products": ProductRow,
    "price_lists": PriceListRow,
    "accounts": AccountRow,
    "contacts": ContactRow,
    "stock": StockRow,
    "quotas": QuotaRow,
    "pricing_rules": PricingRuleRow,
}


class ImportDocument(Schema):
    format = Text(required=True, validate=validate.Equal(FORMAT))
    territories = fields.List(fields.Nested(TerritoryRow), load_default=list)
    users = fields.List(fields.Nested(UserRow), load_default=list)
    products = fields.List(fields.Nested(ProductRow), load_default=list)
    price_lists = fields.List(fields.Nested(PriceListRow), load_default=list)
    accounts = fields.List(fields.Nested(AccountRow), load_default=list)
    contacts = fields.List(fields.Nested(ContactRow), load_default=list)
    stock = fields.List(fields.Nested(StockRow), load_default=list)
    quotas = fields.List(fields.Nested(QuotaRow), load_default=list)
    pricing_rules = fields.List(fields.Nested(PricingRuleRow), load_default=list)


class SectionReport(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class ImportReportSchema(Schema):
    format = fields.String()
    sections = fields.Dict(keys=fields.String(), values=fields.Nested(SectionReport))
    changed = fields.Boolean()
    duration_ms = fields.Float()
