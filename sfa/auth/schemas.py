"""The API contract for sign-in, tokens, users and devices."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from sfa.auth.models import ROLES
from sfa.auth.passwords import MAX_LENGTH, MIN_LENGTH
from sfa.wire_fields import Text

_password = validate.Length(min=MIN_LENGTH, max=MAX_LENGTH)


class LoginSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = Text(required=True, validate=validate.Length(min=1, max=MAX_LENGTH))
    device_id = Text(required=True, validate=validate.Length(min=1, max=128))
    device_name = Text(required=True, validate=validate.Length(min=1, max=200))
    platform = Text(required=True, validate=validate.Length(min=1, max=40))


class RefreshSchema(Schema):
    refresh_token = Text(required=True, validate=validate.Length(min=1, max=200))


class UserSummarySchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)


class TokenSchema(Schema):
    access_token = fields.String(dump_only=True)
    token_type = fields.Constant("Bearer", dump_only=True)
    expires_in = fields.Integer(dump_only=True)
    refresh_token = fields.String(dump_only=True)
    user = fields.Nested(UserSummarySchema, dump_only=True)


class MeSchema(Schema):
    user_id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    device_id = fields.String(dump_only=True, allow_none=True)


class UserSchema(Schema):
    id = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class UserListSchema(Schema):
    items = fields.List(fields.Nested(UserSchema), required=True)


class UserCreateSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    role = Text(required=True, validate=validate.OneOf(ROLES))
    password = Text(load_default=None, validate=_password)


class UserUpdateSchema(Schema):
    name = Text(validate=validate.Length(min=1, max=200))
    role = Text(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    password = Text(validate=_password)


class UserQuerySchema(Schema):
    role = Text(load_default=None, validate=validate.OneOf(ROLES))


class DeviceSchema(Schema):
    id = fields.String(dump_only=True)
    user_id = fields.String(dump_only=True)
    device_uid = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    platform = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_login_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_reason = fields.String(dump_only=True, allow_none=True)


class DeviceListSchema(Schema):
    items = fields.List(fields.Nested(DeviceSchema), required=True)


class DeviceQuerySchema(Schema):
    user_id = Text(load_default=None, validate=validate.Length(max=36))


class RevokeSchema(Schema):
    reason = Text(load_default="revoked by an administrator", validate=validate.Length(max=200))
