"""The reference client's way to the server when the server runs in this process.

:class:`InProcessTransport` implements ``mobile_protocol.client.Transport`` over a Flask test
client: the same requests as :class:`~mobile_protocol.client.HttpTransport` (JSON bodies, the
caller's headers, ``Accept-Encoding: gzip``), the same decoding of the answers (gzip when the
server says so), and no sockets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Flask

from mobile_protocol.client import Response
from mobile_protocol.client.transport import read_response, request_headers


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
            headers=request_headers(body, headers),
        )
        return read_response(reply.status_code, dict(reply.headers), reply.get_data())
