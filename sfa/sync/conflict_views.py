from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.http.access import current_principal
from sfa.http.endpoints import endpoint
from sfa.pagination import PageQuerySchema, page_schema
from sfa.sync import conflicts

bp = Blueprint("conflicts", __name__, url_prefix="/api/v1/conflicts")


class ConflictSchema(Schema):
    id = fields.String(dump_only=True)
    user_id = fields.String(dump_only=True, allow_none=True)
    territory_id = fields.String(dump_only=True, allow_none=True)
    entity = fields.String(dump_only=True)
    record_id = fields.String(dump_only=True)
    field = fields.String(dump_only=True, allow_none=True)
    policy = fields.String(dump_only=True)
    winner = fields.String(dump_only=True)
    kept_value = fields.Raw(dump_only=True, allow_none=True)
    overruled_value = fields.Raw(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    resolution = fields.String(dump_only=True, allow_none=True)
    resolved_by = fields.String(dump_only=True, allow_none=True)
    resolved_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class ConflictQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(("open", "resolved")))


class ResolveSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("keep", "apply")))


ConflictPageSchema = page_schema(ConflictSchema, "ConflictPageSchema")


@endpoint(
    bp,
    "",
    roles={"rep", "manager", "admin"},
    summary="Overruled values: a rep's own, a manager's subtree, everything for admins",
    query=ConflictQuerySchema(),
    response=ConflictPageSchema,
)
def list_conflicts(query: dict):
    return conflicts.list_conflicts(db.session, current_principal(), today(), **query)


@endpoint(
    bp,
    "/<conflict_id>/resolve",
    method="POST",
    roles={"manager", "admin"},
    summary="Settle a conflict kept for review: keep the server's value or apply the device's",
    body=ResolveSchema(),
    response=ConflictSchema(),
)
def resolve_conflict(conflict_id: str, body: dict):
    return conflicts.resolve(
        db.session, current_principal(), conflict_id, body["decision"], today(), utcnow()
    )
