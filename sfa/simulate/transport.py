"""The reference client's way to the server when the server runs in this process.

:class:`InProcessTransport` implements ``mobile_protocol.client.Transport`` over a Flask test
client: the same requests as :class:`~mobile_protocol.client.HttpTransport` (JSON bodies, the
caller's headers, ``Accept-Encoding: gzip``), the same decoding of the answers (gzip when the
server says so), and no sockets.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Mapping
from typing import Any

from flask import Flask

from mobile_protocol.client import Response, TransportError


class InProcessTransport:
    """Requests answered by ``app`` through its test client. Every HTTP status comes back as a
    :class:`Response`; a success whose body cannot be read raises :class:`TransportError`, as
    over HTTP. An exception escaping the app is a server bug and is not caught."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        query = {name: value for name, value in (params or {}).items() if value is not None}
        reply = self.client.open(
            path,
            method=method,
            query_string=query,
            data=None if body is None else json.dumps(body).encode("utf-8"),
            headers={
                "Accept": "application/json",
                "Accept-Encoding": "gzip",
                **({} if body is None else {"Content-Type": "application/json"}),
                **(headers or {}),
            },
        )
        return decoded_response(reply.status_code, dict(reply.headers), reply.get_data())


def decoded_response(status: int, headers: Mapping[str, str], raw: bytes) -> Response:
    """The answer as the device sees it: header names in lower case, the body gunzipped when
    ``Content-Encoding`` is gzip and read as JSON. An unreadable error body becomes None (the
    status says enough); an unreadable success is a :class:`TransportError`."""
    names = {name.lower(): value for name, value in headers.items()}
    try:
        if names.get("content-encoding", "").lower() == "gzip":
            raw = gzip.decompress(raw)
        body = json.loads(raw) if raw else None
    except (OSError, EOFError, zlib.error, ValueError) as error:
        if status < 400:
            raise TransportError(f"unreadable response ({status}): {error}") from error
        body = None
    return Response(status, names, body)
