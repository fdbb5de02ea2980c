"""The outbox dispatcher (design properties 10 and 11): every order event reaches the ERP at
least once and is booked once, whatever kills the dispatcher; retries back off with full
jitter and end in a dead letter that an operator replays; one poison order never blocks the
others; several dispatchers never send one event twice nor an order's events out of order;
and the pull feed never skips an event that commits late."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.auth.models import User
from sfa.cli.main import cli
from sfa.columns import utcnow
from sfa.db import db
from sfa.erp.adapters.base import Adapter, Delivery
from sfa.erp.dispatcher import Dispatcher
from sfa.erp.feed import adapter_factory, dispatch_settings
from sfa.erp.models import OutboxEvent
from sfa.orders import services as orders
from sfa.orders.models import Order, OrderLine
from tests.builders import headers_for, load, world
from tests.erp.receiver import TIMED_OUT, Behaviour, Receiver
from tests.sync_helpers import SyncDevice, mutation, new_id

SECRET = "erp-test-secret"
SEED = 1120
postgresql_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def settings() -> dict:
    return {"ERP_WEBHOOK_SECRET": SECRET, "ERP_ADAPTER": "webhook"}


@dataclass
class Shop:
    """A rep's device taking orders, and a manager who may cancel them."""

    app: Flask
    device: SyncDevice
    accounts: list[str]
    product: str
    rep_id: str
    manager_id: str

    def take_orders(self, count: int, per_push: int = 10) -> list[str]:
        """``count`` one-line orders, created and submitted by pushes of ``per_push``."""
        taken: list[str] = []
        while len(taken) < count:
            batch = [new_id() for _ in range(min(per_push, count - len(taken)))]
            mutations = []
            for n, order in enumerate(batch):
                line = {"order_id": order, "product_id": self.product, "quantity": 1}
                mutations += [
                    mutation("orders", "create", order, {"account_id": self.accounts[n % 2]}),
                    mutation("order_lines", "create", new_id(), line),
                    mutation("orders", "update", order, {"status": "submitted"}, 1),
                ]
            assert {r["status"] for r in self.device.push(*mutations)} == {"applied"}
            taken += batch
        return taken

    def cancel(self, order_id: str) -> None:
        with self.app.app_context():
            orders.cancel(db.session, order_id, self.manager_id, "called off", utcnow())
            db.session.commit()


@pytest.fixture
def shop(app: Flask, client) -> Shop:  # noqa: ANN001
    document = world()
    for account in document["accounts"]:  # hundreds of orders: no credit limit in the way
        account["credit_limit"] = None
    load(app, document)
    device = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "rep-phone"))
    device.pull()
    with app.app_context():
        users = dict(db.session.execute(select(User.email, User.id)).all())
    return Shop(
        app,
        device,
        sorted(device.records["accounts"]),
        next(p["id"] for p in device.records["products"].values() if p["sku"] == "P-0001"),
        users["rep.medellin@example.com"],
        users["manager.andina@example.com"],
    )


def dispatcher(
    app: Flask,
    url: str,
    *,
    clock: Callable[[], datetime] = utcnow,
    rng: random.Random | None = None,
    wrap: Callable[[Adapter], Adapter] = lambda adapter: adapter,
    **config: object,
) -> Dispatcher:
    """A dispatcher as ``sfa erp-feed`` builds it, from the app's settings and ``config``."""
    merged = {**app.config, "ERP_WEBHOOK_URL": url, **config}
    make = adapter_factory(merged)
    with app.app_context():
        engine = db.engine
    return Dispatcher(engine, lambda: wrap(make()), dispatch_settings(merged), clock=clock, rng=rng)


