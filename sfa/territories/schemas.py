from __future__ import annotations

from marshmallow import Schema, fields


class TerritorySchema(Schema):
    id = fields.String(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    type = fields.String(dump_only=True)
    parent_id = fields.String(dump_only=True, allow_none=True)
    active = fields.Boolean(dump_only=True)


class TerritoryListSchema(Schema):
    items = fields.List(fields.Nested(TerritorySchema), required=True)
