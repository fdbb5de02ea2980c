"""Opaque, signed pull cursors and continuation tokens.

A cursor says what the device holds: the upper bound of its last complete pull, the hash of the
scope (set of territories) it was issued for, and when. A continuation token says where an
unfinished pull stands. Both are signed with the server's secret, so a device can neither forge
nor edit them, and a cursor from another server is refused.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import orjson

from sfa.errors import BadRequest


@dataclass(frozen=True)
class Cursor:
    backend: str
    bound: str
    scope: str  # scope hash
    issued_at: int  # epoch seconds


@dataclass(frozen=True)
class Continuation:
    backend: str
    lower: str | None
    prev_scope: str | None
    upper: str
    scope: str
    stream: int
    after: str | None
    started_at: int
    hops: int = 0


def _sign(secret: str, payload: bytes) -> str:
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


_FIELDS = {
    kind: tuple(field.name for field in dataclasses.fields(cls))
    for kind, cls in (("cursor", Cursor), ("continuation", Continuation))
}


def encode(secret: str, kind: str, value: Cursor | Continuation) -> str:
    fields = {"k": kind}
    fields.update((name, getattr(value, name)) for name in _FIELDS[kind])
    payload = orjson.dumps(fields)
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_sign(secret, payload)}"


def decode(secret: str, kind: str, token: str) -> Any:
    """The cursor or continuation in ``token``; 400 ``invalid_cursor`` if it was not issued by
    this server for this purpose."""
    try:
        body, signature = token.split(".", 1)
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if not hmac.compare_digest(signature, _sign(secret, payload)):
            raise ValueError("bad signature")
        fields = orjson.loads(payload)
        if fields.pop("k") != kind:
            raise ValueError("wrong kind")
        return (Cursor if kind == "cursor" else Continuation)(**fields)
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as exc:
        raise BadRequest(
            f"this {kind} was not issued by this server; pull again from the start",
            code="invalid_cursor",
            details={"reason": str(exc)[:100]},
        ) from None