def outbox(app: Flask) -> list[OutboxEvent]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def wait_until(condition: Callable[[], bool], seconds: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


# killed again and again ---------------------------------------------------------------------

KILLS = 20
KILLED_ORDERS = 500


class FeedProcess:
    """``sfa erp-feed`` as a child process; ``ready`` once it has started delivering."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        sfa = Path(sys.executable).with_name("sfa")
        command = [str(sfa)] if sfa.exists() else [sys.executable, "-m", "sfa.cli.main"]
        with log.open("ab") as errors:
            self.process = subprocess.Popen(
                [*command, "erp-feed"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        self.ready = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        for line in self.process.stdout:
            if line.startswith("erp-feed: delivering"):
                self.ready.set()

    def kill(self) -> int:
        os.kill(self.process.pid, signal.SIGKILL)
        return self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def feed_environment(app: Flask, receiver: Receiver) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SFA_DATABASE_URL": app.config["DATABASE_URL"],
        "SFA_SECRET_KEY": "x",
        "SFA_LOG_LEVEL": "ERROR",
        "SFA_ERP_ADAPTER": "webhook",
        "SFA_ERP_WEBHOOK_URL": receiver.url,
        "SFA_ERP_WEBHOOK_SECRET": SECRET,
        "SFA_ERP_LEASE_SECONDS": "2",
        "SFA_ERP_BACKOFF_BASE_SECONDS": "0.05",
        "SFA_ERP_BACKOFF_MAX_SECONDS": "0.5",
        "SFA_ERP_POLL_SECONDS": "0.1",
        "SFA_ERP_DISPATCH_BATCH": "20",
    }


def kill_at_random(feed: FeedProcess, receiver: Receiver, rng: random.Random) -> None:
    """Mostly while it is delivering (right after it sent something), sometimes anywhere,
    starting up included."""
    sent_before = len(receiver.calls)
    if rng.random() < 0.75:
        wait_until(lambda: feed.ready.is_set() and len(receiver.calls) > sent_before, 10)
        time.sleep(rng.uniform(0, 0.04))
    else:
        time.sleep(rng.uniform(0.1, 2.0))
    assert feed.kill() == -signal.SIGKILL


@postgresql_only
def test_killing_the_dispatcher_twenty_times_loses_nothing_and_the_erp_books_each_order_once(
    app, shop, tmp_path, record_property
):
    rng = random.Random(SEED)
    taken: list[str] = []

    def take_orders_meanwhile() -> None:
        for _ in range(KILLED_ORDERS // 10):
            taken.extend(shop.take_orders(10))
            time.sleep(0.3)

    behaviour = Behaviour(latency_seconds=0.01)  # each booking answered a little later
    feeds: list[FeedProcess] = []
    with Receiver(SECRET, behaviour) as receiver:
        environment = feed_environment(app, receiver)
        flow = threading.Thread(target=take_orders_meanwhile)
        flow.start()
        try:
            for _ in range(KILLS):
                feeds.append(FeedProcess(environment, tmp_path / "feed.log"))
                kill_at_random(feeds[-1], receiver, rng)
            flow.join()
            last_kill = time.monotonic()
            feeds.append(FeedProcess(environment, tmp_path / "feed.log"))
            delivered = wait_until(
                lambda: (
                    all(e.status == "delivered" for e in outbox(app))
                    and len(receiver.booked) >= KILLED_ORDERS
                ),
                60,
                step=0.25,
            )
            drained = time.monotonic() - last_kill
        finally:
            flow.join()
            for feed in feeds:
                if feed.process.poll() is None:
                    feed.stop()

    events = outbox(app)
    resent = receiver.accepted_again()
    reclaimed = sum(1 for e in events if e.attempts > 1)
    record_property("http_duplicates", resent)
    record_property("events_claimed_again", reclaimed)
    record_property("seconds_to_drain_after_last_kill", round(drained, 1))
    print(
        f"\n{resent} duplicate deliveries at the HTTP level, {receiver.incomplete} requests "
        f"cut off by a kill, {reclaimed} events claimed again after a kill; all delivered "
        f"{drained:.1f} s after the last kill"
    )
    assert delivered, (tmp_path / "feed.log").read_text()[-3000:]
    assert len(taken) == KILLED_ORDERS
    assert sorted(receiver.booked) == sorted(e.id for e in events)  # none lost, none extra
    assert sorted(r.order_id for r in receiver.booked.values()) == sorted(taken)
    assert {r.event_type for r in receiver.booked.values()} == {"order.submitted"}
    assert receiver.bad_signatures == 0


# a flaky ERP, and one order it never takes ------------------------------------------------

MAX_ATTEMPTS = 5
BASE, CAP = 1.0, 4.0  # backoff seconds, on the driven clock
STEP = 0.1  # the driven clock moves this much between rounds
SLOW_CALL = 0.5  # the delivery timeout, in real seconds (a busy machine answers slower)


class DrivenClock:
    """The dispatcher's and the receiver's time, moved on by the test between rounds."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def timestamp(self) -> float:
        return self.at.timestamp()

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def ceiling(failures: int) -> float:
    return min(CAP, BASE * 2 ** (failures - 1))


def settled(events: list[OutboxEvent], poison: str) -> bool:
    """Everything delivered but the poison order's events, and its first one dead."""
    return all(e.status == "delivered" for e in events if e.order_id != poison) and any(
        e.status == "dead" for e in events
    )


def test_a_flaky_erp_gets_every_order_and_the_poison_one_is_dead_lettered_after_n_attempts(
    app, shop
):
    (poison,) = shop.take_orders(1)  # the oldest: first in line
    shop.cancel(poison)  # its cancellation must wait behind it
    others = shop.take_orders(30)
    clock = DrivenClock(utcnow())
    started = clock.timestamp()
    behaviour = Behaviour(
        failure_rate=0.2,
        slow_rate=0.1,
        slow_seconds=SLOW_CALL * 2,
        poison_orders={poison},
        seed=SEED,
        max_failures_in_a_row=MAX_ATTEMPTS - 2,
    )
    with Receiver(SECRET, behaviour, clock=clock.timestamp) as receiver:
        worker = dispatcher(
            app,
            receiver.url,
            clock=clock.now,
            rng=random.Random(SEED),
            ERP_MAX_ATTEMPTS=MAX_ATTEMPTS,
            ERP_BACKOFF_BASE_SECONDS=BASE,
            ERP_BACKOFF_MAX_SECONDS=CAP,
            ERP_DELIVERY_TIMEOUT_SECONDS=SLOW_CALL,
            ERP_DISPATCH_THREADS=8,
        )
        try:
            for _ in range(int(CAP * MAX_ATTEMPTS / STEP) + 10):
                worker.run_once()
                if settled(outbox(app), poison):
                    break
                clock.advance(STEP)
            for _ in range(3):  # long after: the poison order's cancellation still waits
                clock.advance(CAP)
                worker.run_once()
        finally:
            worker.close()

    events = {(e.order_id, e.type): e for e in outbox(app)}
    submitted, cancelled = events[poison, "order.submitted"], events[poison, "order.cancelled"]
    assert (submitted.status, submitted.attempts) == ("dead", MAX_ATTEMPTS)
    assert submitted.last_error.startswith("HTTP 500")
    assert [status for _, status in receiver.attempts(submitted.id)] == [500] * MAX_ATTEMPTS
    assert (cancelled.status, cancelled.attempts, receiver.attempts(cancelled.id)) == (
        "pending",
        0,
        [],
    )
    assert sorted(r.order_id for r in receiver.booked.values()) == sorted(others)
    assert all(events[order, "order.submitted"].status == "delivered" for order in others)
    first_tries = {receiver.attempts(events[o, "order.submitted"].id)[0][0] for o in others}
    assert first_tries == {started}, receiver.calls  # all in the first round, beside the poison

    statuses = Counter(status for _, _, status in receiver.calls)
    assert statuses[503] and statuses[TIMED_OUT] and receiver.bad_signatures == 0
    gaps = [
        (later - earlier, ceiling(failures))
        for event in events.values()
        for failures, ((earlier, _), (later, _)) in enumerate(
            zip(receiver.attempts(event.id), receiver.attempts(event.id)[1:], strict=False),
            start=1,
        )
    ]
    assert len(gaps) >= 10
    assert all(0 <= gap <= bound + STEP + 1e-6 for gap, bound in gaps), gaps
    assert any(gap < bound / 2 for gap, bound in gaps), gaps  # full jitter, not a fixed wait


# several dispatchers at once ---------------------------------------------------------------


class CountingAdapter:
    """The real adapter, counting what each dispatcher sent."""

    def __init__(self, inner: Adapter, tally: Counter[str], name: str) -> None:
        self.inner, self.tally, self.name = inner, tally, name

    def deliver(self, delivery: Delivery) -> None:
        self.inner.deliver(delivery)
        self.tally[self.name] += 1

    def close(self) -> None:
        self.inner.close()


@postgresql_only
def test_three_dispatchers_send_each_event_once_and_never_a_cancellation_first(app, shop):
    tally: Counter[str] = Counter()
    stop = threading.Event()
    with Receiver(SECRET) as receiver:
        workers = [
            dispatcher(
                app,
                receiver.url,
                wrap=lambda adapter, name=name: CountingAdapter(adapter, tally, name),
                ERP_POLL_SECONDS=0.02,
            )
            for name in ("a", "b", "c")
        ]
        threads = [threading.Thread(target=w.run_forever, args=(stop,)) for w in workers]
        for thread in threads:
            thread.start()
        cancelled = []
        try:
            for _ in range(30):
                batch = shop.take_orders(10)
                for order in batch[::3]:  # right after submission, while it may be in flight
                    shop.cancel(order)
                    cancelled.append(order)
            expected = 300 + len(cancelled)
            assert wait_until(lambda: len(receiver.booked) >= expected, 30)
            assert wait_until(lambda: all(e.status == "delivered" for e in outbox(app)), 10)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            for worker in workers:
                worker.close()

    calls = Counter(key for _, key, _ in receiver.calls)
    assert len(calls) == expected and set(calls.values()) == {1}  # never claimed twice
    assert sorted(tally) == ["a", "b", "c"]  # all three took part
    position = {key: n for n, (_, key, _) in enumerate(receiver.calls)}
    for order in cancelled:
        kinds = {r.event_type: r.event_id for r in receiver.booked.values() if r.order_id == order}
        assert position[kinds["order.submitted"]] < position[kinds["order.cancelled"]]


# dead letters --------------------------------------------------------------------------------


@pytest.fixture
def sfa(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """``sfa ARGS...`` in this process against the test app's database; returns its output."""
    for name, value in {
        "SFA_DATABASE_URL": app.config["DATABASE_URL"],
        "SFA_SECRET_KEY": "x",
        "SFA_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.mark.parametrize("via", ["api", "cli"])
def test_a_dead_letter_is_listed_replayed_and_delivered_once_the_erp_is_fixed(
    app, client, shop, sfa, via
):
    (order,) = shop.take_orders(1)
    admin = headers_for(client, "admin@example.com", "admin-laptop")
    with Receiver(SECRET, Behaviour(poison_orders={order})) as receiver:
        worker = dispatcher(app, receiver.url, ERP_MAX_ATTEMPTS=2, ERP_BACKOFF_BASE_SECONDS=0)
        try:
            worker.run_once()
            worker.run_once()
            (dead,) = outbox(app)
            listed = client.get("/api/v1/erp/dead-letters", headers=admin).get_json()["items"]
            assert [(d["id"], d["order_id"], d["attempts"]) for d in listed] == [
                (dead.id, order, 2)
            ]
            assert listed[0]["last_error"].startswith("HTTP 500")
            assert dead.id in sfa("erp-feed", "dead") and "2 attempts" in sfa("erp-feed", "dead")
            rep = client.get("/api/v1/erp/dead-letters", headers=shop.device.headers)
            assert rep.status_code == 403

            receiver.behaviour.poison_orders.clear()  # the ERP is fixed
            if via == "api":
                replay = client.post(f"/api/v1/erp/dead-letters/{dead.id}/replay", headers=admin)
                assert replay.status_code == 200 and replay.get_json()["attempts"] == 0
            else:
                assert "will be sent again" in sfa("erp-feed", "replay", dead.id)
            worker.run_once()
        finally:
            worker.close()

    (event,) = outbox(app)
    assert (event.status, event.attempts) == ("delivered", 1)
    assert list(receiver.booked) == [dead.id]
    assert [status for _, status in receiver.attempts(dead.id)] == [500, 500, 200]
    assert client.get("/api/v1/erp/dead-letters", headers=admin).get_json()["items"] == []
    again = client.post(f"/api/v1/erp/dead-letters/{dead.id}/replay", headers=admin)
    assert again.status_code == 409  # delivered: replaying by hand would send it twice
    assert again.get_json()["error"]["code"] == "not_dead_letter"
    assert again.get_json()["error"]["details"] == {"event_id": dead.id, "status": "delivered"}
    refused = CliRunner().invoke(cli, ["erp-feed", "replay", dead.id])
    assert refused.exit_code != 0 and "is delivered, not dead" in refused.output
    unknown = client.post("/api/v1/erp/dead-letters/no-such-event/replay", headers=admin)
    assert unknown.status_code == 404
    (event,) = outbox(app)
    assert (event.status, event.attempts) == ("delivered", 1)  # the refusals changed nothing


# the pull feed -------------------------------------------------------------------------------


def read_feed(client, erp: dict, limit: int) -> list[dict]:  # noqa: ANN001
    """One pass as the ERP makes it: from the oldest pending event, page after page."""
    events, after = [], None
    while True:
        query = {"limit": limit, **({"after": after} if after else {})}
        page = client.get("/api/v1/erp/events", query_string=query, headers=erp).get_json()
        assert len(page["events"]) <= limit
        events += page["events"]
        after = page["cursor"]
        if not page["has_more"]:
            return events


@contextlib.contextmanager
def order_left_open(app: Flask, shop: Shop) -> Iterator[Session]:
    """An order submitted in a transaction left open: its event exists, uncommitted."""
    with app.app_context():
        engine = db.engine
    with Session(engine, expire_on_commit=False) as session:
        order = Order(
            id=new_id(), account_id=shop.accounts[0], user_id=shop.rep_id, status="submitted"
        )
        line = OrderLine(
            id=new_id(),
            order_id=order.id,
            account_id=order.account_id,
            product_id=shop.product,
            quantity=1,
        )
        session.add_all([order, line])
        session.flush()
        orders.submit(session, order, orders.OrderSettings(), utcnow(), shop.rep_id)
        session.flush()
        yield session


def test_the_pull_feed_pages_oldest_first_forgets_what_is_acked_and_never_skips_a_late_commit(
    app, client, shop, backend
):
    erp = headers_for(client, "erp@example.com", "erp-connector")
    before = [order for _ in range(3) for order in shop.take_orders(1)]
    with order_left_open(app, shop) as late_transaction:
        late = late_transaction.scalar(select(OutboxEvent).order_by(OutboxEvent.id.desc()))
        if backend == "postgresql":  # these commit while it is open, with newer event ids
            before += [order for _ in range(3) for order in shop.take_orders(1)]
        first = read_feed(client, erp, limit=2)
        late_transaction.commit()
    assert [e["order"]["id"] for e in first] == before  # oldest first, the open one unseen
    assert all(e["type"] == "order.submitted" for e in first)
    acked = client.post(
        "/api/v1/erp/events/ack", json={"event_ids": [e["event_id"] for e in first]}, headers=erp
    )
    assert acked.get_json()["acknowledged"] == len(before)

    later = read_feed(client, erp, limit=2)

    assert [e["event_id"] for e in later] == [late.id]  # committed late, offered still
    again = client.post("/api/v1/erp/events/ack", json={"event_ids": [late.id]}, headers=erp)
    assert again.get_json()["acknowledged"] == 1
    assert read_feed(client, erp, limit=2) == []
    twice = client.post("/api/v1/erp/events/ack", json={"event_ids": [late.id]}, headers=erp)
    assert twice.get_json()["acknowledged"] == 0
    assert client.get("/api/v1/erp/events", headers=shop.device.headers).status_code == 403


def test_the_pull_feed_holds_a_cancellation_until_its_submission_is_acknowledged(app, client, shop):
    erp = headers_for(client, "erp@example.com", "erp-connector")
    cancelled, kept = shop.take_orders(2)
    shop.cancel(cancelled)
    assert len(outbox(app)) == 3  # two submissions and the cancellation, all pending

    first = read_feed(client, erp, limit=1)

    assert [(e["type"], e["order"]["id"]) for e in first] == [
        ("order.submitted", cancelled),
        ("order.submitted", kept),
    ]
    client.post("/api/v1/erp/events/ack", json={"event_ids": [first[1]["event_id"]]}, headers=erp)
    assert [e["event_id"] for e in read_feed(client, erp, limit=5)] == [first[0]["event_id"]]
    client.post("/api/v1/erp/events/ack", json={"event_ids": [first[0]["event_id"]]}, headers=erp)

    second = read_feed(client, erp, limit=5)

    assert [(e["type"], e["order"]["id"]) for e in second] == [("order.cancelled", cancelled)]
