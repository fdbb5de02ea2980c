"""Deny-by-default access control, run before every request."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request

from sfa.auth import services as auth_services
from sfa.auth.principal import Principal
from sfa.db import db
from sfa.errors import BadRequest, Forbidden, PayloadTooLarge, Unauthorized


def current_principal() -> Principal:
    """The authenticated caller of this request (routes that are not public only)."""
    return g.principal


def current_user_id() -> str:
    """Who the audit trail names for this request's changes."""
    return g.principal.user_id


def reject_nul_characters() -> None:
    """A NUL in the path or query is never meaningful, and PostgreSQL cannot compare text
    with one: refuse it up front (bodies are checked field by field by the schemas)."""
    query = request.query_string
    if "\x00" in request.path or b"%00" in query or b"\x00" in query:
        raise BadRequest("the URL contains a NUL character", code="invalid_characters")


def enforce_access() -> Response | None:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if view is None:
        return None  # routing already failed: 404 or 405 follows
    roles = getattr(view, "access_roles", None)
    if roles is None:
        raise Forbidden("this route declares no access policy")
    spec = getattr(view, "endpoint_spec", None)
    if spec is not None and spec.max_body is not None:
        limit = spec.max_body
        request.max_content_length = current_app.config[limit] if isinstance(limit, str) else limit
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes", details={"limit_bytes": limit})
    if not roles:
        return None
    if spec is not None and spec.fast_lane is not None:
        answer = spec.fast_lane(roles)
        if answer is not None:  # answered, the caller authenticated by the lane itself
            return answer
    if spec is not None and spec.snapshot and db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        db.session.info["snapshot"] = True
    principal = _authenticate()
    if principal.role not in roles:
        raise Forbidden("your role may not call this route", details={"role": principal.role})
    g.principal = principal
    return None


def _authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer access token is required", code="authentication_required")
    return auth_services.authenticate(db.session, token.strip())


def check_routes_declare_access(app: Flask) -> None:
    """Refuse to start an app with a route that states no access policy."""
    missing = [
        name
        for name, view in app.view_functions.items()
        if name != "static" and getattr(view, "access_roles", None) is None
    ]
    if missing:
        raise RuntimeError(f"routes without an access policy: {sorted(missing)}")
