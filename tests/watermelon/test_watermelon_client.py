"""The real WatermelonDB client (``synchronize()`` of @nozbe/watermelondb, LokiJS in memory)
syncing with the server over HTTP, on both backends. Each device is a Node process
(device.mjs); the server's side is checked in its database."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from sfa.accounts.models import Account
from sfa.catalog.models import Product
from sfa.db import db
from sfa.erp.models import OutboxEvent
from sfa.orders.models import Order, OrderLine
from sfa.visits.models import Visit
from tests.builders import headers_for
from tests.sync_helpers import SyncDevice
from tests.watermelon.conftest import SCHEMA, DeviceError, WatermelonDevice

pytestmark = pytest.mark.xdist_group("watermelon")

MEDELLIN = "rep.medellin@example.com"
PLACED_AT = 1795400000000
TABLES = json.loads(SCHEMA.read_text())["tables"]
SENT = {"submitted", "on_hold", "sent_to_erp"}  # where a submission ends, by configuration
PRICE = {"P-0001": Decimal("12500"), "P-0002": Decimal("30250.5")}  # tests.builders.WORLD


def one(records: dict[str, dict], **wanted: Any) -> dict[str, Any]:
    (found,) = [r for r in records.values() if all(r[k] == v for k, v in wanted.items())]
    return found


def synced(phone: WatermelonDevice) -> WatermelonDevice:
    phone.sync()
    return phone


def new_draft(phone: WatermelonDevice, *lines: tuple[str, int]) -> tuple[str, list[str]]:
    """A draft order at the first Medellin account with lines of (SKU, quantity)."""
    account = one(phone.records("accounts"), code="A-CO-ANT-01-1")
    products = phone.records("products")
    order_id = phone.create(
        "orders", account_id=account["id"], status="draft", placed_at=PLACED_AT, notes="weekly"
    )
    line_ids = [
        phone.create(
            "order_lines", order_id=order_id, product_id=one(products, sku=sku)["id"], qty=qty
        )
        for sku, qty in lines
    ]
    return order_id, line_ids


def quiet(result: dict[str, Any]) -> bool:
    """True if WatermelonDB logged no error during the sync (it logs contract breaches)."""
    return [m for m in result["logged"] if m["level"] == "error"] == []


def stored(app: Flask, model: type, record_id: str) -> Any:
    with app.app_context():
        found = db.session.get(model, record_id)
        db.session.expunge_all()
        return found


def lines_of(app: Flask, order_id: str) -> dict[str, OrderLine]:
    with app.app_context():
        query = select(OrderLine).where(OrderLine.order_id == order_id)
        found = {line.id: line for line in db.session.scalars(query)}
        db.session.expunge_all()
        return found


def count(app: Flask, model: type, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# first sync ----------------------------------------------------------------------------------


def test_a_first_sync_brings_the_rep_exactly_what_a_native_first_pull_brings(
    app: Flask, client: FlaskClient, device
):
    phone = device(MEDELLIN)

    result = phone.sync()

    native = SyncDevice(client, headers_for(client, MEDELLIN, "native-phone"))
    native.pull()
    assert len(native.ids("accounts")) == 2  # the rep's territory, not the whole world
    for table in TABLES:
        assert set(phone.records(table["name"])) == native.ids(table["name"]), table["name"]
    assert result["pushes"] == [] and phone.local_changes()["unsynced"] is False


def test_a_first_sync_keeps_amounts_as_numbers_and_flags_as_booleans(device):
    phone = synced(device(MEDELLIN))

    for table in TABLES:
        kinds = {column["name"]: column["type"] for column in table["columns"]}
        for record in phone.records(table["name"]).values():
            for name, kind in kinds.items():
                value = record[name]
                if kind == "number" and value is not None:
                    assert type(value) in (int, float), (table["name"], name, value)
                if kind == "boolean" and value is not None:
                    assert type(value) is bool, (table["name"], name, value)
    products = {p["id"]: p["sku"] for p in phone.records("products").values()}
    prices = {
        products[i["product_id"]]: i["price"] for i in phone.records("price_list_items").values()
    }
    assert prices == {"P-0001": 12500, "P-0002": 30250.5}
    assert {a["credit_limit"] for a in phone.records("accounts").values()} == {5000000}


# orders and account edits --------------------------------------------------------------------


def test_an_order_made_offline_is_priced_by_the_server_and_its_total_comes_back(app: Flask, device):
    phone = synced(device(MEDELLIN))
    order_id, line_ids = new_draft(phone, ("P-0001", 10), ("P-0002", 2))
    account = one(phone.records("accounts"), code="A-CO-ANT-01-1")
    phone.update("accounts", account["id"], phone="+57 604 555 9999")

    pushed = phone.sync()

    assert pushed["rejected_ids"] == {}
    assert stored(app, Order, order_id).status == "draft"
    assert {line.id: line.quantity for line in lines_of(app, order_id).values()} == dict(
        zip(line_ids, [10, 2], strict=True)
    )
    assert stored(app, Account, account["id"]).phone == "+57 604 555 9999"

    phone.update("orders", order_id, status="submitted")
    phone.sync()

    order = stored(app, Order, order_id)
    assert order.status in SENT
    assert order.total == 10 * PRICE["P-0001"] + 2 * PRICE["P-0002"]
    assert quiet(phone.sync())
    on_phone = phone.records("orders")[order_id]
    assert on_phone["total"] == float(order.total) and on_phone["status"] == order.status
    assert phone.local_changes()["unsynced"] is False


def test_a_line_deleted_from_a_draft_and_then_the_draft_are_deleted_on_the_server(
    app: Flask, device
):
    phone = synced(device(MEDELLIN))
    order_id, (kept, dropped) = new_draft(phone, ("P-0001", 3), ("P-0002", 1))
    phone.sync()

    phone.delete("order_lines", dropped)
    phone.sync()

    assert set(lines_of(app, order_id)) == {kept}
    phone.delete("orders", order_id, descendants=True)
    phone.sync()
    assert stored(app, Order, order_id) is None and lines_of(app, order_id) == {}
    assert phone.local_changes()["unsynced"] is False


# conflicts and lost responses ----------------------------------------------------------------


def test_a_push_of_a_phone_changed_meanwhile_is_refused_then_retried_and_devices_converge(
    app: Flask, device
):
    first, second = synced(device(MEDELLIN, "wm-first")), synced(device(MEDELLIN, "wm-second"))
    account_id = one(first.records("accounts"), code="A-CO-ANT-01-1")["id"]
    first.update("accounts", account_id, phone="+57 300 111 1111")
    second.update("accounts", account_id, phone="+57 300 222 2222")

    with second.paused_before_push() as paused:
        first.sync()  # lands between the second's pull and its push

    assert paused.reply["ok"] is False, paused.reply
    assert (paused.reply["status"], paused.reply["code"]) == (409, "push_conflict")
    assert paused.reply["details"]["records"] == {"accounts": [account_id]}
    assert stored(app, Account, account_id).phone == "+57 300 111 1111"
    retried = second.sync()
    assert retried["pushes"][0]["status"] == 200 and retried["rejected_ids"] == {}
    first.sync()
    second.sync()
    server_phone = stored(app, Account, account_id).phone
    assert server_phone == "+57 300 222 2222"  # the device's edit wins over what it pulled
    for phone in (first, second):
        assert phone.records("accounts")[account_id]["phone"] == server_phone
        assert phone.local_changes()["unsynced"] is False


def new_order_kept_as_draft(phone: WatermelonDevice) -> tuple[str, list[str]]:
    return new_draft(phone, ("P-0001", 4), ("P-0001", 6))


def new_order_sent_at_once(phone: WatermelonDevice) -> tuple[str, list[str]]:
    order_id, line_ids = new_draft(phone, ("P-0001", 4), ("P-0001", 6))
    phone.update("orders", order_id, status="submitted")
    return order_id, line_ids


def synced_draft_sent_later(phone: WatermelonDevice) -> tuple[str, list[str]]:
    order_id, line_ids = new_draft(phone, ("P-0001", 4), ("P-0001", 6))
    phone.sync()
    phone.update("orders", order_id, status="submitted")
    return order_id, line_ids


@pytest.mark.parametrize(
    "make", [new_order_kept_as_draft, new_order_sent_at_once, synced_draft_sent_later]
)
def test_a_push_whose_response_was_lost_is_replayed_without_duplicates(app: Flask, device, make):
    phone = synced(device(MEDELLIN))
    order_id, line_ids = make(phone)

    with pytest.raises(DeviceError) as lost:
        phone.sync(lose_push_response=True)
    assert lost.value.reply["pushes"][0]["status"] == 200  # applied; the device never knew
    status = stored(app, Order, order_id).status
    events = count(app, OutboxEvent, OutboxEvent.order_id == order_id)
    assert phone.local_changes()["unsynced"] is True

    replayed = phone.sync()

    assert replayed["rejected_ids"] == {}, replayed["pushes"]
    assert count(app, Order) == 1 and set(lines_of(app, order_id)) == set(line_ids)
    assert stored(app, Order, order_id).status == status
    assert count(app, OutboxEvent, OutboxEvent.order_id == order_id) == events
    phone.sync()
    assert phone.local_changes()["unsynced"] is False
    assert phone.records("orders")[order_id]["status"] == status


# WatermelonDB issue #649 ----------------------------------------------------------------------


def new_visit(phone: WatermelonDevice) -> str:
    account = one(phone.records("accounts"), code="A-CO-ANT-01-1")
    return phone.create(
        "visits", account_id=account["id"], planned_at=PLACED_AT, products_discussed="[]",
        samples="[]", notes="first visit",
    )  # fmt: skip


def new_order(phone: WatermelonDevice) -> str:
    return new_draft(phone, ("P-0001", 1))[0]


@pytest.mark.parametrize(
    ("table", "model", "make"),
    [("visits", Visit, new_visit), ("orders", Order, new_order)],
    ids=["visit", "draft-order"],
)
def test_a_record_deleted_after_its_push_does_not_come_back_on_the_device(
    app: Flask, device, table: str, model: type, make
):
    phone = synced(device(MEDELLIN))
    record_id = make(phone)
    phone.sync()
    assert stored(app, model, record_id) is not None

    phone.delete(table, record_id, descendants=True)
    after = phone.sync()

    assert record_id not in after["pulls"][0]["changes"].get(table, {}).get("created", [])
    assert quiet(after), after["logged"]
    assert record_id not in phone.records(table)
    assert stored(app, model, record_id) is None
    phone.sync()
    assert record_id not in phone.records(table)
    assert phone.local_changes()["unsynced"] is False


# what a rep may not write -----------------------------------------------------------------------


def test_a_product_renamed_on_the_device_is_rejected_and_the_server_keeps_its_name(
    app: Flask, device
):
    phone = synced(device(MEDELLIN))
    product = one(phone.records("products"), sku="P-0001")
    phone.update("products", product["id"], name="Renamed on the phone")

    result = phone.sync()

    assert result["rejected_ids"] == {"products": [product["id"]]}
    (why,) = result["pushes"][0]["response"]["rejected"]
    assert (why["table"], why["id"]) == ("products", product["id"])
    assert stored(app, Product, product["id"]).name == product["name"]
    assert phone.local_changes()["changes"] == {
        "products": {"created": [], "updated": [product["id"]], "deleted": []}
    }
