"""Orders from the device to the ERP and back: pricing, validation, holds, the outbox, the
webhook, the ERP's acknowledgements, and what the device sees after each step."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from sfa.accounts.models import Account
from sfa.db import db
from sfa.erp.adapters.webhook import signature
from sfa.erp.dispatcher import Dispatcher, DispatchSettings
from sfa.erp.feed import adapter_factory
from sfa.erp.models import OutboxEvent
from sfa.orders.models import Order, OrderEvent
from tests.builders import headers_for, load, snapshot, world
from tests.erp.receiver import Receiver
from tests.sync_helpers import SyncDevice, mutation, new_id

SECRET = "erp-test-secret"
PLACED = "2026-11-20T15:00:00.000Z"


@pytest.fixture
def settings() -> dict:
    return {"ERP_WEBHOOK_SECRET": SECRET, "ERP_ADAPTER": "webhook"}


@pytest.fixture
def stocked(app):  # noqa: ANN201
    document = world()
    document["stock"][1]["available"] = 500  # amoxicillin back in stock
    load(app, document)
    return document


@pytest.fixture
def rep(app, client, stocked) -> SyncDevice:
    device = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "rep-phone"))
    device.pull()
    return device


def product(device: SyncDevice, sku: str) -> str:
    return next(p["id"] for p in device.records["products"].values() if p["sku"] == sku)


def account(device: SyncDevice, code: str = "A-CO-ANT-01-1") -> str:
    return next(a["id"] for a in device.records["accounts"].values() if a["code"] == code)


def take_order(device: SyncDevice, lines: list[tuple[str, int]], **order_fields) -> tuple:
    """Create a draft with its lines, then submit it, in one push (as the client queues it)."""
    order = new_id()
    line_ids = [new_id() for _ in lines]
    fields = {"account_id": account(device), "placed_at": PLACED, **order_fields}
    results = device.push(
        mutation("orders", "create", order, fields),
        *(
            mutation(
                "order_lines",
                "create",
                line_id,
                {"order_id": order, "product_id": product(device, sku), "quantity": quantity},
            )
            for line_id, (sku, quantity) in zip(line_ids, lines, strict=True)
        ),
        mutation("orders", "update", order, {"status": "submitted"}, 1),
    )
    return order, line_ids, results


def deliver(app, receiver: Receiver) -> None:  # noqa: ANN001
    config = {**app.config, "ERP_WEBHOOK_URL": receiver.url}
    with app.app_context():
        engine = db.engine
    worker = Dispatcher(engine, adapter_factory(config), DispatchSettings(threads=2))
    try:
        worker.run_once()
    finally:
        worker.close()


def send_ack(client, body: dict, *, secret: str = SECRET, at: int | None = None, erp=None):  # noqa: ANN001, ANN201
    raw = json.dumps(body).encode()
    headers = {
        **erp,
        "Content-Type": "application/json",
        "X-SFA-Signature": signature(secret, raw, at if at is not None else int(time.time())),
    }
    return client.post("/api/v1/erp/acks", data=raw, headers=headers)


@pytest.fixture
def erp(client, stocked) -> dict:
    return headers_for(client, "erp@example.com", "erp-connector")


def ack(order: str, kind: str, delivery: str | None = None, **fields) -> dict:
    return {
        "delivery_id": delivery or new_id(),
        "type": kind,
        "order_id": order,
        "occurred_at": "2026-11-23T10:00:00.000Z",
        **fields,
    }


def order_record(device: SyncDevice, order: str) -> dict:
    return device.records["orders"][order]


def test_a_device_order_reaches_the_erp_and_every_answer_comes_back(app, client, rep, erp):
    order, (analgesic, antibiotic), results = take_order(rep, [("P-0001", 20), ("P-0002", 3)])
    assert [r["status"] for r in results] == ["applied"] * 4
    rep.pull()
    record = order_record(rep, order)
    assert record["status"] == "sent_to_erp"
    # the server priced it: 20 x 12,500 plus the 20:1 analgesics bonus; 3 x 30,250.50
    lines = rep.records["order_lines"]
    assert (lines[analgesic]["unit_price"], lines[analgesic]["bonus_quantity"]) == (12500, 1)
    assert lines[antibiotic]["line_total"] == 90751.5
    assert record["total"] == 340751.5 and record["currency"] == "COP"

    with Receiver(SECRET) as receiver:
        deliver(app, receiver)
    (booked,) = receiver.booked.values()
    assert booked.event_type == "order.submitted" and booked.order_id == order
    assert sorted(line["sku"] for line in booked.body["order"]["lines"]) == ["P-0001", "P-0002"]

    accepted = ack(
        order,
        "order.accepted",
        erp_reference="SO-2026-000042",
        lines=[
            {"line_id": analgesic, "status": "accepted", "confirmed_quantity": 20},
            {"line_id": antibiotic, "status": "backordered", "backordered_quantity": 3},
        ],
    )
    assert send_ack(client, accepted, erp=erp).status_code == 200
    rep.pull()
    assert order_record(rep, order)["status"] == "partially_backordered"
    assert order_record(rep, order)["erp_reference"] == "SO-2026-000042"
    assert rep.records["order_lines"][antibiotic]["line_status"] == "backordered"

    shipped = ack(
        order,
        "order.shipped",
        shipment_id="SH-1",
        lines=[{"line_id": analgesic, "shipped_quantity": 20}],
    )
    assert send_ack(client, shipped, erp=erp).status_code == 200
    rep.pull()
    assert order_record(rep, order)["status"] == "shipped"
    assert rep.records["order_lines"][analgesic]["shipped_quantity"] == 20


def test_a_shipment_before_the_acceptance_does_not_move_the_order_back(app, client, rep, erp):
    order, (line, _), _ = take_order(rep, [("P-0001", 10), ("P-0002", 1)])
    shipped = ack(order, "order.shipped", lines=[{"line_id": line, "shipped_quantity": 10}])
    assert send_ack(client, shipped, erp=erp).get_json()["status"] == "shipped"
    late = ack(order, "order.accepted", lines=[{"line_id": line, "confirmed_quantity": 10}])
    assert send_ack(client, late, erp=erp).get_json()["status"] == "shipped"
    earlier = ack(order, "order.shipped", lines=[{"line_id": line, "shipped_quantity": 4}])
    send_ack(client, earlier, erp=erp)
    rep.pull()
    assert rep.records["order_lines"][line]["shipped_quantity"] == 10  # cumulative: never less


def test_an_order_that_fails_its_checks_is_held_and_a_manager_releases_it(app, client, rep):
    order, _, results = take_order(rep, [("P-0002", 400)])  # 12.1 M over a 5 M credit limit
    assert results[-1]["status"] == "applied"
    rep.pull()
    record = order_record(rep, order)
    assert record["status"] == "on_hold"
    assert [reason["code"] for reason in record["hold_reasons"]] == ["credit_limit"]
    assert record["hold_reasons"][0]["details"]["credit_limit"] == 5000000
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0

    manager = headers_for(client, "manager.andina@example.com", "manager-laptop")
    held = client.get("/api/v1/orders?status=on_hold", headers=manager).get_json()["items"]
    assert [o["id"] for o in held] == [order]
    released = client.post(
        f"/api/v1/orders/{order}/release", json={"note": "approved by finance"}, headers=manager
    )
    assert released.status_code == 200 and released.get_json()["status"] == "sent_to_erp"
    detail = client.get(f"/api/v1/orders/{order}", headers=manager).get_json()
    assert [h["kind"] for h in detail["history"]] == ["submitted", "held", "released"]
    assert detail["history"][-1]["details"] == {"note": "approved by finance"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 1


@pytest.mark.parametrize(
    "lines, code",
    [
        ([("P-0002", 501)], "insufficient_stock"),
        ([("P-0001", 1150)], "insufficient_stock"),  # 1,150 + 57 free > 1,200 in stock
        ([("P-0001", 1140)], None),  # 1,140 + 57 free
    ],
)
def test_stock_is_checked_for_every_unit_that_leaves(app, client, rep, lines, code):
    with app.app_context():  # no credit limit in the way
        db.session.execute(update(Account).values(credit_limit=None))
        db.session.commit()
    order, _, _ = take_order(rep, lines)
    rep.pull()
    reasons = order_record(rep, order)["hold_reasons"] or []
    assert [reason["code"] for reason in reasons] == ([code] if code else [])


def test_an_order_without_lines_is_refused_and_stays_a_draft(app, client, rep):
    order = new_id()
    results = rep.push(
        mutation("orders", "create", order, {"account_id": account(rep)}),
        mutation("orders", "update", order, {"status": "submitted"}, 1),
    )
    assert results[1]["status"] == "rejected" and results[1]["code"] == "invalid_order"
    rep.pull()
    assert order_record(rep, order)["status"] == "draft"


def test_the_server_prices_and_records_what_the_device_showed_otherwise(app, client, rep):
    order, (line,), _ = take_order(rep, [("P-0001", 20)], shown_total=Decimal("240000"))
    with app.app_context():
        stored = db.session.get(Order, order)
        assert stored.total == Decimal("250000")
        assert stored.pricing_differences == [  # it showed no bonus unit, and 240,000
            {"line_id": line, "line": 1, "field": "bonus_quantity", "device": 0, "server": 1},
            {"line_id": None, "line": None, "field": "total", "device": 240000, "server": 250000},
        ]


def test_a_rep_cannot_order_out_of_scope_nor_set_status_prices_or_totals(app, client, rep):
    bogota = SyncDevice(client, headers_for(client, "rep.bogota@example.com", "bogota-phone"))
    bogota.pull()
    foreign = next(iter(bogota.records["accounts"]))
    order = new_id()
    (outside,) = rep.push(mutation("orders", "create", order, {"account_id": foreign}))
    assert outside["status"] == "rejected" and outside["code"] == "out_of_scope"
    mine = new_id()
    rep.push(mutation("orders", "create", mine, {"account_id": account(rep)}))
    for fields in ({"status": "accepted"}, {"total": 1}, {"erp_reference": "X"}):
        (result,) = rep.push(mutation("orders", "update", mine, fields, 1))
        assert result["status"] == "rejected", fields
    (line,) = rep.push(
        mutation(
            "order_lines",
            "create",
            new_id(),
            {
                "order_id": mine,
                "product_id": product(rep, "P-0001"),
                "quantity": 1,
                "unit_price": 1,
            },
        )
    )
    assert line["code"] == "field_not_writable"


def test_a_cancelled_order_the_erp_has_is_cancelled_there_after_its_submission(app, client, rep):
    order, _, _ = take_order(rep, [("P-0001", 5)])
    manager = headers_for(client, "manager.andina@example.com", "manager-laptop")
    response = client.post(
        f"/api/v1/orders/{order}/cancel", json={"reason": "duplicate order"}, headers=manager
    )
    assert response.get_json()["status"] == "cancelled"
    with Receiver(SECRET) as receiver:
        deliver(app, receiver)
        deliver(app, receiver)
    kinds = [r.event_type for r in sorted(receiver.booked.values(), key=lambda r: r.at)]
    assert kinds == ["order.submitted", "order.cancelled"]
    rep.pull()
    assert order_record(rep, order)["status"] == "cancelled"


@pytest.mark.parametrize(
    "spoil",
    ["tampered", "wrong secret", "stale", "no signature"],
)
def test_a_forged_or_stale_acknowledgement_changes_nothing(app, client, rep, erp, spoil):
    order, (line,), _ = take_order(rep, [("P-0001", 5)])
    body = ack(order, "order.shipped", lines=[{"line_id": line, "shipped_quantity": 5}])
    before = snapshot(app)
    raw = json.dumps(body).encode()
    stamp = int(time.time()) - (301 if spoil == "stale" else 0)
    secret = "not-the-secret" if spoil == "wrong secret" else SECRET
    headers = {**erp, "Content-Type": "application/json"}
    if spoil != "no signature":
        headers["X-SFA-Signature"] = signature(secret, raw, stamp)
    if spoil == "tampered":
        raw = raw.replace(b'"shipped_quantity": 5', b'"shipped_quantity": 500')
    response = client.post("/api/v1/erp/acks", data=raw, headers=headers)
    assert response.status_code == 400
    expected = "stale_signature" if spoil == "stale" else "invalid_signature"
    assert response.get_json()["error"]["code"] == expected
    assert snapshot(app) == before


def test_a_replayed_acknowledgement_is_not_applied_twice(app, client, rep, erp):
    order, (line,), _ = take_order(rep, [("P-0001", 5)])
    body = ack(order, "order.accepted", lines=[{"line_id": line, "confirmed_quantity": 5}])
    first = send_ack(client, body, erp=erp).get_json()
    before = snapshot(app)
    again = send_ack(client, body, erp=erp).get_json()
    assert again == {**first, "duplicate": True}
    assert snapshot(app) == before
    reused = send_ack(client, {**body, "erp_reference": "OTHER"}, erp=erp)
    assert reused.status_code == 409
    assert reused.get_json()["error"]["code"] == "delivery_id_reused"
    with app.app_context():
        kinds = db.session.scalars(
            select(OrderEvent.kind).where(OrderEvent.order_id == order).order_by(OrderEvent.id)
        ).all()
    assert kinds == ["submitted", "sent_to_erp", "order.accepted"]


def test_an_order_cannot_be_created_already_submitted(app, client, rep):
    """Submitting is an update of a complete order: one created as submitted would skip the
    pricing, the checks and the ERP feed."""
    order = new_id()
    fields = {"account_id": account(rep), "status": "submitted"}
    (result,) = rep.push(mutation("orders", "create", order, fields))
    assert (result["status"], result["code"]) == ("rejected", "invalid_state")
    with app.app_context():
        assert db.session.get(Order, order) is None
