"""A minimal device for engine tests: pulls whole page sets into a dict, pushes mutations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient

PROTOCOL = {"X-SFA-Protocol": "1"}


@dataclass
class SyncDevice:
    client: FlaskClient
    headers: dict[str, str]
    cursor: str | None = None
    records: dict[str, dict[str, dict]] = field(default_factory=dict)
    pages: int = 0

    def pull(self, limit: int = 1000) -> dict[str, dict[str, list]]:
        """One complete pull (all pages), applied to ``records``; returns the merged changes."""
        merged: dict[str, dict[str, list]] = {}
        continuation = None
        while True:
            body = self.pull_page(limit, continuation)
            for entity, change in body["changes"].items():
                bucket = merged.setdefault(entity, {"upserts": [], "removals": []})
                bucket["upserts"] += change["upserts"]
                bucket["removals"] += change["removals"]
            if not body["has_more"]:
                self.cursor = body["cursor"]
                break
            continuation = body["continuation"]
        self.apply(merged)
        return merged

    def pull_page(self, limit: int, continuation: str | None = None) -> dict:
        params = {"limit": limit}
        if self.cursor:
            params["cursor"] = self.cursor
        if continuation:
            params["continuation"] = continuation
        response = self.client.get(
            "/api/v1/sync/pull", query_string=params, headers={**self.headers, **PROTOCOL}
        )
        assert response.status_code == 200, response.get_json()
        self.pages += 1
        return response.get_json()

    def apply(self, changes: dict[str, dict[str, list]]) -> None:
        for entity, change in changes.items():
            table = self.records.setdefault(entity, {})
            for record in change["upserts"]:
                table[record["id"]] = record
            for record_id in change["removals"]:
                table.pop(record_id, None)

    def push(self, *mutations: dict, device_time: str | None = None) -> list[dict]:
        body: dict[str, Any] = {"protocol": 1, "mutations": list(mutations)}
        if device_time:
            body["device_time"] = device_time
        response = self.client.post(
            "/api/v1/sync/push", json=body, headers={**self.headers, **PROTOCOL}
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()["results"]

    def state(self) -> dict[str, dict[str, dict]]:
        """The local records, without tables that are empty."""
        return {entity: table for entity, table in self.records.items() if table}

    def ids(self, entity: str) -> set[str]:
        return set(self.records.get(entity, {}))


def mutation(
    entity: str,
    op: str,
    record_id: str,
    fields: dict | None = None,
    base_revision: int | None = None,
    edited_at: str | None = None,
    mutation_id: str | None = None,
) -> dict:
    found = {
        "id": mutation_id or str(uuid.uuid4()),
        "entity": entity,
        "op": op,
        "record_id": record_id,
        "fields": fields or {},
    }
    if base_revision is not None:
        found["base_revision"] = base_revision
    if edited_at:
        found["edited_at"] = edited_at
    return found


def new_id() -> str:
    return str(uuid.uuid4())
