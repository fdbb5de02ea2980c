"""A fake sync server: the server side of protocol 1 in memory, behind the client's Transport.

Small but faithful where the device can tell: pages with a continuation and a cursor from a
change log, push results (applied, merged with conflicts, rejected, duplicate), rotating
tokens, revocation, expired cursors, and faults injected on chosen calls. Every push request
it receives must conform to ``push-request.json``; the tests at the bottom check that its own
answers conform to the schemas, so the device tests exercise the real contract.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from mobile_protocol.client import Response, TransportError
from mobile_protocol.schemas import ENTITIES, validator

EMAIL, PASSWORD = "rep01@example.com", "field-force-2026"
NOW = "2026-11-23T14:05:09.120Z"
REP = {"id": "u-rep01", "name": "Rep 01", "role": "rep"}

# fmt: off
DEFAULTS: dict[str, dict[str, Any]] = {
    "territories": {"code": "CO-ANT-01", "name": "Medellin Norte", "type": "territory",
                    "parent_id": None, "active": True},
    "accounts": {"code": "ACC-1", "name": "Farmacia San José", "kind": "pharmacy",
                 "tax_id": None, "address": "Calle 10 # 43-12", "city": "Medellín",
                 "postal_code": "050021",
                 "phone": "+57 604 555 0101", "email": None, "channel": "retail",
                 "price_list_id": None, "credit_limit": 5000000.5, "outstanding_balance": None,
                 "min_order_value": None, "territory_id": "t-1",
                 "active": True},
    "contacts": {"code": None, "account_id": "a-1", "name": "Dra. Ana Gómez",
                 "specialty": "pediatrics", "phone": None, "email": None, "active": True},
    "products": {"sku": "SKU-1", "name": "Amoxicilina 500 mg", "product_line": "antibiotics",
                 "unit": "box", "active": True},
    "price_lists": {"code": "RETAIL", "name": "Retail", "currency": "COP", "active": True},
    "price_list_items": {"price_list_id": "pl-1", "product_id": "p-1", "price": 30250.5},
    "stock": {"product_id": "p-1", "available": 120},
    "pricing_rules": {"kind": "bonus", "priority": 10, "active": True, "valid_from": None,
                      "valid_to": None, "product_id": None, "product_line": "antibiotics",
                      "account_id": None, "price_list_id": None, "percent": None,
                      "bands": None, "buy": 20, "free": 1, "repeating": True,
                      "mode": "on_top"},
    "orders": {"account_id": "a-1", "user_id": REP["id"], "status": "draft", "placed_at": None,
               "requested_delivery_date": "2026-11-30", "notes": None, "shown_total": None,
               "currency": None, "gross_total": None, "discount_total": None, "total": None,
               "hold_reasons": None, "status_reason": None, "erp_reference": None,
               "submitted_at": None},
    "order_lines": {"order_id": "o-1", "product_id": "p-1", "sku": "SKU-1", "quantity": 10,
                    "bonus_quantity": 0, "free_quantity": None, "shown_unit_price": None,
                    "shown_line_total": None, "unit_price": None, "discount_percent": None,
                    "discount_amount": None, "line_total": None, "line_status": "pending",
                    "confirmed_quantity": None, "backordered_quantity": 0,
                    "shipped_quantity": 0, "invoiced_quantity": 0,
                    "confirmed_unit_price": None},
    "visits": {"account_id": "a-1", "contact_id": None, "user_id": REP["id"],
               "planned_at": "2026-11-23T15:00:00.000Z", "started_at": None,
               "ended_at": None, "outcome": None, "notes": None, "products_discussed": [],
               "samples": []},
    "forecasts": {"user_id": REP["id"], "period": "2026-12", "product_line": "antibiotics",
                  "category": "commit", "amount": 1000000, "notes": None, "status": "draft"},
    "quotas": {"territory_id": "t-1", "period": "2026-12", "product_line": "antibiotics",
               "amount": 25000000, "units": None},
    "conflicts": {"entity": "accounts", "record_id": "a-1", "field": "phone",
                  "policy": "latest_wins", "winner": "server", "kept_value": "+57 1",
                  "overruled_value": "+57 2", "status": "resolved", "created_at": NOW},
}
# fmt: on
DEVICE_MAY = {
    "accounts": {"update"},
    "contacts": {"create", "update"},
    "orders": {"create", "update", "delete"},
    "order_lines": {"create", "update", "delete"},
    "visits": {"create", "update", "delete"},
    "forecasts": {"create", "update"},
}
POLICIES = {
    ("accounts", "phone"): "latest_wins",
    ("accounts", "email"): "latest_wins",
    ("accounts", "address"): "review",
}


def record(entity: str, record_id: str, /, **fields: Any) -> dict[str, Any]:
    """A whole record of ``entity``, valid by its schema, with ``fields`` changed."""
    built = {"id": record_id, **copy.deepcopy(DEFAULTS[entity]), **fields}
    if entity in DEVICE_MAY:
        built.setdefault("revision", 1)
    return built


def error(status: int, code: str, headers: dict[str, str] | None = None, **details: Any):
    body = {"error": {"code": code, "message": code.replace("_", " "), "details": details}}
    return Response(status, headers or {}, body)


@dataclass
class Fault:
    """A failure to answer with (an exception to raise, or a response to return); with
    ``after_handling`` the server acts first and only its answer is lost."""

    failure: Exception | Response
    after_handling: bool = False

    def strike(self) -> Response:
        if isinstance(self.failure, Exception):
            raise self.failure
        return self.failure


class FakeSyncServer:
    """The server, in memory. Tests change its data with :meth:`put` and :meth:`delete`."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {entity: {} for entity in ENTITIES}
        self.log: list[tuple[str, str]] = []  # a cursor is a position in this change log
        self.field_edits: dict[tuple[str, str], dict[str, tuple[int, str]]] = {}
        self.results: dict[str, tuple[str, dict[str, Any]]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}  # access token -> device, expired
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> device id
        self.revoked: set[str] = set()
        self.oldest_cursor = 0
        self.out_of_scope: set[str] = set()
        self.max_mutations = 500
        self.max_push_bytes = 2_000_000
        self.faults: dict[tuple[str, str, int], Fault] = {}
        self.calls: Counter[tuple[str, str]] = Counter()
        self.requests: list[tuple[str, str, dict[str, Any], Any, dict[str, str]]] = []
        self._tokens = 0

    # -- what tests do to the server ------------------------------------------------------

    def put(self, entity: str, record_id: str, /, **fields: Any) -> dict[str, Any]:
        """Creates or edits a record on the server (a back-office edit, an ERP import)."""
        current = self.records[entity].get(record_id)
        updated = {**(current or record(entity, record_id)), **fields}
        if current is not None and "revision" in updated:
            updated["revision"] += 1
        self._store(entity, updated, fields, NOW)
        return updated

    def delete(self, entity: str, record_id: str) -> None:
        """Deletes a record, or takes it out of the device's scope: either way a removal."""
        del self.records[entity][record_id]
        self.log.append((entity, record_id))

    def fail(
        self,
        method: str,
        path: str,
        call: int,
        failure: Exception | Response,
        after_handling: bool = False,
    ) -> None:
        """Makes the ``call``-th request (counting from 1) to ``method path`` fail."""
        self.faults[method, path, call] = Fault(failure, after_handling)

    def expire_access_tokens(self) -> None:
        for session in self.sessions.values():
            session["expired"] = True

    def revoke(self, device_id: str) -> None:
        self.revoked.add(device_id)

    def expire_cursors(self) -> None:
        """Forgets the tombstones so far: every cursor issued until now needs a reset."""
        self.oldest_cursor = len(self.log) + 1

    # -- the Transport interface ----------------------------------------------------------

    def request(self, method: str, path: str, *, params=None, body=None, headers=None):
        params, headers = dict(params or {}), dict(headers or {})
        body = None if body is None else json.loads(json.dumps(body))  # as on the wire
        self.requests.append((method, path, params, body, headers))
        self.calls[method, path] += 1
        fault = self.faults.get((method, path, self.calls[method, path]))
        if fault is not None and not fault.after_handling:
            return fault.strike()
        response = self._handle(method, path, params, body, headers)
        if fault is not None:
            return fault.strike()
        return Response(response.status, response.headers, json.loads(json.dumps(response.body)))

    def _handle(self, method, path, params, body, headers) -> Response:
        if headers.get("X-SFA-Protocol") != "1":
            return error(400, "unsupported_protocol", supported=[1])
        if (method, path) == ("POST", "/api/v1/auth/login"):
            return self._login(body)
        if (method, path) == ("POST", "/api/v1/auth/refresh"):
            return self._refresh(body)
        routes = {
            ("GET", "/api/v1/sync/pull"): self._pull,
            ("POST", "/api/v1/sync/push"): self._push,
        }
        if (method, path) not in routes:
            return error(404, "not_found")
        session = self.sessions.get(headers.get("Authorization", "").removeprefix("Bearer "))
        if session is None:
            return error(401, "invalid_token")
        if session["device_id"] in self.revoked:
            return error(401, "device_revoked", wipe=True)
        if session["expired"]:
            return error(401, "token_expired")
        return routes[method, path](params if method == "GET" else body)

    # -- auth ----------------------------------------------------------------------------

    def _login(self, body) -> Response:
        if (body["email"], body["password"]) != (EMAIL, PASSWORD):
            return error(401, "invalid_credentials")
        if body["device_id"] in self.revoked:
            return error(401, "device_revoked", wipe=True)
        return Response(200, {}, {**self._issue(body["device_id"]), "user": REP})

    def _refresh(self, body) -> Response:
        device_id = self.refresh_tokens.pop(body["refresh_token"], None)
        if device_id is None:
            return error(401, "invalid_token")
        if device_id in self.revoked:
            return error(401, "device_revoked", wipe=True)
        return Response(200, {}, self._issue(device_id))

    def _issue(self, device_id: str) -> dict[str, Any]:
        self._tokens += 1
        access, refresh = f"access-{self._tokens}", f"refresh-{self._tokens}"
        self.sessions[access] = {"device_id": device_id, "expired": False}
        self.refresh_tokens[refresh] = device_id
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 900,
            "refresh_token": refresh,
        }

    # -- pull ----------------------------------------------------------------------------

    def _pull(self, params) -> Response:
        try:
            cursor = int(params.get("cursor") or 0)
        except ValueError:
            return error(400, "invalid_cursor")
        if cursor > len(self.log):
            return error(410, "reset_required", reason="cursor_from_future")
        if 0 < cursor < self.oldest_cursor:
            return error(410, "reset_required", reason="cursor_expired")
        snapshot, offset = map(int, (params.get("continuation") or f"{len(self.log)}:0").split(":"))
        limit = int(params.get("limit") or 1000)
        changed = sorted(
            dict.fromkeys(self.log[cursor:snapshot]), key=lambda k: ENTITIES.index(k[0])
        )
        if cursor == 0:  # a first pull has nothing to remove
            changed = [(entity, id_) for entity, id_ in changed if id_ in self.records[entity]]
        changes: dict[str, dict[str, list[Any]]] = {}
        for entity, record_id in changed[offset : offset + limit]:
            change = changes.setdefault(entity, {"upserts": [], "removals": []})
            if record_id in self.records[entity]:
                change["upserts"].append(self.records[entity][record_id])
            else:
                change["removals"].append(record_id)
        has_more = offset + limit < len(changed)
        return Response(
            200,
            {},
            {
                "protocol": 1,
                "changes": changes,
                "has_more": has_more,
                "continuation": f"{snapshot}:{offset + limit}" if has_more else None,
                "cursor": None if has_more else str(snapshot),
                "server_time": NOW,
            },
        )

    # -- push ----------------------------------------------------------------------------

    def _push(self, body) -> Response:
        validator("push-request").validate(body)  # a device bug fails the test right here
        if len(json.dumps(body)) > self.max_push_bytes:
            return error(413, "payload_too_large", limit_bytes=self.max_push_bytes)
        if len(body["mutations"]) > self.max_mutations:
            return error(422, "too_many_mutations", max_mutations=self.max_mutations)
        return Response(
            200, {}, {"protocol": 1, "results": [self._answer(m) for m in body["mutations"]]}
        )

    def _answer(self, mutation) -> dict[str, Any]:
        fingerprint = json.dumps({k: v for k, v in mutation.items() if k != "id"}, sort_keys=True)
        if mutation["id"] in self.results:
            stored_fingerprint, original = self.results[mutation["id"]]
            if stored_fingerprint != fingerprint:
                return _rejected(mutation, "mutation_id_reused", "this id was used before")
            return {"id": mutation["id"], "status": "duplicate", "original": original}
        result = {"id": mutation["id"], **self._decide(mutation)}
        self.results[mutation["id"]] = (fingerprint, result)
        return result

    def _decide(self, m) -> dict[str, Any]:
        entity, op, record_id = m["entity"], m["op"], m["record_id"]
        if entity not in self.records:
            return _rejected(m, "unknown_entity", f"no entity {entity}")
        if op not in DEVICE_MAY.get(entity, ()):
            return _rejected(m, "operation_not_allowed", f"a rep may not {op} {entity}")
        if record_id in self.out_of_scope:
            return _rejected(m, "out_of_scope", "the account is not in your territories")
        current = self.records[entity].get(record_id)
        if op == "create":
            if current is not None:
                return _rejected(m, "already_exists", "a record with this id exists")
            self._store(
                entity, record(entity, record_id, **m["fields"]), m["fields"], m["edited_at"]
            )
            return {"status": "applied", "record_id": record_id, "revision": 1}
        if current is None:
            return _rejected(m, "not_found", "no such record")
        if op == "delete":
            self.delete(entity, record_id)
            return {
                "status": "applied",
                "record_id": record_id,
                "revision": current["revision"] + 1,
            }
        kept, conflicts = self._merge(entity, current, m)
        updated = {**current, **kept, "revision": current["revision"] + 1}
        self._store(entity, updated, kept, m["edited_at"])
        status = (
            {"status": "merged", "conflicts": conflicts} if conflicts else {"status": "applied"}
        )
        return {**status, "record_id": record_id, "revision": updated["revision"]}

    def _merge(self, entity, current, m) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The fields the mutation may set, and the conflicts on those changed concurrently."""
        kept, conflicts = {}, []
        edits = self.field_edits.get((entity, current["id"]), {})
        for field, value in m["fields"].items():
            revision, edited_at = edits.get(field, (0, ""))
            base = m.get("base_revision")
            if base is None or revision <= base or current[field] == value:
                kept[field] = value
                continue
            policy = POLICIES.get((entity, field), "client_wins")
            client_wins = policy == "client_wins" or (
                policy == "latest_wins" and m["edited_at"] > edited_at
            )
            if client_wins:
                kept[field] = value
            conflicts.append(
                {
                    "field": field,
                    "policy": policy,
                    "winner": "client" if client_wins else "server",
                    "server_value": current[field],
                    "client_value": value,
                }
            )
            self.put(
                "conflicts",
                str(uuid.uuid4()),
                entity=entity,
                record_id=current["id"],
                field=field,
                policy=policy,
                winner=conflicts[-1]["winner"],
                kept_value=value if client_wins else current[field],
                overruled_value=current[field] if client_wins else value,
                status="open" if policy == "review" else "resolved",
            )
        return kept, conflicts

    def _store(self, entity, updated, fields, edited_at) -> None:
        self.records[entity][updated["id"]] = updated
        edits = self.field_edits.setdefault((entity, updated["id"]), {})
        for field in fields:
            edits[field] = (updated.get("revision", 0), edited_at)
        self.log.append((entity, updated["id"]))


def _rejected(mutation, code: str, reason: str) -> dict[str, Any]:
    return {
        "id": mutation["id"],
        "status": "rejected",
        "record_id": mutation.get("record_id"),
        "code": code,
        "reason": reason,
    }


def a_small_territory() -> FakeSyncServer:
    """A server with one territory, three pharmacies, two contacts, two products with stock."""
    server = FakeSyncServer()
    server.put("territories", "t-1")
    for number in (1, 2, 3):
        server.put("accounts", f"a-{number}", code=f"ACC-{number}", name=f"Farmacia {number}")
    server.put("contacts", "c-1", account_id="a-1")
    server.put("contacts", "c-2", account_id="a-2", name="Dr. Luis Pérez")
    for number in (1, 2):
        server.put("products", f"p-{number}", sku=f"SKU-{number}")
        server.put("stock", f"p-{number}", product_id=f"p-{number}", available=10 * number)
    return server


# -- the fake keeps to the contract ----------------------------------------------------------


def test_every_record_the_fake_server_builds_conforms_to_its_schema():
    for entity in ENTITIES:
        validator(f"record-{entity}").validate(record(entity, "r-1"))


def test_the_fake_servers_pages_conform_to_the_pull_response_schema():
    server = a_small_territory()
    server.delete("accounts", "a-3")
    headers = {"X-SFA-Protocol": "1"}
    login = server.request(
        "POST",
        "/api/v1/auth/login",
        headers=headers,
        body={
            "email": EMAIL,
            "password": PASSWORD,
            "device_id": "d-1",
            "device_name": "Pixel",
            "platform": "android",
        },
    )
    headers["Authorization"] = f"Bearer {login.body['access_token']}"
    params: dict[str, Any] = {"cursor": "2", "limit": 2}
    while True:
        page = server.request("GET", "/api/v1/sync/pull", params=params, headers=headers).body
        validator("pull-response").validate(page)
        if not page["has_more"]:
            break
        params["continuation"] = page["continuation"]
    assert page["cursor"] == str(len(server.log))


def test_the_fake_servers_push_results_and_errors_conform_to_their_schemas():
    server = a_small_territory()
    server.put("accounts", "a-1", phone="+57 604 555 0000")
    server.sessions["token"] = {"device_id": "d-1", "expired": False}
    headers = {"X-SFA-Protocol": "1", "Authorization": "Bearer token"}
    mutations = [
        {
            "id": str(uuid.uuid4()),
            "entity": "accounts",
            "op": "update",
            "record_id": "a-1",
            "base_revision": 1,
            "fields": {"phone": "+57 1"},
            "edited_at": NOW,
        },
        {
            "id": str(uuid.uuid4()),
            "entity": "products",
            "op": "update",
            "record_id": "p-1",
            "base_revision": 1,
            "fields": {"name": "x"},
            "edited_at": NOW,
        },
        {
            "id": str(uuid.uuid4()),
            "entity": "visits",
            "op": "create",
            "record_id": "v-1",
            "fields": {"account_id": "a-1"},
            "edited_at": NOW,
        },
    ]
    body = {"protocol": 1, "device_time": NOW, "mutations": mutations}
    first = server.request("POST", "/api/v1/sync/push", body=body, headers=headers).body
    again = server.request("POST", "/api/v1/sync/push", body=body, headers=headers).body
    assert [r["status"] for r in first["results"]] == ["merged", "rejected", "applied"]
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
    for answer in (first, again):
        validator("push-response").validate(answer)
    refused = server.request("GET", "/api/v1/sync/pull", params={"cursor": "x"}, headers=headers)
    validator("error").validate(refused.body)


def test_a_fault_can_lose_the_answer_after_the_server_has_acted():
    server = FakeSyncServer()
    server.fail(
        "POST", "/api/v1/auth/login", call=1, failure=TransportError("cut"), after_handling=True
    )
    body = {
        "email": EMAIL,
        "password": PASSWORD,
        "device_id": "d-1",
        "device_name": "x",
        "platform": "cli",
    }
    with pytest.raises(TransportError):
        server.request("POST", "/api/v1/auth/login", body=body, headers={"X-SFA-Protocol": "1"})
    assert len(server.sessions) == 1
