"""The contract every ERP adapter keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Delivery:
    """One attempt to hand one outbox event to the ERP."""

    event_id: str  # stable across retries: the ERP's idempotency key
    event_type: str  # e.g. order.submitted
    order_id: str
    body: bytes  # the event as JSON, exactly the bytes to send (and to sign)


class DeliveryFailed(Exception):
    """The ERP did not take the event. ``retryable`` False means trying again cannot help
    (the dispatcher dead-letters it at once); True means back off and try again."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.retryable = retryable


class Adapter(Protocol):
    def deliver(self, delivery: Delivery) -> None:
        """Return only when the ERP has taken the event (durably); raise DeliveryFailed."""

    def close(self) -> None: ...
