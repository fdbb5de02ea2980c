"""``/api/v1/admin``: the territory tree, assignments of people, accounts' realignment flag and
territory history, and the audit trail (realignment models: ``realign_views``). Admins only;
every change is audited."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from sfa import audit
from sfa.columns import utcnow
from sfa.db import db
from sfa.errors import NotFound
from sfa.http.access import current_user_id
from sfa.http.endpoints import ADMIN_ONLY, endpoint
from sfa.territories import history, people, realign, tree
from sfa.territories.models import (
    ASSIGNMENT_ROLES,
    TERRITORY_TYPES,
)
from sfa.territories.schemas import TerritorySchema
from sfa.wire_fields import RECORD_ID, StrictBoolean, Text

bp = Blueprint("territory_admin", __name__, url_prefix="/api/v1/admin")


# the tree --------------------------------------------------------------------------------


class TerritoryCreateSchema(Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=64))
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(TERRITORY_TYPES))
    parent_id = Text(load_default=None, allow_none=True, validate=RECORD_ID)


class MoveSchema(Schema):
    parent_id = Text(required=True, allow_none=True, validate=RECORD_ID)


@endpoint(
    bp,
    "/territories",
    method="POST",
    roles=ADMIN_ONLY,
    summary="Add a territory to the tree",
    body=TerritoryCreateSchema(),
    response=TerritorySchema(),
    status=201,
)
def add_territory(body: dict):
    territory = tree.add_territory(
        db.session, body["code"], body["name"], body["type"], body["parent_id"], current_user_id(),
        utcnow(),
    )  # fmt: skip
    db.session.commit()
    return territory


@endpoint(
    bp,
    "/territories/<territory_id>/move",
    method="POST",
    roles=ADMIN_ONLY,
    summary="Move a territory and its whole subtree under another parent (null: a root)",
    body=MoveSchema(),
    response=TerritorySchema(),
)
def move_territory(territory_id: str, body: dict):
    territory = tree.move_subtree(
        db.session, territory_id, body["parent_id"], current_user_id(), utcnow()
    )
    db.session.commit()
    return territory


# people ----------------------------------------------------------------------------------


class AssignmentSchema(Schema):
    id = fields.String(dump_only=True)
    user_id = Text(required=True, validate=RECORD_ID)
    territory_id = Text(required=True, validate=RECORD_ID)
    role = fields.String(required=True, validate=validate.OneOf(ASSIGNMENT_ROLES))
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None, allow_none=True)


class AssignmentEndSchema(Schema):
    valid_to = fields.Date(required=True, allow_none=True)


class AssignmentQuerySchema(Schema):
    user_id = Text(load_default=None, validate=RECORD_ID)
    territory_id = Text(load_default=None, validate=RECORD_ID)


class AssignmentListSchema(Schema):
    items = fields.List(fields.Nested(AssignmentSchema), dump_only=True)


@endpoint(
    bp,
    "/assignments",
    roles=ADMIN_ONLY,
    summary="Who is assigned where, in what role, when",
    query=AssignmentQuerySchema(),
    response=AssignmentListSchema(),
)
def list_assignments(query: dict):
    return {"items": people.list_assignments(db.session, query["user_id"], query["territory_id"])}


@endpoint(
    bp,
    "/assignments",
    method="POST",
    roles=ADMIN_ONLY,
    summary="Assign a user to a territory with a role, over a validity period",
    body=AssignmentSchema(),
    response=AssignmentSchema(),
    status=201,
)
def add_assignment(body: dict):
    assignment = people.assign(db.session, **body, actor=current_user_id(), now=utcnow())
    db.session.commit()
    return assignment


@endpoint(
    bp,
    "/assignments/<assignment_id>",
    method="PATCH",
    roles=ADMIN_ONLY,
    summary="End an assignment on a date (or reopen it with null)",
    body=AssignmentEndSchema(),
    response=AssignmentSchema(),
)
def end_assignment(assignment_id: str, body: dict):
    assignment = people.set_end(
        db.session, assignment_id, body["valid_to"], current_user_id(), utcnow()
    )
    db.session.commit()
    return assignment


# accounts --------------------------------------------------------------------------------


class ExcludeSchema(Schema):
    exclude_from_realignment = StrictBoolean(required=True)


@endpoint(
    bp,
    "/accounts/<account_id>/realignment",
    method="PATCH",
    roles=ADMIN_ONLY,
    summary="Exclude an account from realignment (it stays where it is), or include it again",
    body=ExcludeSchema(),
)
def exclude(account_id: str, body: dict):
    account = realign.set_excluded(
        db.session,
        account_id,
        body["exclude_from_realignment"],
        current_user_id(),
        utcnow(),
    )
    db.session.commit()
    return {"account_id": account.id, "exclude_from_realignment": account.exclude_from_realignment}


@endpoint(bp, "/accounts/<account_id>/territory-history", roles=ADMIN_ONLY,
          summary="Which territory owned the account, period by period")  # fmt: skip
def territory_history(account_id: str):
    periods = history.periods(db.session, account_id)
    if not periods:
        raise NotFound("no such account", details={"account_id": account_id})
    return {
        "account_id": account_id,
        "periods": [
            {"territory_id": p.territory_id, "valid_from": p.valid_from.isoformat(),
             "valid_to": p.valid_to.isoformat() if p.valid_to else None, "source": p.source}
            for p in periods
        ],
    }  # fmt: skip


# the audit trail -----------------------------------------------------------------------------


class AuditQuerySchema(Schema):
    entity = Text(load_default=None, validate=validate.Length(max=40))
    entity_id = Text(load_default=None, validate=validate.Length(max=64))
    before_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


@endpoint(bp, "/audit", roles=ADMIN_ONLY, summary="The audit trail, newest first",
          query=AuditQuerySchema())  # fmt: skip
def audit_trail(query: dict):
    entries = audit.entries(
        db.session, query["entity"], query["entity_id"], query["before_id"], query["limit"]
    )
    return {
        "items": [
            {"id": e.id, "at": e.at, "actor_id": e.actor_id, "entity": e.entity,
             "entity_id": e.entity_id, "action": e.action, "before": e.before, "after": e.after}
            for e in entries
        ]
    }  # fmt: skip
