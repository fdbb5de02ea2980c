from __future__ import annotations

from flask import Blueprint, current_app, request

from sfa.auth import services
from sfa.auth.schemas import LoginSchema, MeSchema, RefreshSchema, TokenSchema
from sfa.db import db
from sfa.http.access import current_principal
from sfa.http.endpoints import ALL_ROLES, PUBLIC, endpoint

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


def auth_settings() -> services.AuthSettings:
    return current_app.extensions["sfa.auth"]


@endpoint(
    bp,
    "/login",
    method="POST",
    roles=PUBLIC,
    summary="Sign in from a device; registers the device and returns tokens",
    body=LoginSchema(),
    response=TokenSchema(),
    max_body=16 * 1024,
)
def login(body: dict):
    return services.login(
        db.session,
        auth_settings(),
        email=body["email"],
        password=body["password"],
        device_uid=body["device_id"],
        device_name=body["device_name"],
        platform=body["platform"],
        address=request.remote_addr or "unknown",
    )


@endpoint(
    bp,
    "/refresh",
    method="POST",
    roles=PUBLIC,
    summary="Exchange a refresh token for a new token pair (the old one is spent)",
    body=RefreshSchema(),
    response=TokenSchema(),
    max_body=16 * 1024,
)
def refresh(body: dict):
    return services.refresh(db.session, auth_settings(), body["refresh_token"])


@endpoint(
    bp, "/logout", method="POST", roles=ALL_ROLES, summary="End this device's session", status=204
)
def logout():
    services.logout(db.session, current_principal().device_id)
    return current_app.response_class(status=204)


@endpoint(bp, "/me", roles=ALL_ROLES, summary="Who the token belongs to", response=MeSchema())
def me():
    return current_principal()
