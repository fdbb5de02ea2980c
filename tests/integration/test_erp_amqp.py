"""The AMQP adapter against a real RabbitMQ: what the ERP receives, and how failures surface.

The broker comes from ``SFA_TEST_AMQP_URL`` (default: guest on 127.0.0.1:5672); where none is
reachable the module skips with the reason. Each test declares and deletes its own exchange and
queue, so workers never share them.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

pika = pytest.importorskip("pika", reason="pika is not installed (the `amqp` extra)")

from pika.adapters.blocking_connection import BlockingChannel  # noqa: E402

from sfa.erp.adapters.amqp import AmqpAdapter, from_config  # noqa: E402
from sfa.erp.adapters.base import Delivery, DeliveryFailed  # noqa: E402

BROKER_URL = os.environ.get("SFA_TEST_AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672/%2F"
GENEROUS_SECONDS = 10.0


def _why_broker_unreachable() -> str | None:
    parameters = pika.URLParameters(BROKER_URL)
    where = f"{parameters.host}:{parameters.port}"
    try:
        socket.create_connection((parameters.host, parameters.port), timeout=2).close()
        parameters.socket_timeout, parameters.stack_timeout = 2, 5
        parameters.connection_attempts = 1
        pika.BlockingConnection(parameters).close()
    except (OSError, pika.exceptions.AMQPError) as exc:
        return f"RabbitMQ not reachable at {where} (set SFA_TEST_AMQP_URL): {exc!r}"
    return None


UNREACHABLE = _why_broker_unreachable()
if UNREACHABLE:
    pytest.skip(UNREACHABLE, allow_module_level=True)


@pytest.fixture
def broker() -> Iterator[BlockingChannel]:
    """The test's own channel, standing in for the ERP's side."""
    connection = pika.BlockingConnection(pika.URLParameters(BROKER_URL))
    yield connection.channel()
    connection.close()


@pytest.fixture
def exchange(broker: BlockingChannel) -> Iterator[str]:
    name = f"sfa.test.{uuid.uuid4().hex}"
    broker.exchange_declare(name, exchange_type="topic", durable=True)
    yield name
    broker.exchange_delete(name)


@pytest.fixture
def erp_queue(broker: BlockingChannel, exchange: str) -> Iterator[str]:
    """A durable queue bound the way the ERP is told to bind: every order event."""
    name = f"sfa.test.erp.{uuid.uuid4().hex}"
    broker.queue_declare(name, durable=True)
    broker.queue_bind(name, exchange, routing_key="orders.#")
    yield name
    broker.queue_delete(name)


@pytest.fixture
def adapter(exchange: str) -> Iterator[AmqpAdapter]:
    adapter = AmqpAdapter(BROKER_URL, exchange, timeout=GENEROUS_SECONDS)
    yield adapter
    adapter.close()


def an_event(order_id: str = "ord-1", event_type: str = "order.submitted", **fields) -> Delivery:
    body = json.dumps({"order_id": order_id, "account": "Farmacia Pérez", **fields}).encode()
    return Delivery(str(uuid.uuid4()), event_type, order_id, body)


def received(channel: BlockingChannel, queue: str, count: int) -> list[tuple]:
    """Up to ``count`` messages from ``queue``, waiting generously for each."""
    messages = []
    for message in channel.consume(queue, auto_ack=True, inactivity_timeout=GENEROUS_SECONDS):
        if message == (None, None, None):
            break
        messages.append(message)
        if len(messages) == count:
            break
    channel.cancel()
    return messages


def test_a_submitted_order_reaches_the_erp_queue_with_its_identity(
    adapter: AmqpAdapter, broker: BlockingChannel, erp_queue: str
) -> None:
    event = an_event("ord-42")
    before = int(time.time())

    adapter.deliver(event)

    [(method, properties, body)] = received(broker, erp_queue, 1)
    assert body == event.body
    assert method.routing_key == "orders.order.submitted"
    assert properties.message_id == event.event_id
    assert properties.type == "order.submitted"
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.headers == {"x-sfa-order-id": "ord-42", "x-sfa-event-type": "order.submitted"}
    assert before <= properties.timestamp <= int(time.time()) + 1


def test_an_orders_events_arrive_in_the_order_they_were_delivered(
    adapter: AmqpAdapter, broker: BlockingChannel, erp_queue: str
) -> None:
    events = [
        an_event("ord-7", "order.submitted"),
        *(an_event("ord-7", "order.amended", revision=n) for n in range(1, 8)),
        an_event("ord-7", "order.cancelled"),
    ]

    for event in events:
        adapter.deliver(event)

    messages = received(broker, erp_queue, len(events))
    assert [properties.message_id for _, properties, _ in messages] == [
        event.event_id for event in events
    ]


def test_an_event_no_queue_is_bound_for_is_a_retryable_failure(
    adapter: AmqpAdapter, exchange: str
) -> None:
    with pytest.raises(DeliveryFailed) as failure:
        adapter.deliver(an_event())

    assert failure.value.retryable
    assert "unroutable" in failure.value.reason
    assert exchange in failure.value.reason


def test_constructing_the_adapter_does_not_touch_the_broker() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        AmqpAdapter(f"amqp://guest:guest@127.0.0.1:{port}/%2F", "sfa.orders").close()
        from_config({"ERP_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{port}/%2F"}).close()

        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_an_unreachable_broker_is_a_retryable_failure() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed_port = probe.getsockname()[1]
    adapter = AmqpAdapter(f"amqp://guest:guest@127.0.0.1:{closed_port}/%2F", "sfa.orders")

    with pytest.raises(DeliveryFailed) as failure:
        adapter.deliver(an_event())

    assert failure.value.retryable
    assert f"127.0.0.1:{closed_port}" in failure.value.reason
    adapter.close()


def test_a_dropped_connection_is_replaced_and_the_event_still_delivered(
    exchange: str, broker: BlockingChannel, erp_queue: str
) -> None:
    with Relay(pika.URLParameters(BROKER_URL)) as relay:
        adapter = AmqpAdapter(relay.url, exchange, timeout=GENEROUS_SECONDS)
        first, second = an_event("ord-1"), an_event("ord-2")
        adapter.deliver(first)

        relay.cut()
        adapter.deliver(second)
        adapter.close()

    assert relay.connections == 2
    messages = received(broker, erp_queue, 2)
    assert [properties.message_id for _, properties, _ in messages] == [
        first.event_id,
        second.event_id,
    ]


def test_a_closed_adapter_reconnects_on_the_next_delivery(
    adapter: AmqpAdapter, broker: BlockingChannel, erp_queue: str
) -> None:
    adapter.deliver(an_event("ord-1"))
    adapter.close()

    adapter.deliver(an_event("ord-2"))

    assert len(received(broker, erp_queue, 2)) == 2


def test_the_settings_choose_broker_exchange_routing_and_timeout() -> None:
    adapter = from_config(
        {
            "ERP_AMQP_URL": "amqp://erp:secret@mq.example:5673/erp",
            "ERP_AMQP_EXCHANGE": "erp.inbound",
            "ERP_AMQP_ROUTING_KEY": "sales",
            "ERP_DELIVERY_TIMEOUT_SECONDS": "3",
        }
    )

    assert (adapter.parameters.host, adapter.parameters.port) == ("mq.example", 5673)
    assert adapter.parameters.virtual_host == "erp"
    assert adapter.exchange == "erp.inbound"
    assert adapter.routing_key_for("order.submitted") == "sales.order.submitted"
    assert adapter.parameters.socket_timeout == 3.0


class Relay:
    """A TCP relay in front of the broker whose connections the test cuts, as a network
    failure or a broker restart would."""

    def __init__(self, target: pika.URLParameters) -> None:
        self.upstream = (target.host, target.port)
        user, password = (
            quote(part, safe="")
            for part in (target.credentials.username, target.credentials.password)
        )
        self.listener = socket.create_server(("127.0.0.1", 0))
        port = self.listener.getsockname()[1]
        vhost = quote(target.virtual_host, safe="")
        self.url = f"amqp://{user}:{password}@127.0.0.1:{port}/{vhost}"
        self.connections = 0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        _shut(self.listener)
        self.cut()

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=GENEROUS_SECONDS)
            except OSError:
                _shut(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
                self.connections += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    _shut(sink)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
