"""The device's conversation with the server: what every request carries, and what the device
does about the answers that are not the one it asked for.

- Every request carries ``X-SFA-Protocol: 1`` and, once signed in, the bearer access token.
- A dropped connection, a 5xx or a 429 is retried with exponential backoff and full jitter,
  after ``Retry-After`` seconds when the server says so, a bounded number of times.
- ``token_expired`` refreshes the tokens (``POST /api/v1/auth/refresh``) and retries once.
- An error whose ``details.wipe`` is true wipes the store and raises :class:`DeviceWiped`.
- Other errors become the exceptions of :mod:`.errors`, by code.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mobile_protocol.client.errors import (
    DeviceWiped,
    ProtocolUnsupported,
    ResetRequired,
    ServerRefused,
    SignInRequired,
)
from mobile_protocol.client.store import LocalStore
from mobile_protocol.client.transport import Response, Transport, TransportError

PROTOCOL_VERSION = 1
REFRESH_PATH = "/api/v1/auth/refresh"


@dataclass(frozen=True)
class RetryPolicy:
    """How patiently a request is repeated when the network or the server fails.

    Attempt n (from 0) that fails waits a random time in [0, min(max_delay, base_delay * 2**n))
    ("full jitter", so that a thousand phones coming back online do not retry in step), or the
    server's ``Retry-After``; a wait longer than ``max_delay`` is not worth holding the user
    for, so the device gives up instead.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def backoff(self, attempt: int, draw: Callable[[], float]) -> float:
        return draw() * min(self.max_delay, self.base_delay * 2**attempt)


DEFAULT_RETRY = RetryPolicy()


class ServerSession:
    """Sends the device's requests through ``transport`` with the tokens kept in ``store``.
    ``sleep`` and ``draw`` (a uniform number in [0, 1)) are injectable for tests."""

    def __init__(
        self,
        store: LocalStore,
        transport: Transport,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.transport = transport
        self.retry = retry
        self.sleep = sleep
        self.draw = draw

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        signed_in: bool = True,
    ) -> Any:
        """The JSON body of a 2xx answer to the request; raises for anything else, after the
        retries and the token refresh described above. ``signed_in=False`` sends no token."""
        response = self._send_patiently(method, path, params, body, signed_in)
        if signed_in and _code(response) == "token_expired":
            self._refresh_tokens()
            response = self._send_patiently(method, path, params, body, signed_in)
        if response.status >= 300:
            raise self._refusal(response)
        return response.body

    def _refresh_tokens(self) -> None:
        refresh_token = self.store.refresh_token
        if refresh_token is None:
            raise SignInRequired(401, "authentication_required", "not signed in")
        body = {"refresh_token": refresh_token}
        response = self._send_patiently("POST", REFRESH_PATH, None, body, signed_in=False)
        if response.status >= 300:
            raise self._refusal(response)
        self.store.save_tokens(response.body["access_token"], response.body["refresh_token"])

    def _send_patiently(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        signed_in: bool,
    ) -> Response:
        """Sends until an answer that is not transient, or the attempts run out: then returns
        the last transient answer, or raises the last :class:`TransportError`."""
        attempt = 1
        while True:
            try:
                response = self.transport.request(
                    method, path, params=params, body=body, headers=self._headers(signed_in)
                )
            except TransportError:
                if attempt >= self.retry.attempts:
                    raise
                wait = self.retry.backoff(attempt - 1, self.draw)
            else:
                if response.status < 500 and response.status != 429:
                    return response
                wait = _retry_after(response)
                if wait is None:
                    wait = self.retry.backoff(attempt - 1, self.draw)
                if attempt >= self.retry.attempts or wait > self.retry.max_delay:
                    return response
            self.sleep(wait)
            attempt += 1

    def _headers(self, signed_in: bool) -> dict[str, str]:
        headers = {"X-SFA-Protocol": str(PROTOCOL_VERSION)}
        if signed_in and self.store.access_token is not None:
            headers["Authorization"] = f"Bearer {self.store.access_token}"
        return headers

    def _refusal(self, response: Response) -> ServerRefused:
        error, details = _error(response), _details(response)
        code = error.get("code") or f"http_{response.status}"
        args = (response.status, code, error.get("message", ""), details)
        if response.status == 401 and details.get("wipe") is True:
            self.store.wipe()
            return DeviceWiped(*args)
        if code == "unsupported_protocol":
            return ProtocolUnsupported(*args)
        if code in ("reset_required", "invalid_cursor"):
            return ResetRequired(*args)
        if code in ("token_expired", "invalid_token", "authentication_required"):
            return SignInRequired(*args)
        return ServerRefused(*args)


def _error(response: Response) -> dict[str, Any]:
    """The ``error`` object of an error body, or {} when the answer has none."""
    body = response.body if response.status >= 400 else None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _code(response: Response) -> str | None:
    return _error(response).get("code")


def _details(response: Response) -> dict[str, Any]:
    details = _error(response).get("details")
    return details if isinstance(details, dict) else {}


def _retry_after(response: Response) -> float | None:
    """The server's ``Retry-After`` in seconds (the header, else ``details.retry_after``)."""
    value: Any = response.header("Retry-After")
    if value is None:
        value = _details(response).get("retry_after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date, say: fall back to the backoff
