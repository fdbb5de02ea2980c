from __future__ import annotations

from marshmallow import Schema, fields, validate

from sfa.pagination import PageQuerySchema, page_schema
from sfa.wire_fields import Text


class ProductSchema(Schema):
    id = fields.String(dump_only=True)
    sku = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    product_line = fields.String(dump_only=True)
    unit = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)


class ProductQuerySchema(PageQuerySchema):
    product_line = Text(load_default=None, validate=validate.Length(max=64))


class PriceListSchema(Schema):
    id = fields.String(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    currency = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)


class PriceListItemSchema(Schema):
    product_id = fields.String(dump_only=True)
    sku = fields.String(dump_only=True)
    price = fields.Decimal(dump_only=True, as_string=False)


class StockSchema(Schema):
    sku = fields.String(dump_only=True)
    available = fields.Integer(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class PriceListListSchema(Schema):
    items = fields.List(fields.Nested(PriceListSchema), required=True)


class PriceListItemListSchema(Schema):
    items = fields.List(fields.Nested(PriceListItemSchema), required=True)


ProductPageSchema = page_schema(ProductSchema, "ProductPageSchema")
StockPageSchema = page_schema(StockSchema, "StockPageSchema")
