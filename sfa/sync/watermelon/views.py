"""``/api/v1/watermelon``: WatermelonDB's ``pullChanges`` and ``pushChanges`` backend."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.errors import BadRequest, ValidationFailed, flatten_messages
from sfa.http.access import current_principal
from sfa.http.endpoints import endpoint, parse_json
from sfa.sync.protocol import sync_response
from sfa.sync.views import DEVICE_ROLES, order_settings, pull_settings
from sfa.sync.watermelon import pull as pulling
from sfa.sync.watermelon import push as pushing
from sfa.sync.watermelon.schema import BY_TABLE, SCHEMA_VERSION, schema_document
from sfa.wire_fields import Text

bp = Blueprint("watermelon", __name__, url_prefix="/api/v1/watermelon")

_NOTHING = ("", "null", "undefined", "0")  # what synchronize() sends before a first sync
_MAX_MS = 253402300799999


def _timestamp(raw: str | None, required: bool) -> int | None:
    if raw is None or raw in _NOTHING:
        if required:
            raise ValidationFailed(
                [{"path": "last_pulled_at", "message": "the timestamp of the last pull is needed"}]
            )
        return None
    if not raw.isdigit() or int(raw) > _MAX_MS:
        raise ValidationFailed(
            [{"path": "last_pulled_at", "message": "a timestamp from a pull, or null"}]
        )
    return int(raw)


class PullQuerySchema(Schema):
    last_pulled_at = Text(load_default=None, validate=validate.Length(max=20))
    schema_version = Text(load_default=str(SCHEMA_VERSION), validate=validate.Length(max=9))
    migration = Text(load_default=None, validate=validate.Length(max=64 * 1024))


class PushQuerySchema(Schema):
    last_pulled_at = Text(load_default=None, validate=validate.Length(max=20))


class ColumnsAddedSchema(Schema):
    table = fields.String(required=True, validate=validate.OneOf(sorted(BY_TABLE)))
    columns = fields.List(fields.String(validate=validate.Length(max=64)), required=True)

    @validates_schema
    def _known(self, data: dict, **_kw: Any) -> None:
        known = BY_TABLE[data["table"]].by_name()
        unknown = sorted(set(data["columns"]) - set(known))
        if unknown:
            raise ValidationError(f"unknown columns: {', '.join(unknown)}", "columns")


class MigrationSchema(Schema):
    from_ = fields.Integer(
        required=True, data_key="from", strict=True, validate=validate.Range(min=0)
    )
    tables = fields.List(
        fields.String(validate=validate.OneOf(sorted(BY_TABLE))),
        load_default=list,
        validate=validate.Length(max=100),
    )
    columns = fields.List(
        fields.Nested(ColumnsAddedSchema), load_default=list, validate=validate.Length(max=100)
    )


def _schema_version(raw: str) -> int:
    if not raw.isdigit():
        raise ValidationFailed([{"path": "schema_version", "message": "an integer is expected"}])
    version = int(raw)
    if not 1 <= version <= SCHEMA_VERSION:
        raise BadRequest(
            f"schema version {version} is not one this server knows; update the server or the app",
            code="unsupported_schema_version",
            details={"supported": list(range(1, SCHEMA_VERSION + 1))},
        )
    return version


def _migration(raw: str | None, version: int) -> pulling.Migration | None:
    if raw is None or raw in ("", "null"):
        return None
    try:
        document = parse_json(raw)
    except (ValueError, RecursionError):
        raise ValidationFailed([{"path": "migration", "message": "JSON is expected"}]) from None
    if document is None:
        return None
    try:
        loaded = MigrationSchema().load(document)
    except ValidationError as exc:
        errors = [
            {"path": f"migration.{e['path']}", "message": e["message"]}
            for e in flatten_messages(exc.messages)
        ]
        raise ValidationFailed(errors) from None
    if loaded["from_"] > version:
        raise ValidationFailed([{"path": "migration.from", "message": "later than schema_version"}])
    columns: dict[str, frozenset[str]] = {}
    for added in loaded["columns"]:
        columns[added["table"]] = columns.get(added["table"], frozenset()) | set(added["columns"])
    return pulling.Migration(loaded["from_"], frozenset(loaded["tables"]), columns)


@endpoint(
    bp,
    "/pull",
    roles=DEVICE_ROLES,
    summary="WatermelonDB pullChanges: every change in the caller's scope since last_pulled_at",
    query=PullQuerySchema(),
)
def pull(query: dict):
    version = _schema_version(query["schema_version"])
    body = pulling.pull(
        db.session,
        current_principal(),
        pull_settings(),
        last_pulled_at=_timestamp(query["last_pulled_at"], required=False),
        migration=_migration(query["migration"], version),
        today=today(),
        now=utcnow(),
    )
    return sync_response(body)


@endpoint(
    bp,
    "/push",
    method="POST",
    roles=DEVICE_ROLES,
    summary="WatermelonDB pushChanges: apply the device's changes atomically (409 on conflict)",
    query=PushQuerySchema(),
    raw_body=True,
    max_body="SYNC_MAX_BODY_BYTES",
)
def push(query: dict, body: Any):
    last_pulled_at = _timestamp(query["last_pulled_at"], required=True)
    if isinstance(body, dict) and "changes" in body and set(body) <= {"changes", "lastPulledAt"}:
        body = body["changes"]  # {"changes": {...}}; the bare changes object is taken as well
    config = current_app.config
    return pushing.push(
        db.session,
        current_principal(),
        config["SECRET_KEY"],
        last_pulled_at=last_pulled_at,
        changes=body,
        today=today(),
        now=utcnow(),
        max_records=config["SYNC_WATERMELON_MAX_RECORDS"],
        orders=order_settings(),
    )


@endpoint(
    bp,
    "/schema",
    roles=DEVICE_ROLES,
    summary="The WatermelonDB schema this server syncs (tables, columns, types)",
)
def schema():
    return schema_document()
