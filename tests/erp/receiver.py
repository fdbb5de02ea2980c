"""A local ERP webhook receiver for tests and benchmarks: books each event once by its
Idempotency-Key, checks the signature, and can be told to fail, to be slow, or to refuse one
order's events for good."""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sfa.erp.adapters.webhook import check_signature

TIMED_OUT = 0  # the status logged for a call held until the sender gave up


@dataclass
class Behaviour:
    failure_rate: float = 0.0  # share of calls answered 503 (or timed out, see slow_rate)
    slow_rate: float = 0.0  # share of calls held longer than the sender's timeout
    slow_seconds: float = 0.0
    poison_orders: set[str] = field(default_factory=set)  # always answered 500
    seed: int = 7
    latency_seconds: float = 0.0  # every answer waits this long (after booking, as an ERP may)
    max_failures_in_a_row: int | None = None  # then the next call of that event succeeds


@dataclass
class Received:
    event_id: str
    event_type: str
    order_id: str
    body: dict
    at: float


class Receiver:
    """Use as a context manager. ``clock`` stamps the log (a test may drive it)."""

    def __init__(
        self,
        secret: str,
        behaviour: Behaviour | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret
        self.behaviour = behaviour or Behaviour()
        self.clock = clock
        self.rng = random.Random(self.behaviour.seed)
        self.lock = threading.Lock()
        self.booked: dict[str, Received] = {}  # by idempotency key: what the ERP books
        self.calls: list[tuple[float, str, int]] = []  # (time, key, status answered)
        self.bad_signatures = 0
        self.incomplete = 0  # requests cut off before their whole body came
        self._failures_in_a_row: dict[str, int] = {}
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/erp/orders"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:  # noqa: ANN002
        self.server.shutdown()
        self.server.server_close()

    def attempts(self, key: str) -> list[tuple[float, int]]:
        """(time, status) of every call that carried ``key``, in the order they came."""
        with self.lock:
            return [(at, status) for at, called, status in self.calls if called == key]

    def accepted_again(self) -> int:
        """Calls answered 2xx for an event that was already booked: the resends the
        Idempotency-Key turned into no-ops."""
        with self.lock:
            return sum(1 for _, _, status in self.calls if status == 200) - len(self.booked)

    def handle(self, headers, raw: bytes) -> int | None:  # noqa: ANN001
        """The status to answer, or None to hold the call past the sender's timeout."""
        key = headers.get("Idempotency-Key", "")
        if check_signature(self.secret, headers.get("X-SFA-Signature", ""), raw, time.time(), 300):
            with self.lock:
                self.bad_signatures += 1
                self.calls.append((self.clock(), key, 401))
            return 401
        body = json.loads(raw)
        with self.lock:
            status = self._decide(key, body["order"]["id"])
            if status == 200:
                self.booked.setdefault(
                    key,
                    Received(
                        key, headers.get("X-SFA-Event", ""), body["order"]["id"], body, self.clock()
                    ),
                )
            self.calls.append((self.clock(), key, TIMED_OUT if status is None else status))
        return status

    def _decide(self, key: str, order_id: str) -> int | None:
        behaviour = self.behaviour
        if order_id in behaviour.poison_orders:
            return 500
        roll = self.rng.random()
        failed = self._failures_in_a_row.get(key, 0)
        if (
            behaviour.max_failures_in_a_row is not None
            and failed >= behaviour.max_failures_in_a_row
        ):
            roll = 1.0
        if roll < behaviour.slow_rate + behaviour.failure_rate:
            self._failures_in_a_row[key] = failed + 1
            return None if roll < behaviour.slow_rate else 503
        self._failures_in_a_row.pop(key, None)
        return 200


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog is 5: a dispatcher opening 8 connections at once on a
    # busy machine could be refused one, which the test would take for a missed delivery
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        """A sender that hung up (timed out, or was killed) is expected here: say nothing."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:  # noqa: ANN002
            pass

        def do_POST(self) -> None:  # noqa: N802
            expected = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(expected)
            if len(raw) < expected:  # the sender died mid-request: nothing to answer
                with receiver.lock:
                    receiver.incomplete += 1
                self.close_connection = True
                return
            status = receiver.handle(self.headers, raw)
            if status is None:  # hold the line until the sender gives up
                time.sleep(receiver.behaviour.slow_seconds)
                status = 503
            elif receiver.behaviour.latency_seconds:
                time.sleep(receiver.behaviour.latency_seconds)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
