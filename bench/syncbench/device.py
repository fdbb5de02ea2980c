"""A simulated field device speaking protocol 1 over one keep-alive HTTP connection.

It keeps what a real device keeps that matters here: its cursor, and the revision of each
account it holds (to send as ``base_revision``). Every exchange is timed from sending the
request to reading the last byte of the response; bytes are counted as they came on the wire
(compressed when the server compressed them).
"""

from __future__ import annotations

import gzip
import http.client
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from syncbench.dataset import PASSWORD

PROTOCOL_HEADERS = {"X-SFA-Protocol": "1", "Accept-Encoding": "gzip"}


class ServerRefused(RuntimeError):
    pass


@dataclass
class Exchange:
    status: int
    body: dict
    seconds: float  # request sent -> last byte read
    wire_bytes: int
    json_bytes: int


@dataclass
class PullResult:
    pages: int = 0
    records: int = 0
    by_entity: dict[str, int] = field(default_factory=dict)
    wire_bytes: int = 0
    json_bytes: int = 0
    request_seconds: float = 0.0  # the sum of the requests' round trips
    seconds: float = 0.0  # the whole pull, as the device saw it (decoding included)
    server_seconds: float = 0.0  # the app's own handling time, when measured
    cursor: str | None = None


def wire_time(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Device:
    def __init__(self, port: int, email: str, device_id: str) -> None:
        self.port, self.email, self.device_id = port, email, device_id
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.token: str | None = None
        self.cursor: str | None = None
        self.accounts: dict[str, int] = {}  # account id -> revision
        self.numbers = random.Random()  # phone numbers differ from run to run

    def close(self) -> None:
        self.connection.close()

    def exchange(self, method: str, path: str, payload: dict | None = None) -> Exchange:
        headers = dict(PROTOCOL_HEADERS)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if payload is not None:
            data = json.dumps(payload, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):  # a keep-alive connection the server closed: open a new one
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if attempt == 2:
                    raise
        seconds = time.perf_counter() - started
        text = gzip.decompress(raw) if response.getheader("Content-Encoding") == "gzip" else raw
        body = json.loads(text) if text else {}
        if response.status >= 400:
            raise ServerRefused(f"{method} {path.split('?')[0]}: {response.status} {body}")
        return Exchange(response.status, body, seconds, len(raw), len(text))

    def sign_in(self) -> None:
        body = self.exchange(
            "POST",
            "/api/v1/auth/login",
            {
                "email": self.email,
                "password": PASSWORD,
                "device_id": self.device_id,
                "device_name": f"bench {self.device_id}",
                "platform": "android",
            },
        ).body
        self.token = body["access_token"]

    def pull(self, limit: int = 5000, *, from_start: bool = False) -> PullResult:
        """Pull until ``has_more`` is false, from the stored cursor (or from nothing)."""
        result = PullResult()
        cursor = None if from_start else self.cursor
        continuation = None
        started = time.perf_counter()
        while True:
            query = {"limit": limit}
            if cursor:
                query["cursor"] = cursor
            if continuation:
                query["continuation"] = continuation
            page = self.exchange("GET", f"/api/v1/sync/pull?{urlencode(query)}")
            result.pages += 1
            result.wire_bytes += page.wire_bytes
            result.json_bytes += page.json_bytes
            result.request_seconds += page.seconds
            self._take(page.body["changes"], result)
            if not page.body["has_more"]:
                break
            continuation = page.body["continuation"]
        result.seconds = time.perf_counter() - started
        self.cursor = result.cursor = page.body["cursor"]
        return result

    def watermelon_pull(self, last_pulled_at: int | None = None) -> PullResult:
        """One WatermelonDB pull (the whole answer in one response, as the protocol has it)."""
        query = {"last_pulled_at": last_pulled_at or "null", "schema_version": 1}
        started = time.perf_counter()
        page = self.exchange("GET", f"/api/v1/watermelon/pull?{urlencode(query)}")
        result = PullResult(pages=1, wire_bytes=page.wire_bytes, json_bytes=page.json_bytes)
        result.request_seconds = page.seconds
        for table, change in page.body["changes"].items():
            count = sum(len(items) for items in change.values())
            if count:
                result.by_entity[table] = count
                result.records += count
        result.seconds = time.perf_counter() - started
        result.cursor = str(page.body["timestamp"])
        return result

    def _take(self, changes: dict, result: PullResult) -> None:
        for entity, delta in changes.items():
            count = len(delta["upserts"]) + len(delta["removals"])
            result.by_entity[entity] = result.by_entity.get(entity, 0) + count
            result.records += count
        accounts = changes.get("accounts")
        if accounts:
            for record in accounts["upserts"]:
                self.accounts[record["id"]] = record["revision"]
            for removed in accounts["removals"]:
                self.accounts.pop(removed, None)

    def phone_edits(self, account_ids: list[str]) -> list[dict]:
        """One ``update`` of ``phone`` per account (a new number), against the revision the
        device holds."""
        now = wire_time()
        return [
            {
                "id": str(uuid.uuid4()),
                "entity": "accounts",
                "op": "update",
                "record_id": account_id,
                "base_revision": self.accounts[account_id],
                "fields": {"phone": f"+57 604 {self.numbers.randrange(10_000_000):07d}"},
                "edited_at": now,
            }
            for account_id in account_ids
        ]

    def push(self, mutations: list[dict]) -> Exchange:
        sent = self.exchange(
            "POST",
            "/api/v1/sync/push",
            {"protocol": 1, "device_time": wire_time(), "mutations": mutations},
        )
        for result in sent.body["results"]:
            outcome = result.get("original", result)  # a retried push: the stored result
            if outcome["status"] not in ("applied", "merged"):
                raise ServerRefused(f"a mutation was not applied: {result}")
            self.accounts[outcome["record_id"]] = outcome["revision"]
        return sent
