"""Domain errors. Each carries the HTTP status, a stable machine-readable code, a message for
people, and details for programs. The HTTP layer turns any of them into the one error body
``{"error": {"code", "message", "details"}}``; the CLI prints them. Device apps branch on
``code``, so codes never change meaning once published (see docs/errors.md)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class ValidationFailed(DomainError):
    """Input that parsed but breaks the contract. ``details["errors"]`` lists every problem
    as ``{"path": "accounts[12].territory", "message": "..."}``."""

    status = 422
    code = "validation_failed"

    def __init__(self, errors: list[dict[str, str]], message: str | None = None) -> None:
        count = len(errors)
        super().__init__(
            message or f"{count} validation error{'s' if count != 1 else ''}",
            details={"errors": errors},
        )
        self.errors = errors


class Throttled(DomainError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(DomainError):
    status = 503
    code = "service_unavailable"


def flatten_messages(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turn marshmallow's nested error messages into ``[{"path", "message"}]`` with paths like
    ``accounts[12].territory``."""
    found: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix or "$"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            found.extend(flatten_messages(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        found.extend({"path": prefix or "$", "message": m} for m in messages)
    elif isinstance(messages, list):
        for item in messages:
            found.extend(flatten_messages(item, prefix))
    else:
        found.append({"path": prefix or "$", "message": str(messages)})
    return found
