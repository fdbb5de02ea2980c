"""Why a sync or a sign-in stopped: the server's refusals the app must act on, by error code."""

from __future__ import annotations

from typing import Any


class SyncStopped(Exception):
    """The base of every error the device raises after giving up (transport errors aside)."""


class ServerRefused(SyncStopped):
    """The server answered with an error body (``{"error": {"code", "message", "details"}}``)
    that the device does not handle itself; ``code`` is the stable one to branch on."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class DeviceWiped(ServerRefused):
    """The server told the device to wipe (``device_revoked``, ``account_disabled``): its
    records, cursor, queue and tokens are gone. The app must sign out."""


class SignInRequired(ServerRefused):
    """The tokens can no longer be used (refresh token expired, unknown or missing): ask the
    user to sign in again. Local data and the queue are kept."""


class ProtocolUnsupported(ServerRefused):
    """The server no longer speaks this protocol version (``details.supported`` lists those it
    does): stop syncing until the app is updated."""


class ResetRequired(ServerRefused):
    """The stored cursor (or continuation) cannot be served (``reset_required``,
    ``invalid_cursor``): the device keeps its queue and pulls everything again. Handled inside
    a sync; an app only sees it if even a pull from scratch is refused."""


class ProtocolViolation(SyncStopped):
    """The server's answer does not follow the protocol (it fails its JSON Schema, or leaves a
    pushed mutation without a result). Nothing of it was applied."""
