"""``/api/v1/admin``: the territory tree, assignments of people, realignment models, the
territory history of accounts, and the audit trail. Admins only; every change is audited."""

from __future__ import annotations

from flask import Blueprint, current_app
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from sfa import audit
from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.errors import NotFound
from sfa.http.access import current_principal
from sfa.http.endpoints import endpoint
from sfa.territories import history, people, realign, tree
from sfa.territories.models import (
    ASSIGNMENT_ROLES,
    TERRITORY_TYPES,
    AssignmentRule,
    ManualAssignment,
    TerritoryModel,
)
from sfa.territories.schemas import TerritorySchema
from sfa.wire_fields import StrictBoolean, StrictInteger, Text

bp = Blueprint("territory_admin", __name__, url_prefix="/api/v1/admin")
ADMIN = frozenset({"admin"})
_id = validate.Length(min=1, max=36)


def _actor() -> str:
    return current_principal().user_id


# the tree --------------------------------------------------------------------------------


class TerritoryCreateSchema(Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=64))
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(TERRITORY_TYPES))
    parent_id = Text(load_default=None, allow_none=True, validate=_id)


class MoveSchema(Schema):
    parent_id = Text(required=True, allow_none=True, validate=_id)


@endpoint(
    bp,
    "/territories",
    method="POST",
    roles=ADMIN,
    summary="Add a territory to the tree",
    body=TerritoryCreateSchema(),
    response=TerritorySchema(),
    status=201,
)
def add_territory(body: dict):
    territory = tree.add_territory(
        db.session, body["code"], body["name"], body["type"], body["parent_id"], _actor(),
        utcnow(),
    )  # fmt: skip
    db.session.commit()
    return territory


@endpoint(
    bp,
    "/territories/<territory_id>/move",
    method="POST",
    roles=ADMIN,
    summary="Move a territory and its whole subtree under another parent (null: a root)",
    body=MoveSchema(),
    response=TerritorySchema(),
)
def move_territory(territory_id: str, body: dict):
    territory = tree.move_subtree(db.session, territory_id, body["parent_id"], _actor(), utcnow())
    db.session.commit()
    return territory


# people ----------------------------------------------------------------------------------


class AssignmentSchema(Schema):
    id = fields.String(dump_only=True)
    user_id = Text(required=True, validate=_id)
    territory_id = Text(required=True, validate=_id)
    role = fields.String(required=True, validate=validate.OneOf(ASSIGNMENT_ROLES))
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None, allow_none=True)


class AssignmentEndSchema(Schema):
    valid_to = fields.Date(required=True, allow_none=True)


class AssignmentQuerySchema(Schema):
    user_id = Text(load_default=None, validate=_id)
    territory_id = Text(load_default=None, validate=_id)


class AssignmentListSchema(Schema):
    items = fields.List(fields.Nested(AssignmentSchema), dump_only=True)


@endpoint(
    bp,
    "/assignments",
    roles=ADMIN,
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
    roles=ADMIN,
    summary="Assign a user to a territory with a role, over a validity period",
    body=AssignmentSchema(),
    response=AssignmentSchema(),
    status=201,
)
def add_assignment(body: dict):
    assignment = people.assign(db.session, **body, actor=_actor(), now=utcnow())
    db.session.commit()
    return assignment


@endpoint(
    bp,
    "/assignments/<assignment_id>",
    method="PATCH",
    roles=ADMIN,
    summary="End an assignment on a date (or reopen it with null)",
    body=AssignmentEndSchema(),
    response=AssignmentSchema(),
)
def end_assignment(assignment_id: str, body: dict):
    assignment = people.set_end(db.session, assignment_id, body["valid_to"], _actor(), utcnow())
    db.session.commit()
    return assignment


# realignment models ------------------------------------------------------------------------


