"""How the device reaches the server: one JSON request, one response.

The device speaks to a :class:`Transport`; :class:`HttpTransport` is the real one (the standard
library's ``urllib``), and tests put an in-memory server behind the same interface.
"""

from __future__ import annotations

import gzip
import http.client
import json
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode


class TransportError(Exception):
    """The request got no usable answer: no connection, a timeout, a cut or garbled response.
    The server may or may not have acted on it, so only idempotent requests are re-sent (every
    request of the protocol is: pulls read, and pushed mutations carry their ids)."""


@dataclass(frozen=True)
class Response:
    """An HTTP answer: ``body`` is the decoded JSON (or None when there was none, or an error
    page that was not JSON)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


class Transport(Protocol):
    """Sends one request to the server.

    ``path`` starts with ``/api/v1/``; ``params`` with a None value are left out of the query;
    ``body`` is sent as JSON. Every HTTP status comes back as a :class:`Response`; only the
    failure to get one raises :class:`TransportError`.
    """

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response: ...


class HttpTransport:
    """JSON over HTTP(S) with ``urllib``; asks for gzip and decodes it."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        request = urllib.request.Request(
            self._url(path, params),
            data=None if body is None else json.dumps(body).encode("utf-8"),
            method=method,
            headers=request_headers(body, headers),
        )
        try:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    return read_response(reply.status, reply.headers, reply.read())
            except urllib.error.HTTPError as error:  # a 4xx/5xx is an answer, not a failure
                with error:
                    return read_response(error.code, error.headers, error.read())
        except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
            raise TransportError(f"{method} {path}: {error}") from error

    def _url(self, path: str, params: Mapping[str, Any] | None) -> str:
        query = {name: value for name, value in (params or {}).items() if value is not None}
        return self.base_url + path + (f"?{urlencode(query)}" if query else "")


def request_headers(body: Any, headers: Mapping[str, str] | None) -> dict[str, str]:
    """The headers every transport sends: JSON wanted, gzip accepted, the caller's on top."""
    return {
        "Accept": "application/json",
        "Accept-Encoding": "gzip",
        **({} if body is None else {"Content-Type": "application/json"}),
        **(headers or {}),
    }


def read_response(status: int, headers: Mapping[str, str], raw: bytes) -> Response:
    """The answer as the device sees it: header names in lower case, the body gunzipped when
    ``Content-Encoding`` says so and read as JSON. An unreadable error body becomes None (the
    status says enough); an unreadable success is a :class:`TransportError`."""
    names = {name.lower(): value for name, value in headers.items()}
    try:
        if names.get("content-encoding", "").lower() == "gzip":
            raw = gzip.decompress(raw)
        body = json.loads(raw) if raw else None
    except (OSError, EOFError, zlib.error, ValueError) as error:
        if status < 400:
            raise TransportError(f"unreadable response ({status}): {error}") from error
        body = None  # an error page from a proxy: the status says enough
    return Response(status, names, body)
