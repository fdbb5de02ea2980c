"""The reference device client of protocol 1: a local SQLite store, an offline mutation queue,
and the sync loop (push the queue, then pull until done). Standard library and ``jsonschema``
only; ``python -m mobile_protocol.client --help`` runs it from a terminal.

    store = LocalStore("device.db")
    device = Device(store, HttpTransport("https://sfa.example.com"))
    device.sign_in("rep01@example.com", password, device_name="Pixel 8", platform="android")
    device.queue.record_update("accounts", account_id, {"phone": "+57 604 555 0199"})
    report = device.sync()
    store.local_view("accounts")
"""

from mobile_protocol.client.device import Conflict, Device, SyncReport
from mobile_protocol.client.errors import (
    DeviceWiped,
    ProtocolUnsupported,
    ProtocolViolation,
    ServerRefused,
    SignInRequired,
    SyncStopped,
)
from mobile_protocol.client.queue import Mutation, MutationQueue, Rejection, UnknownRecord
from mobile_protocol.client.session import RetryPolicy
from mobile_protocol.client.store import LocalStore
from mobile_protocol.client.transport import HttpTransport, Response, Transport, TransportError

__all__ = [
    "Conflict",
    "Device",
    "DeviceWiped",
    "HttpTransport",
    "LocalStore",
    "Mutation",
    "MutationQueue",
    "ProtocolUnsupported",
    "ProtocolViolation",
    "Rejection",
    "Response",
    "RetryPolicy",
    "ServerRefused",
    "SignInRequired",
    "SyncReport",
    "SyncStopped",
    "Transport",
    "TransportError",
    "UnknownRecord",
]
