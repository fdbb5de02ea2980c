"""Declaring a route: who may call it, what it takes, what it returns.

Every view is registered through :func:`endpoint` (JSON API) or carries an access policy
set by :func:`page` (HTML). The app refuses to start if a route has neither, and a request
to a route without one is denied: access is deny-by-default. The same declaration feeds the
OpenAPI document, so the contract is written once, in marshmallow schemas.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, request
from marshmallow import Schema, ValidationError

from sfa.db import db, run_with_retry
from sfa.errors import BadRequest, ValidationFailed, flatten_messages

ALL_ROLES = frozenset({"rep", "manager", "admin", "erp"})
ADMIN_ONLY = frozenset({"admin"})
PUBLIC: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EndpointSpec:
    rule: str
    method: str
    roles: frozenset[str]  # PUBLIC (empty) means no authentication
    summary: str
    tag: str
    body: Schema | None = None
    query: Schema | None = None
    response: Schema | None = None
    status: int = 200
    max_body: int | str | None = None  # bytes, or the config key that holds them
    raw_body: bool = False
    body_required: bool = True
    snapshot: bool = False  # one REPEATABLE READ transaction for the whole request (PostgreSQL)
    # answers the commonest request itself, authenticating inside its one statement; returns
    # None to leave the request to the full path (see sfa.http.access)
    fast_lane: Callable[[frozenset[str]], Response | None] | None = None

    @property
    def public(self) -> bool:
        return not self.roles


def endpoint(
    bp: Blueprint,
    rule: str,
    *,
    method: str = "GET",
    roles: frozenset[str] | set[str],
    summary: str,
    body: Schema | None = None,
    query: Schema | None = None,
    response: Schema | None = None,
    status: int = 200,
    max_body: int | str | None = None,
    raw_body: bool = False,
    body_required: bool = True,
    snapshot: bool = False,
    fast_lane: Callable[[frozenset[str]], Response | None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a JSON endpoint on ``bp``.

    The view receives its path arguments, plus ``body`` and/or ``query`` already loaded by
    their schemas (unknown fields rejected). It returns a value that ``response`` dumps, or a
    ready :class:`flask.Response`. Views of write methods are run again (after a rollback)
    when their transaction loses a serialization race. ``raw_body`` hands the view the parsed
    JSON unvalidated (for documents the feature validates itself, reporting every error with
    its location).
    With ``body_required=False`` an empty body loads as ``{}``. ``snapshot`` opens the
    request's transaction at REPEATABLE READ before authentication, so a read that needs one
    snapshot (a sync pull) shares its transaction with the token check. ``fast_lane`` is
    offered the request first, with the route's roles; it may answer it only after
    authenticating the caller and checking the role itself, and returns None otherwise.
    """
    spec = EndpointSpec(
        rule=rule,
        method=method,
        roles=frozenset(roles),
        summary=summary,
        tag=bp.name,
        body=body,
        query=query,
        response=response,
        status=status,
        max_body=max_body,
        raw_body=raw_body,
        body_required=body_required,
        snapshot=snapshot,
        fast_lane=fast_lane,
    )

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(**path_args: Any) -> Any:
            kwargs = dict(path_args)
            if spec.query is not None:
                kwargs["query"] = load(spec.query, request.args.to_dict(flat=True))
            if spec.raw_body:
                kwargs["body"] = read_json_body()
            elif spec.body is not None:
                empty = not spec.body_required and not request.get_data(cache=True)
                kwargs["body"] = load(spec.body, {} if empty else read_json_body())
            if spec.method == "GET":
                result = fn(**kwargs)
            else:  # a write that lost a race (serialization failure, deadlock) runs again
                attempts = current_app.config["DB_RETRY_ATTEMPTS"]
                result = run_with_retry(db.session, lambda: fn(**kwargs), attempts)
            if isinstance(result, Response):
                return result
            payload = spec.response.dump(result) if spec.response is not None else result
            return current_app.json.response(payload), spec.status

        view.endpoint_spec = spec  # type: ignore[attr-defined]
        view.access_roles = spec.roles  # type: ignore[attr-defined]
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        return view

    return decorate


def page(roles: frozenset[str] | set[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the access policy of a non-JSON view (HTML pages, plain-text exports)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.access_roles = frozenset(roles)  # type: ignore[attr-defined]
        return fn

    return decorate


def read_json_body() -> Any:
    """The request body as JSON; malformed or empty bodies are a 400 with a stable code."""
    data = request.get_data(cache=True)
    if not data:
        raise BadRequest("request body is empty; a JSON document is expected", code="empty_body")
    try:
        return parse_json(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(
            "request body is not valid JSON",
            code="malformed_json",
            details={"reason": str(exc)[:200]},
        ) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(data: bytes | str) -> Any:
    """Strict JSON: decimals parse exactly (``Decimal``, never binary floats); NaN and
    Infinity are refused."""
    return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)


def load(schema: Schema, payload: Any) -> Any:
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise ValidationFailed(flatten_messages(exc.messages)) from None
    except RecursionError:
        raise BadRequest("document nested too deeply", code="malformed_json") from None
