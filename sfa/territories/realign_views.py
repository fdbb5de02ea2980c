"""``/api/v1/admin/realignments``: territory models — rules, manual placements, the dry run,
scheduling, activation and cancellation (docs/territories.md). Admins only; audited."""

from __future__ import annotations

from flask import Blueprint, current_app
from marshmallow import Schema, fields, validate

from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.http.access import current_user_id
from sfa.http.endpoints import ADMIN_ONLY, endpoint
from sfa.territories import realign
from sfa.wire_fields import RECORD_ID, StrictBoolean, StrictInteger, Text

bp = Blueprint("realignment", __name__, url_prefix="/api/v1/admin")


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
    territory_id = Text(required=True, validate=RECORD_ID)
    priority = StrictInteger(load_default=0, validate=validate.Range(min=-1000000, max=1000000))
    condition = fields.Dict(required=True)


class RuleListSchema(Schema):
    items = fields.List(fields.Nested(RuleSchema), dump_only=True)


class PlacementSchema(Schema):
    account_id = Text(required=True, validate=RECORD_ID)
    territory_id = Text(required=True, allow_none=True, validate=RECORD_ID)
    reason = Text(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ScheduleSchema(Schema):
    effective_date = fields.Date(required=True)


class DiffQuerySchema(Schema):
    accounts = StrictBoolean(load_default=True)  # false: counts only


@endpoint(bp, "/realignments", roles=ADMIN_ONLY, summary="Territory models, newest first",
          response=ModelListSchema())  # fmt: skip
def list_models():
    return {"items": realign.models(db.session)}


@endpoint(
    bp,
    "/realignments",
    method="POST",
    roles=ADMIN_ONLY,
    summary="Draft a territory model (a copy of the active one's rules unless copy_active=false)",
    body=ModelSchema(),
    response=ModelSchema(),
    status=201,
)
def create_model(body: dict):
    model = realign.create_model(
        db.session,
        body["name"],
        current_user_id(),
        utcnow(),
        copy_active=body["copy_active"],
    )
    db.session.commit()
    return model


@endpoint(bp, "/realignments/<model_id>", roles=ADMIN_ONLY, summary="One territory model",
          response=ModelSchema())  # fmt: skip
def get_model(model_id: str):
    return realign.get_model(db.session, model_id)


@endpoint(bp, "/realignments/<model_id>/rules", roles=ADMIN_ONLY,
          summary="A model's assignment rules", response=RuleListSchema())  # fmt: skip
def list_rules(model_id: str):
    return {"items": realign.rules_of(db.session, model_id)}


@endpoint(
    bp,
    "/realignments/<model_id>/rules",
    method="POST",
    roles=ADMIN_ONLY,
    summary="Add an assignment rule to a draft model",
    body=RuleSchema(),
    response=RuleSchema(),
    status=201,
)
def add_rule(model_id: str, body: dict):
    rule = realign.add_rule(
        db.session, model_id, body["territory_id"], body["priority"], body["condition"],
        current_user_id(), utcnow(),
    )  # fmt: skip
    db.session.commit()
    return rule


@endpoint(bp, "/realignments/<model_id>/rules/<rule_id>", method="DELETE", roles=ADMIN_ONLY,
          summary="Remove a rule from a draft model", status=204)  # fmt: skip
def remove_rule(model_id: str, rule_id: str):
    realign.remove_rule(db.session, model_id, rule_id, current_user_id(), utcnow())
    db.session.commit()
    return current_app.response_class(status=204)


@endpoint(
    bp,
    "/realignments/<model_id>/placements",
    method="POST",
    roles=ADMIN_ONLY,
    summary="Place an account by hand in a draft model (territory_id null: remove)",
    body=PlacementSchema(),
    status=204,
)
def place_account(model_id: str, body: dict):
    realign.place(
        db.session, model_id, body["account_id"], body["territory_id"], body["reason"],
        current_user_id(), utcnow(),
    )  # fmt: skip
    db.session.commit()
    return current_app.response_class(status=204)


@endpoint(bp, "/realignments/<model_id>/placements", roles=ADMIN_ONLY,
          summary="A model's manual placements")  # fmt: skip
def list_placements(model_id: str):
    return {
        "items": [
            {"account_id": r.account_id, "territory_id": r.territory_id, "reason": r.reason}
            for r in realign.placements_of(db.session, model_id)
        ]
    }


@endpoint(
    bp,
    "/realignments/<model_id>/diff",
    roles=ADMIN_ONLY,
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


@endpoint(bp, "/realignments/<model_id>/schedule", method="POST", roles=ADMIN_ONLY,
          summary="Schedule a model to take effect on a date (today or later)",
          body=ScheduleSchema(), response=ModelSchema())  # fmt: skip
def schedule(model_id: str, body: dict):
    model = realign.schedule(
        db.session, model_id, body["effective_date"], current_user_id(), today(), utcnow()
    )
    db.session.commit()
    return model


@endpoint(bp, "/realignments/<model_id>/activate", method="POST", roles=ADMIN_ONLY,
          summary="Activate a model now (a scheduled one once its date has come)",
          body_required=False)  # fmt: skip
def activate(model_id: str):
    found = realign.activate(
        db.session,
        model_id,
        current_user_id(),
        today(),
        utcnow(),
        current_app.config["TIMEZONE"],
    )
    db.session.commit()
    return {"model": ModelSchema().dump(realign.get_model(db.session, model_id)),
            **found.summary()}  # fmt: skip


@endpoint(bp, "/realignments/<model_id>/cancel", method="POST", roles=ADMIN_ONLY,
          summary="Cancel a draft or scheduled model", response=ModelSchema(),
          body_required=False)  # fmt: skip
def cancel(model_id: str):
    model = realign.cancel(db.session, model_id, current_user_id(), utcnow())
    db.session.commit()
    return model
