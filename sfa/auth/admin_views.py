from __future__ import annotations

from flask import Blueprint, current_app

from sfa.auth import services, users
from sfa.auth.schemas import (
    DeviceListSchema,
    DeviceQuerySchema,
    DeviceSchema,
    RevokeSchema,
    UserCreateSchema,
    UserListSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from sfa.db import db
from sfa.http.endpoints import ADMIN_ONLY, endpoint

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")


def _hasher():
    return current_app.extensions["sfa.auth"].hasher


@endpoint(
    bp,
    "/users",
    roles=ADMIN_ONLY,
    summary="List users",
    query=UserQuerySchema(),
    response=UserListSchema(),
)
def list_users(query: dict):
    return {"items": users.list_users(db.session, query["role"])}


@endpoint(
    bp,
    "/users",
    method="POST",
    roles=ADMIN_ONLY,
    summary="Create a user",
    body=UserCreateSchema(),
    response=UserSchema(),
    status=201,
)
def create_user(body: dict):
    return users.create_user(db.session, _hasher(), **body)


@endpoint(
    bp,
    "/users/<user_id>",
    method="PATCH",
    roles=ADMIN_ONLY,
    summary="Change a user's name, role, password or active flag",
    body=UserUpdateSchema(),
    response=UserSchema(),
)
def update_user(user_id: str, body: dict):
    return users.update_user(db.session, _hasher(), user_id, **body)


@endpoint(
    bp,
    "/devices",
    roles=ADMIN_ONLY,
    summary="List devices",
    query=DeviceQuerySchema(),
    response=DeviceListSchema(),
)
def list_devices(query: dict):
    return {"items": services.list_devices(db.session, query["user_id"])}


@endpoint(
    bp,
    "/devices/<device_id>/revoke",
    method="POST",
    roles=ADMIN_ONLY,
    summary="Revoke a lost device: its next request is told to wipe local data",
    body=RevokeSchema(),
    body_required=False,
    response=DeviceSchema(),
)
def revoke_device(device_id: str, body: dict):
    return services.revoke_device(db.session, device_id, reason=body["reason"])


@endpoint(
    bp,
    "/devices/<device_id>/restore",
    method="POST",
    roles=ADMIN_ONLY,
    summary="Let a revoked device sign in again",
    response=DeviceSchema(),
)
def restore_device(device_id: str):
    return services.restore_device(db.session, device_id)
