"""The native protocol's envelope: version negotiation and compressed responses."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
from flask import Response, request

from sfa.errors import BadRequest
from sfa.http.json import _default as wire_default

SUPPORTED = (1,)


def check_protocol_version() -> int:
    """The protocol version the device speaks (``X-SFA-Protocol``; absent means 1)."""
    raw = request.headers.get("X-SFA-Protocol", "1").strip()
    if not raw.isdigit() or int(raw) not in SUPPORTED:
        raise BadRequest(
            f"protocol version {raw!r} is not supported; update the app",
            code="unsupported_protocol",
            details={"supported": list(SUPPORTED)},
        )
    return int(raw)


def sync_response(body: dict[str, Any]) -> Response:
    """JSON, gzip-compressed when the device accepts it."""
    raw = orjson.dumps(body, default=wire_default)
    response = Response(content_type="application/json")
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(raw) > 1024:
        response.set_data(gzip.compress(raw, compresslevel=1))  # 2x faster than 5, ~20% larger
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
    else:
        response.set_data(raw)
    return response
