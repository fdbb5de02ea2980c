"""The field device: it signs in, then synchronises — pushes its queue, pulls until done.

The server's answers are checked against the protocol's JSON Schemas before anything of them
is kept: a page or a push response that breaks the contract raises
:class:`~.errors.ProtocolViolation` and changes nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema.exceptions import best_match

from mobile_protocol.client.errors import ProtocolViolation, ResetRequired, ServerRefused
from mobile_protocol.client.queue import (
    Clock,
    Mutation,
    MutationQueue,
    Rejection,
    utc_now,
    wire_timestamp,
)
from mobile_protocol.client.session import (
    DEFAULT_RETRY,
    PROTOCOL_VERSION,
    RetryPolicy,
    ServerSession,
)
from mobile_protocol.client.store import LocalStore
from mobile_protocol.client.transport import Transport
from mobile_protocol.schemas import validator

LOGIN_PATH = "/api/v1/auth/login"
PULL_PATH = "/api/v1/sync/pull"
PUSH_PATH = "/api/v1/sync/push"
MAX_MUTATIONS_PER_PUSH = 500


@dataclass(frozen=True)
class Conflict:
    """A field of a pushed edit that a conflict policy decided (``winner``: server or
    client); the overruled value also comes back as a ``conflicts`` record on the next pull."""

    entity: str
    record_id: str
    field: str
    policy: str
    winner: str
    server_value: Any
    client_value: Any


@dataclass
class SyncReport:
    """What one sync did. ``pushed`` = applied + merged + rejected + duplicates; a duplicate
    whose original was rejected is also listed in ``rejections``. ``reset`` is true when the
    server asked for a pull from scratch. ``duration`` is in seconds, by the device's clock."""

    pushed: int = 0
    applied: int = 0
    merged: int = 0
    rejected: int = 0
    duplicates: int = 0
    pages: int = 0
    records_upserted: int = 0
    records_removed: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    reset: bool = False
    duration: float = 0.0

    def count(self, status: str) -> None:
        """Counts one push result by its status."""
        self.pushed += 1
        match status:
            case "applied":
                self.applied += 1
            case "merged":
                self.merged += 1
            case "rejected":
                self.rejected += 1
            case "duplicate":
                self.duplicates += 1


class Device:
    """A device with its local ``store`` and its way to the server (``transport``).

    ``clock`` gives the device's time (edits, ``device_time``, durations); ``sleep``, ``draw``
    and ``retry`` shape the retries (see :class:`~.session.RetryPolicy`); ``page_limit`` is the
    number of records asked per pull page.
    """

    def __init__(
        self,
        store: LocalStore,
        transport: Transport,
        *,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
        retry: RetryPolicy = DEFAULT_RETRY,
        page_limit: int = 1000,
    ) -> None:
        self.store = store
        self.queue = MutationQueue(store, clock)
        self.clock = clock
        self.page_limit = page_limit
        self.server = ServerSession(store, transport, retry=retry, sleep=sleep, draw=draw)

    def sign_in(self, email: str, password: str, device_name: str, platform: str) -> dict[str, Any]:
        """Signs in and registers this installation (its ``device_id``, made once and kept in
        the store). Returns the user (``id``, ``name``, ``role``)."""
        answer = self.server.send(
            "POST",
            LOGIN_PATH,
            body={
                "email": email,
                "password": password,
                "device_id": self.store.device_id,
                "device_name": device_name,
                "platform": platform,
            },
            signed_in=False,
        )
        self.store.sign_in(answer["user"], answer["access_token"], answer["refresh_token"])
        return answer["user"]

    def sync(self) -> SyncReport:
        """Pushes the queue (batches of at most 500), then pulls until ``has_more`` is false.

        Raises :class:`~.errors.DeviceWiped` (the store is already wiped),
        :class:`~.errors.SignInRequired`, :class:`~.errors.ProtocolUnsupported`,
        :class:`~.errors.ServerRefused`, :class:`~.errors.ProtocolViolation`, or a
        :class:`~.transport.TransportError` once the retries are spent. Whatever stopped it,
        answered mutations have left the queue and the records are those of the last
        complete pull: the next sync carries on from there.
        """
        started = self.clock()
        report = SyncReport()
        self._push(report)
        self._pull(report)
        report.duration = (self.clock() - started).total_seconds()
        return report

    def _push(self, report: SyncReport) -> None:
        """Pushes the queue in order. When the server finds a push too big, the batch is
        halved (or cut to ``details.max_mutations``); a mutation too big to go even alone is
        rejected on the device, so it cannot block the queue behind it."""
        batch_size = MAX_MUTATIONS_PER_PUSH
        while batch := self.queue.pending(limit=batch_size):
            body = {
                "protocol": PROTOCOL_VERSION,
                "device_time": wire_timestamp(self.clock()),
                "mutations": [mutation.to_wire() for mutation in batch],
            }
            try:
                answer = self.server.send("POST", PUSH_PATH, body=body)
            except ServerRefused as refusal:
                if refusal.code not in ("payload_too_large", "too_many_mutations"):
                    raise
                batch_size = _smaller_batch(len(batch), refusal.details.get("max_mutations"))
                if batch_size == 0:
                    report.count("rejected")
                    report.rejections.append(
                        self.queue.reject_locally(batch[0], refusal.code, refusal.message)
                    )
                    batch_size = MAX_MUTATIONS_PER_PUSH
                continue
            self._settle(batch, answer, report)

    def _settle(self, batch: list[Mutation], answer: Any, report: SyncReport) -> None:
        _check("push-response", answer)
        pushed = {mutation.id: mutation for mutation in batch}
        if [result["id"] for result in answer["results"]] != list(pushed):
            raise ProtocolViolation("the push response does not answer each mutation in order")
        report.rejections.extend(self.queue.settle(answer["results"]))
        for result in answer["results"]:
            report.count(result["status"])
            mutation = pushed[result["id"]]
            for conflict in result.get("original", result).get("conflicts", []):
                report.conflicts.append(Conflict(mutation.entity, mutation.record_id, **conflict))

    def _pull(self, report: SyncReport) -> None:
        """Pulls until done. When the server refuses the cursor (``reset_required``,
        ``invalid_cursor``), the device forgets the server's records and its cursor, keeps its
        queue, and pulls from scratch."""
        try:
            self._pull_pages(report)
        except ResetRequired:
            self.store.forget_server_state()
            report.reset = True
            self._pull_pages(report)

    def _pull_pages(self, report: SyncReport) -> None:
        """Pulls from the stored cursor, staging each page until the last, then applies them
        all in one local transaction with the new cursor. Pages left staged by a pull that
        never finished are dropped first: it starts again from the stored cursor, which gives
        the same result and includes what this sync has just pushed."""
        self.store.discard_staged_pages()
        params = {"cursor": self.store.cursor, "limit": self.page_limit, "continuation": None}
        while True:
            page = self.server.send("GET", PULL_PATH, params=params)
            _check("pull-response", page)
            report.pages += 1
            if not page["has_more"]:
                upserted, removed = self.store.apply_pull(page["changes"], page["cursor"])
                report.records_upserted += upserted
                report.records_removed += removed
                return
            self.store.stage_page(page["changes"])
            params["continuation"] = page["continuation"]


def _smaller_batch(size: int, max_mutations: Any) -> int:
    if isinstance(max_mutations, int) and 0 < max_mutations < size:
        return max_mutations
    return size // 2


def _check(schema: str, message: Any) -> None:
    error = best_match(validator(schema).iter_errors(message))
    if error is not None:
        raise ProtocolViolation(f"{schema}: {error.message} (at {error.json_path})")