class ModelSchema(Schema):
    id = fields.String(dump_only=True)
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    status = fields.String(dump_only=True)
    effective_date = fields.Date(dump_only=True, allow_none=True)
    created_by = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    activated_at = fields.DateTime(dump_only=True, allow_none=True)
    moved_accounts = fields.Integer(dump_only=True, allow_none=True)
    copy_active = StrictBoolean(load_only=True, load_default=True)


class ModelListSchema(Schema):
    items = fields.List(fields.Nested(ModelSchema), dump_only=True)


class RuleSchema(Schema):
    id = fields.String(dump_only=True)
    territory_id = Text(required=True, validate=_id)
    priority = StrictInteger(load_default=0, validate=validate.Range(min=-1000000, max=1000000))
    condition = fields.Dict(required=True)


class RuleListSchema(Schema):
    items = fields.List(fields.Nested(RuleSchema), dump_only=True)


class PlacementSchema(Schema):
    account_id = Text(required=True, validate=_id)
    territory_id = Text(required=True, allow_none=True, validate=_id)
    reason = Text(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ScheduleSchema(Schema):
    effective_date = fields.Date(required=True)


class DiffQuerySchema(Schema):
    accounts = StrictBoolean(load_default=True)  # false: counts only


class ExcludeSchema(Schema):
    exclude_from_realignment = StrictBoolean(required=True)


@endpoint(bp, "/realignments", roles=ADMIN, summary="Territory models, newest first",
          response=ModelListSchema())  # fmt: skip
def list_models():
    found = db.session.scalars(select(TerritoryModel).order_by(TerritoryModel.created_at.desc()))
    return {"items": list(found)}


@endpoint(
    bp,
    "/realignments",
    method="POST",
    roles=ADMIN,
    summary="Draft a territory model (a copy of the active one's rules unless copy_active=false)",
    body=ModelSchema(),
    response=ModelSchema(),
    status=201,
)
def create_model(body: dict):
    model = realign.create_model(
        db.session, body["name"], _actor(), utcnow(), copy_active=body["copy_active"]
    )
    db.session.commit()
    return model


@endpoint(bp, "/realignments/<model_id>", roles=ADMIN, summary="One territory model",
          response=ModelSchema())  # fmt: skip
def get_model(model_id: str):
    return realign.get_model(db.session, model_id)


@endpoint(bp, "/realignments/<model_id>/rules", roles=ADMIN,
          summary="A model's assignment rules", response=RuleListSchema())  # fmt: skip
def list_rules(model_id: str):
    realign.get_model(db.session, model_id)
    rules = db.session.scalars(
        select(AssignmentRule)
        .where(AssignmentRule.model_id == model_id)
        .order_by(AssignmentRule.created_at, AssignmentRule.id)
    )
    return {"items": list(rules)}


@endpoint(
    bp,
    "/realignments/<model_id>/rules",
    method="POST",
    roles=ADMIN,
    summary="Add an assignment rule to a draft model",
    body=RuleSchema(),
    response=RuleSchema(),
    status=201,
)
def add_rule(model_id: str, body: dict):
    rule = realign.add_rule(
        db.session, model_id, body["territory_id"], body["priority"], body["condition"],
        _actor(), utcnow(),
    )  # fmt: skip
    db.session.commit()
    return rule


@endpoint(bp, "/realignments/<model_id>/rules/<rule_id>", method="DELETE", roles=ADMIN,
          summary="Remove a rule from a draft model", status=204)  # fmt: skip
def remove_rule(model_id: str, rule_id: str):
    realign.remove_rule(db.session, model_id, rule_id, _actor(), utcnow())
    db.session.commit()
    return current_app.response_class(status=204)


@endpoint(
    bp,
    "/realignments/<model_id>/placements",
    method="POST",
    roles=ADMIN,
    summary="Place an account by hand in a draft model (territory_id null: remove)",
    body=PlacementSchema(),
    status=204,
)
def place_account(model_id: str, body: dict):
    realign.place(
        db.session, model_id, body["account_id"], body["territory_id"], body["reason"],
        _actor(), utcnow(),
    )  # fmt: skip
    db.session.commit()
    return current_app.response_class(status=204)


@endpoint(bp, "/realignments/<model_id>/placements", roles=ADMIN,
          summary="A model's manual placements")  # fmt: skip
def list_placements(model_id: str):
    realign.get_model(db.session, model_id)
    rows = db.session.scalars(
        select(ManualAssignment)
        .where(ManualAssignment.model_id == model_id)
        .order_by(ManualAssignment.account_id)
    )
    return {
        "items": [
            {"account_id": r.account_id, "territory_id": r.territory_id, "reason": r.reason}
            for r in rows
        ]
    }


@endpoint(
    bp,
    "/realignments/<model_id>/diff",
    roles=ADMIN,
    summary="Dry run: what activating the model would change, per territory (changes nothing)",
    query=DiffQuerySchema(),
)
def diff(model_id: str, query: dict):
    found = realign.dry_run(db.session, model_id)
    body = found.summary()
    if query["accounts"]:
        body["changes"] = found.by_territory()
        body["unmatched_accounts"] = found.unmatched
        body["excluded_accounts"] = found.excluded
    return body


@endpoint(bp, "/realignments/<model_id>/schedule", method="POST", roles=ADMIN,
          summary="Schedule a model to take effect on a date (today or later)",
          body=ScheduleSchema(), response=ModelSchema())  # fmt: skip
def schedule(model_id: str, body: dict):
    model = realign.schedule(
        db.session, model_id, body["effective_date"], _actor(), today(), utcnow()
    )
    db.session.commit()
    return model


@endpoint(bp, "/realignments/<model_id>/activate", method="POST", roles=ADMIN,
          summary="Activate a model now (a scheduled one once its date has come)",
          body_required=False)  # fmt: skip
def activate(model_id: str):
    found = realign.activate(
        db.session, model_id, _actor(), today(), utcnow(), current_app.config["TIMEZONE"]
    )
    db.session.commit()
    return {"model": ModelSchema().dump(realign.get_model(db.session, model_id)),
            **found.summary()}  # fmt: skip


@endpoint(bp, "/realignments/<model_id>/cancel", method="POST", roles=ADMIN,
          summary="Cancel a draft or scheduled model", response=ModelSchema(),
          body_required=False)  # fmt: skip
def cancel(model_id: str):
    model = realign.cancel(db.session, model_id, _actor(), utcnow())
    db.session.commit()
    return model


# accounts --------------------------------------------------------------------------------


@endpoint(
    bp,
    "/accounts/<account_id>/realignment",
    method="PATCH",
    roles=ADMIN,
    summary="Exclude an account from realignment (it stays where it is), or include it again",
    body=ExcludeSchema(),
)
def exclude(account_id: str, body: dict):
    account = realign.set_excluded(
        db.session, account_id, body["exclude_from_realignment"], _actor(), utcnow()
    )
    db.session.commit()
    return {"account_id": account.id, "exclude_from_realignment": account.exclude_from_realignment}


@endpoint(bp, "/accounts/<account_id>/territory-history", roles=ADMIN,
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


@endpoint(bp, "/audit", roles=ADMIN, summary="The audit trail, newest first",
          query=AuditQuerySchema())  # fmt: skip
def audit_trail(query: dict):
    wanted = select(audit.AuditEntry).order_by(audit.AuditEntry.id.desc()).limit(query["limit"])
    if query["entity"]:
        wanted = wanted.where(audit.AuditEntry.entity == query["entity"])
    if query["entity_id"]:
        wanted = wanted.where(audit.AuditEntry.entity_id == query["entity_id"])
    if query["before_id"]:
        wanted = wanted.where(audit.AuditEntry.id < query["before_id"])
    entries = db.session.scalars(wanted).all()
    return {
        "items": [
            {"id": e.id, "at": e.at, "actor_id": e.actor_id, "entity": e.entity,
             "entity_id": e.entity_id, "action": e.action, "before": e.before, "after": e.after}
            for e in entries
        ]
    }  # fmt: skip
