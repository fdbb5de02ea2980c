"""The webhook adapter: each event is POSTed as JSON to the ERP's URL, signed.

Headers: ``Idempotency-Key: <event id>`` (stable across retries), ``X-SFA-Event: <type>``,
``X-SFA-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
Any 2xx means delivered. 408, 429, 5xx, a timeout or a broken connection are retried; any
other answer (a 4xx: the ERP refuses this event as it is) will not change by retrying, so the
event is dead-lettered at once for someone to look at.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sfa.erp.adapters.base import Delivery, DeliveryFailed

RETRYABLE_STATUSES = frozenset({408, 425, 429})


def signature(secret: str, body: bytes, at: int) -> str:
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def check_signature(
    secret: str, header: str, body: bytes, now: float, tolerance: int
) -> str | None:
    """None if ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of
    ``now``; otherwise the reason (``invalid_signature`` or ``stale_signature``)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or not given:
        return "invalid_signature"
    expected = signature(secret, body, int(stamp)).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        return "invalid_signature"
    if abs(now - int(stamp)) > tolerance:
        return "stale_signature"
    return None


class WebhookAdapter:
    """One keep-alive connection per adapter (one adapter per dispatcher thread)."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        if not secret:
            raise ValueError("the webhook needs a signing secret (SFA_ERP_WEBHOOK_SECRET)")
        self.url, self.secret, self.timeout, self.clock = url, secret, timeout, clock
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connection: http.client.HTTPConnection | None = None

    def deliver(self, delivery: Delivery) -> None:
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.event_id,
            "X-SFA-Event": delivery.event_type,
            "X-SFA-Signature": signature(self.secret, delivery.body, int(self.clock())),
        }
        for attempt in (1, 2):  # a keep-alive connection the receiver closed: one new one
            connection = self._connect()
            try:
                connection.request("POST", self._path, body=delivery.body, headers=headers)
                response = connection.getresponse()
                response.read()
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                self.close()
                stale = isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError)
                if attempt == 1 and stale:
                    continue
                raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            if 200 <= response.status < 300:
                return
            retryable = response.status >= 500 or response.status in RETRYABLE_STATUSES
            raise DeliveryFailed(f"HTTP {response.status} {response.reason}", retryable=retryable)

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            self._connection = kind(self._host, self._port, timeout=self.timeout)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def from_config(config: Mapping[str, Any]) -> WebhookAdapter:
    url = config.get("ERP_WEBHOOK_URL")
    if not url:
        raise ValueError("SFA_ERP_WEBHOOK_URL is not set")
    return WebhookAdapter(
        url,
        config.get("ERP_WEBHOOK_SECRET") or "",
        timeout=float(config.get("ERP_DELIVERY_TIMEOUT_SECONDS") or 10),
    )
