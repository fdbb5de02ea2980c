"""The WatermelonDB endpoint against WatermelonDB's backend contract, request by request, on
both backends. (The real WatermelonDB client runs against it in tests/watermelon.)"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from sfa.catalog.models import Product
from sfa.db import db
from sfa.orders.models import Order, OrderLine
from sfa.sync.models import WatermelonCheckpoint
from sfa.sync.watermelon.schema import TABLES
from tests.builders import headers_for, load, snapshot, world
from tests.sync_helpers import SyncDevice

PULL, PUSH = "/api/v1/watermelon/pull", "/api/v1/watermelon/push"
MEDELLIN = "rep.medellin@example.com"


@dataclass
class Phone:
    """A WatermelonDB database as the protocol sees it: raw records per table, and the
    timestamp of its last pull."""

    client: FlaskClient
    headers: dict[str, str]
    last_pulled_at: int | None = None
    records: dict[str, dict[str, dict]] = field(default_factory=dict)

    def pull(self, **params: Any) -> dict[str, dict[str, list]]:
        query = {"last_pulled_at": self.last_pulled_at or "null", "schema_version": 1, **params}
        response = self.client.get(PULL, query_string=query, headers=self.headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["timestamp"] > (self.last_pulled_at or 0)
        for name, change in body["changes"].items():
            held = self.records.setdefault(name, {})
            for record in change["created"] + change["updated"]:
                held[record["id"]] = record
            for record_id in change["deleted"]:
                held.pop(record_id, None)
        self.last_pulled_at = body["timestamp"]
        return body["changes"]

    def push(self, changes: dict, expect: int = 200, wrapped: bool = True) -> dict:
        response = self.client.post(
            PUSH,
            query_string={"last_pulled_at": self.last_pulled_at},
            json={"changes": changes} if wrapped else changes,
            headers=self.headers,
        )
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def one(self, table: str, **wanted: Any) -> dict:
        return next(
            r for r in self.records[table].values() if all(r.get(k) == v for k, v in wanted.items())
        )


def ids(changes: dict, table: str, kind: str) -> set[str]:
    items = changes[table][kind]
    return set(items) if kind == "deleted" else {r["id"] for r in items}


@pytest.fixture
def phone(app, client) -> Phone:
    load(app)
    return Phone(client, headers_for(client, MEDELLIN, "wm-phone-1"))


def new_order(phone: Phone, order_id: str, status: str = "draft", lines: int = 1) -> dict:
    account = phone.one("accounts", code="A-CO-ANT-01-1")
    products = sorted(phone.records["products"])
    order = {
        "id": order_id, "account_id": account["id"], "user_id": "", "status": status,
        "placed_at": 1795400000000, "requested_delivery_date": None, "notes": "first",
        "shown_total": 0, "total": 0, "hold_reasons": "", "_status": "created", "_changed": "",
    }  # fmt: skip
    line_rows = [
        {
            "id": f"{order_id}-l{n}",
            "order_id": order_id,
            "product_id": products[n % 2],
            "sku": "",
            "qty": 2 + n,
            "bonus_quantity": 0,
            "line_status": "",
            "unit_price": 0,
        }  # fmt: skip
        for n in range(lines)
    ]
    return {"orders": {"created": [order]}, "order_lines": {"created": line_rows}}


# pull ------------------------------------------------------------------------------------------


def test_a_first_pull_holds_everything_in_scope_as_created_in_watermelondb_shape(
    app, client, phone
):
    native = SyncDevice(client, headers_for(client, MEDELLIN, "native-phone"))
    native.pull()

    changes = phone.pull()

    assert list(changes) == [table.name for table in TABLES]
    for table in TABLES:
        change = changes[table.name]
        assert set(change) == {"created", "updated", "deleted"}
        assert change["updated"] == [] and change["deleted"] == []
        assert ids(changes, table.name, "created") == set(native.records.get(table.name, {}))
        created = change["created"]
        assert len({r["id"] for r in created}) == len(created)  # no duplicate ids
        for record in created:
            assert set(record) == {"id", *(c.name for c in table.columns)}
            for column in table.columns:
                value = record[column.name]
                assert value is not None or column.optional, (table.name, column.name)
                if value is not None:
                    assert isinstance(value, {"string": str, "number": int | float,
                                              "boolean": bool}[column.type]), (
                        table.name, column.name, value
                    )  # fmt: skip
    item = changes["price_list_items"]["created"][0]
    assert isinstance(item["price"], int | float)
    account = next(r for r in changes["accounts"]["created"] if r["code"] == "A-CO-ANT-01-1")
    assert account["credit_limit"] == 5000000 and isinstance(account["city"], str)
    assert "_status" not in account and "_changed" not in account


def test_the_timestamp_grows_with_every_pull_and_an_idle_pull_is_empty(phone):
    phone.pull()
    first = phone.last_pulled_at
    idle = phone.pull()
    assert phone.last_pulled_at > first
    assert all(not any(change.values()) for change in idle.values())
    again = phone.pull()
    assert all(not any(change.values()) for change in again.values())


def test_a_timestamp_the_device_was_never_given_asks_for_a_reset(app, client, phone):
    phone.pull()
    other = Phone(client, headers_for(client, MEDELLIN, "wm-phone-2"))
    other.pull()
    for stranger in (phone.last_pulled_at + 1, other.last_pulled_at):
        response = client.get(
            PULL, query_string={"last_pulled_at": stranger}, headers=phone.headers
        )
        assert response.status_code == 410
        error = response.get_json()["error"]
        assert (error["code"], error["details"]["reason"]) == (
            "reset_required",
            "checkpoint_unknown",
        )
    pushed = client.post(
        PUSH, query_string={"last_pulled_at": other.last_pulled_at}, json={}, headers=phone.headers
    )
    assert pushed.status_code == 410


def test_the_device_s_own_new_records_come_back_as_updated_never_created(app, phone):
    phone.pull()
    phone.push(new_order(phone, "o-own-1", lines=2))

    changes = phone.pull()

    assert ids(changes, "orders", "created") == set()
    assert ids(changes, "orders", "updated") == {"o-own-1"}
    assert ids(changes, "order_lines", "updated") == {"o-own-1-l0", "o-own-1-l1"}
    order = phone.records["orders"]["o-own-1"]
    assert order["user_id"]  # the server's values replace what the device left blank
    assert order["placed_at"] == 1795400000000


def test_records_entering_the_scope_are_created_and_leaving_ones_deleted(app, client, phone):
    phone.pull()
    document = world()
    for account in document["accounts"]:
        if account["code"] == "A-CO-BOG-01-1":
            account["territory"] = "CO-ANT-01"  # into Medellin
        if account["code"] == "A-CO-ANT-01-2":
            account["territory"] = "CO-BOG-01"  # out of it
    load(app, document)

    changes = phone.pull()

    arrived = phone.one("accounts", code="A-CO-BOG-01-1")
    assert ids(changes, "accounts", "created") == {arrived["id"]}
    assert (
        ids(changes, "contacts", "created")
        == {r["id"] for r in phone.records["contacts"].values() if r["account_id"] == arrived["id"]}
        != set()
    )
    left = [r for r in changes["accounts"]["deleted"]]
    assert len(left) == 1 and left[0] not in phone.records["accounts"]
    assert ids(changes, "accounts", "updated") == set()


def test_a_migration_pull_returns_the_added_tables_and_the_tables_with_added_columns(phone):
    phone.pull()
    migration = {
        "from": 1,
        "tables": ["quotas"],
        "columns": [{"table": "accounts", "columns": ["min_order_value"]}],
    }
    changes = phone.pull(migration=json.dumps(migration))

    assert ids(changes, "quotas", "created") == set(phone.records["quotas"]) != set()
    assert ids(changes, "accounts", "updated") == set(phone.records["accounts"])
    assert ids(changes, "products", "created") | ids(changes, "products", "updated") == set()


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"last_pulled_at": "yesterday"}, 422, "validation_failed"),
        ({"last_pulled_at": "-5"}, 422, "validation_failed"),
        ({"schema_version": "2"}, 400, "unsupported_schema_version"),
        ({"schema_version": "one"}, 422, "validation_failed"),
        ({"migration": "{not json"}, 422, "validation_failed"),
        ({"migration": json.dumps({"from": 1, "tables": ["users"]})}, 422, "validation_failed"),
        (
            {
                "migration": json.dumps(
                    {"from": 1, "columns": [{"table": "accounts", "columns": ["password"]}]}
                )
            },
            422,
            "validation_failed",
        ),  # fmt: skip
        ({"migration": json.dumps({"from": 5})}, 422, "validation_failed"),
    ],
)
def test_bad_pull_parameters_get_a_clear_4xx(client, phone, params, status, code):
    response = client.get(PULL, query_string=params, headers=phone.headers)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_only_signed_in_devices_pull(client, phone):
    assert client.get(PULL).status_code == 401
    erp = headers_for(client, "erp@example.com", "erp-box")
    assert client.get(PULL, headers=erp).status_code == 403


# push ------------------------------------------------------------------------------------------


def test_a_push_applies_creates_edits_and_deletes_through_the_engine(app, phone):
    phone.pull()
    account = dict(phone.one("accounts", code="A-CO-ANT-01-1"))
    account.update(phone="+57 300 111 2222", _status="updated", _changed="phone")
    changes = new_order(phone, "o-push-1", lines=2)
    changes["accounts"] = {"updated": [account]}
    body = phone.push(changes)

    assert body["experimentalRejectedIds"] == {} and body["applied"] == 4
    with app.app_context():
        order = db.session.get(Order, "o-push-1")
        assert (order.status, order.notes, order.account_id) == ("draft", "first", account["id"])
        lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))
        assert {line.quantity for line in lines} == {2, 3}
    phone.pull()
    phone.push({"order_lines": {"deleted": ["o-push-1-l1"]}})
    with app.app_context():
        assert db.session.get(OrderLine, "o-push-1-l1") is None
        assert db.session.get(OrderLine, "o-push-1-l0") is not None


def test_an_order_pushed_as_submitted_is_created_with_its_lines_then_submitted(app, phone):
    phone.pull()
    phone.push(new_order(phone, "o-sub-1", status="submitted", lines=2))

    with app.app_context():
        order = db.session.get(Order, "o-sub-1")
        assert order.status in ("on_hold", "sent_to_erp", "submitted")
        assert order.status != "draft" and order.total > 0 and order.submitted_at is not None
    phone.pull()
    assert phone.records["orders"]["o-sub-1"]["total"] > 0


def test_a_created_record_that_exists_is_an_update_and_a_replayed_push_changes_nothing(app, phone):
    phone.pull()
    changes = new_order(phone, "o-replay-1")
    phone.push(changes)
    before = snapshot(app)

    again = phone.push(changes)  # the response was lost; the device sends it again

    assert again["experimentalRejectedIds"] == {} and again["applied"] == 0
    after = snapshot(app)
    after.pop("device_sync_status"), before.pop("device_sync_status")
    assert after == before
    changes["orders"]["created"][0]["notes"] = "second thoughts"
    refused = phone.push(changes, expect=409)  # a real edit of a record changed since the pull
    assert refused["error"]["details"]["records"] == {"orders": ["o-replay-1"]}
    phone.pull()
    phone.push(changes)
    with app.app_context():
        assert db.session.get(Order, "o-replay-1").notes == "second thoughts"


def test_an_updated_record_the_server_does_not_know_is_created(app, phone):
    phone.pull()
    changes = new_order(phone, "o-upd-new")
    changes = {t: {"updated": v["created"]} for t, v in changes.items()}
    body = phone.push(changes)
    assert body["applied"] == 2
    with app.app_context():
        assert db.session.get(Order, "o-upd-new") is not None


def test_deleting_unknown_or_deleted_ids_is_fine(app, phone):
    phone.pull()
    phone.push(new_order(phone, "o-del-1"))
    phone.pull()
    phone.push({"orders": {"deleted": ["o-del-1", "never-existed"]}})
    phone.pull()
    body = phone.push({"orders": {"deleted": ["o-del-1"]}})
    assert body["experimentalRejectedIds"] == {}
    with app.app_context():
        assert db.session.get(Order, "o-del-1") is None


def test_a_record_changed_on_the_server_since_the_pull_refuses_the_whole_push(app, client, phone):
    phone.pull()
    rival = Phone(client, headers_for(client, MEDELLIN, "wm-phone-rival"))
    rival.pull()
    account = dict(rival.one("accounts", code="A-CO-ANT-01-1"))
    rival.push({"accounts": {"updated": [{**account, "phone": "+57 1"}]}})
    before = snapshot(app)

    changes = new_order(phone, "o-conflict-1")
    changes["accounts"] = {"updated": [{**account, "phone": "+57 2"}]}
    response = phone.push(changes, expect=409)

    assert response["error"]["code"] == "push_conflict"
    assert response["error"]["details"]["records"] == {"accounts": [account["id"]]}
    assert snapshot(app) == before  # nothing applied, the new order included
    phone.pull()  # the app pulls, merges (its local phone edit kept), and pushes again
    phone.push(changes)
    with app.app_context():
        assert db.session.get(Order, "o-conflict-1") is not None


def test_a_record_deleted_on_the_server_since_the_pull_is_a_conflict(app, client, phone):
    phone.pull()
    phone.push(new_order(phone, "o-gone-1"))
    phone.pull()
    other = Phone(client, headers_for(client, MEDELLIN, "wm-phone-3"))
    other.pull()
    other.push({"orders": {"deleted": ["o-gone-1"]}})

    order = dict(phone.records["orders"]["o-gone-1"], notes="edited offline")
    response = phone.push({"orders": {"updated": [order]}}, expect=409)
    assert response["error"]["details"]["records"] == {"orders": ["o-gone-1"]}
    changes = phone.pull()
    assert "o-gone-1" in changes["orders"]["deleted"]


def test_records_the_rep_may_not_write_are_reported_and_the_rest_applies(app, client, phone):
    phone.pull()
    product = dict(next(iter(phone.records["products"].values())), name="Renamed")
    bogota = Phone(client, headers_for(client, "rep.bogota@example.com", "wm-bogota"))
    bogota.pull()
    foreign = dict(bogota.one("accounts", code="A-CO-BOG-01-1"), phone="+57 9")
    account = dict(phone.one("accounts", code="A-CO-ANT-01-1"), phone="+57 300 5")
    changes = new_order(phone, "o-mixed-1")
    changes["orders"]["created"].append(
        {**changes["orders"]["created"][0], "id": "o-mixed-2", "placed_at": "yesterday"}
    )
    changes.update(products={"updated": [product]}, accounts={"updated": [account, foreign]})

    body = phone.push(changes)

    rejected = {k: set(v) for k, v in body["experimentalRejectedIds"].items()}
    assert rejected == {
        "products": {product["id"]},
        "accounts": {foreign["id"]},
        "orders": {"o-mixed-2"},
    }
    reasons = {(r["table"], r["id"]): r["code"] for r in body["rejected"]}
    assert reasons[("orders", "o-mixed-2")] == "invalid_fields"
    with app.app_context():
        assert db.session.get(Product, product["id"]).name != "Renamed"
        assert db.session.get(Order, "o-mixed-1") is not None
        assert db.session.get(Order, "o-mixed-2") is None


def test_a_server_owned_column_edited_on_the_device_is_not_applied_and_comes_back(app, phone):
    phone.pull()
    phone.push(new_order(phone, "o-owned-1"))
    phone.pull()
    order = dict(phone.records["orders"]["o-owned-1"])
    server_user = order["user_id"]
    phone.push({"orders": {"updated": [{**order, "user_id": "someone-else", "notes": "n2"}]}})

    changes = phone.pull()

    assert ids(changes, "orders", "updated") == {"o-owned-1"}
    assert phone.records["orders"]["o-owned-1"]["user_id"] == server_user
    assert phone.records["orders"]["o-owned-1"]["notes"] == "n2"
    phone.push({"orders": {"updated": [{**order, "user_id": "someone-else", "notes": "n2"}]}})
    assert ids(phone.pull(), "orders", "updated") == {"o-owned-1"}  # sent back each time


def test_the_bare_changes_object_is_accepted_too(app, phone):
    phone.pull()
    body = phone.push(new_order(phone, "o-bare-1"), wrapped=False)
    assert body["applied"] == 2


@pytest.mark.parametrize(
    "changes",
    [
        {"users": {"created": [{"id": "u1"}]}},
        {"orders": {"created": [{"id": "bad/id"}]}},
        {"orders": {"created": [{"id": 'x"'}]}},
        {"orders": {"created": [{"name": "no id"}]}},
        {"orders": {"created": "o1"}},
        {"orders": {"created": [], "renamed": []}},
        {"orders": {"deleted": [17]}},
        {"orders": {"created": [{"id": "o1"}], "updated": [{"id": "o1"}]}},
        {"orders": []},
        [],
    ],
)
def test_a_malformed_push_is_a_422_and_applies_nothing(app, phone, changes):
    phone.pull()
    before = snapshot(app)
    response = phone.push(changes, expect=422, wrapped=False)
    assert response["error"]["code"] == "validation_failed"
    assert snapshot(app) == before


def test_a_push_needs_the_timestamp_of_a_pull(client, phone):
    phone.pull()
    for value in (None, "null", "later"):
        query = {} if value is None else {"last_pulled_at": value}
        response = client.post(PUSH, query_string=query, json={}, headers=phone.headers)
        assert response.status_code == 422


def test_checkpoints_are_forgotten_past_the_horizon_by_sync_gc(app, phone):
    phone.pull()
    with app.app_context():
        assert db.session.scalars(select(WatermelonCheckpoint)).all()


def test_a_submission_whose_response_was_lost_is_not_refused_when_retried(app, phone):
    """The retry comes after a pull that kept the device's own ``submitted`` over the server's
    newer status (WatermelonDB keeps locally changed columns): it is stale, not refused, and
    the server's status comes back on the next pull."""
    phone.pull()
    phone.push(new_order(phone, "o-lost-1", status="submitted"))  # the response is lost
    phone.pull()
    with app.app_context():
        server_status = db.session.get(Order, "o-lost-1").status
    assert server_status in ("on_hold", "sent_to_erp")
    retried = dict(phone.records["orders"]["o-lost-1"], status="submitted")

    body = phone.push({"orders": {"created": [retried]}})

    assert body["experimentalRejectedIds"] == {} and body["applied"] == 0
    assert ids(phone.pull(), "orders", "updated") == {"o-lost-1"}
    assert phone.records["orders"]["o-lost-1"]["status"] == server_status
