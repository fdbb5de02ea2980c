"""An order and its outbox event commit together (design property 10): whatever fails around
the commit of a push, and however often the device sends it again, every order sent to the ERP
has exactly one ``order.submitted`` event, no event lacks its order, and no order is held or
sent twice."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from sfa.db import db
from sfa.erp.models import OutboxEvent
from sfa.orders.models import Order, OrderEvent
from tests.builders import headers_for, load, world
from tests.sync_helpers import PROTOCOL, SyncDevice, mutation, new_id

ORDERS = 1_000
ORDERS_PER_PUSH = 10
HELD_SHARE = 0.1  # ordered out of stock: held, so never an event
SEED = 20261120


class LostRace(Exception):
    """What the driver raises for a serialization failure: the view is simply run again."""

    sqlstate = "40001"


class ServerCrashed(Exception):
    pass


class CommitFaults:
    """Faults around the commits made while armed. Before a commit: a lost race (the push is
    run again inside the request) or a crash (the device gets an error; nothing was written).
    After a commit: a crash, so the push is kept but the device never hears of it."""

    def __init__(self, seed: int, *, race: float, crash: float, lost: float) -> None:
        self.rng = random.Random(seed)
        self.race, self.crash, self.lost = race, crash, lost
        self.armed = False
        self.injected: Counter[str] = Counter()

    def before_commit(self, _session: object) -> None:
        if not self.armed:
            return
        roll = self.rng.random()
        if roll < self.race:
            self.injected["race before commit"] += 1
            raise OperationalError("COMMIT", None, LostRace("could not serialize access"))
        if roll < self.race + self.crash:
            self.injected["crash before commit"] += 1
            raise ServerCrashed("the server died before the commit")

    def after_commit(self, _session: object) -> None:
        if self.armed and self.rng.random() < self.lost:
            self.injected["crash after commit"] += 1
            raise ServerCrashed("the server died after the commit")


@pytest.fixture
def faults(app: Flask) -> Iterator[CommitFaults]:
    injected = CommitFaults(SEED, race=0.15, crash=0.1, lost=0.1)
    event.listen(db.session, "before_commit", injected.before_commit)
    event.listen(db.session, "after_commit", injected.after_commit)
    yield injected
    event.remove(db.session, "before_commit", injected.before_commit)
    event.remove(db.session, "after_commit", injected.after_commit)


@pytest.fixture
def rep(app: Flask, client) -> SyncDevice:  # noqa: ANN001
    document = world()
    for account in document["accounts"]:  # a thousand orders: no credit limit in the way
        account["credit_limit"] = None
    load(app, document)
    device = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "rep-phone"))
    device.pull()
    return device


def order_mutations(device: SyncDevice, rng: random.Random) -> tuple[str, list[dict]]:
    """A draft, its line and its submission, as the device queues them."""
    by_sku = {p["sku"]: p["id"] for p in device.records["products"].values()}
    order, line = new_id(), new_id()
    sku = "P-0002" if rng.random() < HELD_SHARE else "P-0001"
    account = rng.choice(sorted(device.records["accounts"]))
    return order, [
        mutation("orders", "create", order, {"account_id": account}),
        mutation(
            "order_lines",
            "create",
            line,
            {"order_id": order, "product_id": by_sku[sku], "quantity": 1},
        ),
        mutation("orders", "update", order, {"status": "submitted"}, 1),
    ]


def push_until_answered(
    device: SyncDevice, mutations: list[dict], faults: CommitFaults, drop_answer: bool
) -> tuple[list[dict], int]:
    """Send the same push until it is answered (and the answer not lost); returns the results
    and how many times it was sent."""
    body = {"protocol": 1, "mutations": mutations}
    for sent in range(1, 40):
        faults.armed = True
        try:
            response = device.client.post(
                "/api/v1/sync/push", json=body, headers={**device.headers, **PROTOCOL}
            )
        finally:
            faults.armed = False
        if response.status_code != 200:
            assert response.status_code in (500, 503), response.get_json()
            assert response.get_json()["error"]["code"] in ("internal_error", "busy")
            continue
        if drop_answer and sent == 1:  # the answer is lost on the way: the device retries
            continue
        return response.get_json()["results"], sent
    raise AssertionError("the push was never answered")


def count(statement) -> int:  # noqa: ANN001
    return db.session.scalar(select(func.count()).select_from(statement.subquery()))


def test_every_order_sent_to_the_erp_has_exactly_one_event_whatever_fails_around_the_commit(
    app, rep, faults
):
    rng = random.Random(SEED)
    orders: list[str] = []
    answers: Counter[str] = Counter()
    for _ in range(ORDERS // ORDERS_PER_PUSH):
        batch = [order_mutations(rep, rng) for _ in range(ORDERS_PER_PUSH)]
        orders += [order for order, _ in batch]
        mutations = [m for _, ms in batch for m in ms]
        results, sent = push_until_answered(rep, mutations, faults, rng.random() < 0.1)
        answers["resent"] += sent - 1
        statuses = {r["status"] for r in results}
        assert statuses in ({"applied"}, {"duplicate"}), results  # never half a push
        answers[statuses.pop()] += 1
        assert all(r.get("original", r)["status"] == "applied" for r in results)

    assert answers["duplicate"] > 0 and answers["resent"] > 0
    assert set(faults.injected) == {
        "race before commit",
        "crash before commit",
        "crash after commit",
    }
    with app.app_context():
        statuses = dict(db.session.execute(select(Order.id, Order.status)).all())
        assert sorted(statuses) == sorted(orders)
        assert set(statuses.values()) == {"sent_to_erp", "on_hold"}
        events = Counter(
            db.session.scalars(
                select(OutboxEvent.order_id).where(OutboxEvent.type == "order.submitted")
            )
        )
        sent = {order for order, status in statuses.items() if status == "sent_to_erp"}
        assert {order for order, n in events.items() if n == 1} == sent
        assert set(events) == sent  # none twice, none for a held order
        orphans = select(OutboxEvent.id).where(~OutboxEvent.order_id.in_(select(Order.id)))
        assert count(orphans) == 0
        assert count(select(OutboxEvent.id)) == len(sent)
        history = Counter(
            db.session.execute(
                select(OrderEvent.order_id, OrderEvent.kind).where(
                    OrderEvent.kind.in_(("submitted", "held", "sent_to_erp"))
                )
            ).all()
        )
        assert all(n == 1 for n in history.values())  # no order submitted, held or sent twice
        assert sum(1 for _, kind in history if kind == "submitted") == ORDERS
        assert {order for order, kind in history if kind == "held"} == set(statuses) - sent


def test_a_push_retried_after_a_lost_answer_is_a_duplicate_and_sends_no_second_event(app, rep):
    order, mutations = order_mutations(rep, random.Random(1))
    mutations[1]["fields"]["product_id"] = next(
        p["id"] for p in rep.records["products"].values() if p["sku"] == "P-0001"
    )
    first = rep.push(*mutations)  # its answer never reached the device
    again = rep.push(*mutations)

    assert [r["status"] for r in first] == ["applied"] * 3
    assert [r["status"] for r in again] == ["duplicate"] * 3
    assert [r["original"] for r in again] == first
    with app.app_context():
        assert db.session.get(Order, order).status == "sent_to_erp"
        events = db.session.scalars(select(OutboxEvent).where(OutboxEvent.order_id == order)).all()
        assert [(e.type, e.seq) for e in events] == [("order.submitted", 1)]
        kinds = db.session.scalars(
            select(OrderEvent.kind).where(OrderEvent.order_id == order).order_by(OrderEvent.id)
        ).all()
        assert kinds == ["submitted", "sent_to_erp"]
