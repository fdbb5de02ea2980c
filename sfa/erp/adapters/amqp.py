"""The AMQP adapter: order events published to a RabbitMQ exchange the ERP consumes from.

Each delivery becomes one persistent message (delivery mode 2) on a durable exchange, published
with ``mandatory`` set on a channel in publisher-confirm mode, so ``deliver`` returns only after
the broker has routed the message to at least one queue and confirmed it. Its properties:
``message_id`` the event id (the ERP's idempotency key: the same event may arrive more than
once), ``type`` the event type, ``content_type`` ``application/json``, ``timestamp`` the
publish time in Unix seconds, and headers ``x-sfa-order-id`` and ``x-sfa-event-type``. The body
is the delivery's bytes, unchanged.

Routing key: ``f"{routing_key}.{event_type}"``, e.g. ``orders.order.submitted``. On the default
topic exchange the ERP binds ``orders.#`` to receive every event; it should bind all of them to
one queue, since per-order ordering (create before amend before cancel) holds within one queue
only.

Failures are all retryable ``DeliveryFailed``: no queue bound (a binding may appear later), a
broker nack, and every connection or channel failure. The connection is opened lazily on the
first ``deliver``, never at construction, so a dispatcher starts while the broker is down; after
a failure the next ``deliver`` opens a fresh one. A connection reused from an earlier delivery
may have died while idle (broker restart, missed heartbeats): when it turns out to be dead, the
delivery is retried once at once on a fresh connection.

``timeout`` bounds opening the connection and waiting while the broker blocks publishers
(resource alarm). A broker that goes silent while a confirm is outstanding is detected by the
connection heartbeat, negotiated with the broker (RabbitMQ's default is 60 seconds; a
``heartbeat`` query parameter on the URL overrides it).

Not thread-safe (pika's ``BlockingConnection`` is not): one adapter serves one thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import (
    AMQPChannelError,
    AMQPConnectionError,
    AMQPError,
    ChannelClosed,
    ChannelWrongStateError,
    ConnectionBlockedTimeout,
    NackError,
    UnroutableError,
)

from sfa.erp.adapters.base import Delivery, DeliveryFailed

log = logging.getLogger(__name__)

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_EXCHANGE = "sfa.orders"
DEFAULT_ROUTING_KEY = "orders"
DEFAULT_TIMEOUT_SECONDS = 10.0

PERSISTENT = 2


class AmqpAdapter:
    """Publishes each delivery to ``exchange`` and returns once the broker confirms it."""

    def __init__(
        self,
        url: str,
        exchange: str,
        routing_key: str = DEFAULT_ROUTING_KEY,
        *,
        exchange_type: str = "topic",
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if not exchange:
            raise ValueError("an exchange name is required (the default exchange cannot be used)")
        self.parameters = pika.URLParameters(url)
        self.parameters.socket_timeout = timeout
        self.parameters.stack_timeout = timeout
        self.parameters.blocked_connection_timeout = timeout
        self.exchange = exchange
        self.routing_key = routing_key
        self.exchange_type = exchange_type
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def deliver(self, delivery: Delivery) -> None:
        """Return once the broker has confirmed the message; raise a retryable
        ``DeliveryFailed`` otherwise."""
        reused = self._channel is not None and self._channel.is_open
        try:
            self._publish(delivery)
        except (AMQPError, OSError) as exc:
            self._drop()
            if not (reused and _is_lost_connection(exc)):
                raise self._failure(delivery, exc) from exc
            log.info("AMQP connection to the ERP was lost (%r); reconnecting", exc)
            self._deliver_on_fresh_connection(delivery)

    def close(self) -> None:
        """Close the connection, if any, ignoring errors: it may be dead already."""
        self._drop()

    def routing_key_for(self, event_type: str) -> str:
        return f"{self.routing_key}.{event_type}"

    def _deliver_on_fresh_connection(self, delivery: Delivery) -> None:
        try:
            self._publish(delivery)
        except (AMQPError, OSError) as exc:
            self._drop()
            raise self._failure(delivery, exc) from exc

    def _publish(self, delivery: Delivery) -> None:
        channel = self._open_channel()
        try:
            channel.basic_publish(
                exchange=self.exchange,
                routing_key=self.routing_key_for(delivery.event_type),
                body=delivery.body,
                properties=_properties(delivery),
                mandatory=True,
            )
        except UnroutableError as exc:
            raise DeliveryFailed(
                f"unroutable: no queue is bound to exchange {self.exchange!r} for routing key "
                f"{self.routing_key_for(delivery.event_type)!r}"
            ) from exc
        except NackError as exc:
            raise DeliveryFailed(f"the broker refused (nacked) event {delivery.event_id}") from exc

    def _open_channel(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self._drop()
        self._connection = pika.BlockingConnection(self.parameters)
        channel = self._connection.channel()
        channel.exchange_declare(self.exchange, exchange_type=self.exchange_type, durable=True)
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is None or not connection.is_open:
            return
        try:
            connection.close()
        except (AMQPError, OSError) as exc:
            log.debug("closing the AMQP connection failed: %r", exc)

    def _failure(self, delivery: Delivery, exc: BaseException) -> DeliveryFailed:
        where = f"{self.parameters.host}:{self.parameters.port}"
        if isinstance(exc, AMQPChannelError):
            what = "AMQP channel error"
        elif isinstance(exc, ConnectionBlockedTimeout):
            what = "broker blocked publishing (resource alarm) for too long"
        else:
            what = "AMQP connection failed or was lost"
        detail = str(exc) or repr(exc)
        return DeliveryFailed(f"{what} at {where} for event {delivery.event_id}: {detail}")


def _is_lost_connection(exc: BaseException) -> bool:
    """A failure a fresh connection can cure at once (not a broker that is blocking us)."""
    lost = (AMQPConnectionError, ChannelClosed, ChannelWrongStateError, OSError)
    return isinstance(exc, lost) and not isinstance(exc, ConnectionBlockedTimeout)


def _properties(delivery: Delivery) -> pika.BasicProperties:
    return pika.BasicProperties(
        message_id=delivery.event_id,
        type=delivery.event_type,
        content_type="application/json",
        delivery_mode=PERSISTENT,
        timestamp=int(time.time()),
        headers={"x-sfa-order-id": delivery.order_id, "x-sfa-event-type": delivery.event_type},
    )


def from_config(config: Mapping[str, Any]) -> AmqpAdapter:
    """The adapter the ``ERP_AMQP_*`` settings describe (see docs/erp-amqp.md)."""
    return AmqpAdapter(
        config.get("ERP_AMQP_URL") or DEFAULT_URL,
        config.get("ERP_AMQP_EXCHANGE") or DEFAULT_EXCHANGE,
        config.get("ERP_AMQP_ROUTING_KEY") or DEFAULT_ROUTING_KEY,
        timeout=float(config.get("ERP_DELIVERY_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS),
    )
