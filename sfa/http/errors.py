"""One error body for every 4xx and 5xx: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, g
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from sfa.db import is_retryable
from sfa.errors import DomainError, Throttled

log = logging.getLogger("sfa.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    411: "length_required",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    431: "headers_too_large",
}


def error_response(status: int, code: str, message: str, details: dict[str, Any]) -> Response:
    body = {"error": {"code": code, "message": message, "details": details}}
    response = current_app.json.response(body)
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        if isinstance(exc, Throttled):
            response.headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = _HTTP_CODES.get(status, f"http_{status}")
        details: dict[str, Any] = {}
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            details["allowed"] = sorted(exc.valid_methods)  # type: ignore[attr-defined]
        if status == 413 and current_app:
            from flask import request

            details["limit_bytes"] = request.max_content_length
        message = exc.description or code.replace("_", " ")
        response = error_response(status, code, message, details)
        if status == 405 and details.get("allowed"):
            response.headers["Allow"] = ", ".join(details["allowed"])
        return response

    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError) -> Response:
        if is_retryable(exc):
            log.warning("transaction kept losing races; asking the client to retry")
            response = error_response(
                503, "busy", "the server is busy; retry shortly", {"retry_after": 1}
            )
            response.headers["Retry-After"] = "1"
            return response
        return _internal(exc)

    @app.errorhandler(Exception)
    def _internal(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(
            500,
            "internal_error",
            "the server failed to handle this request; it has been logged",
            {"request_id": g.get("request_id")},
        )
