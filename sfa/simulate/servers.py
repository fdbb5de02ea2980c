"""The server a simulated fleet works against: the app in this process, or one at a URL.

Either way devices reach it through a ``mobile_protocol`` transport; they differ in how the
back office sends master data (the import service itself, or ``POST /api/v1/admin/import``)
and in how patient a device is with failures (a server in this process never fails
transiently, so any error surfaces at once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url

from mobile_protocol.client import Device, HttpTransport, RetryPolicy, Transport
from sfa.auth.models import User
from sfa.clock import today
from sfa.db import db
from sfa.erp.imports.services import ImportReport, import_document
from sfa.simulate.demo_fleet import ADMIN_EMAIL
from sfa.simulate.transport import InProcessTransport

IMPORT_PATH = "/api/v1/admin/import"


class FleetServer(Protocol):
    """Where the simulated devices sync, and where the back office sends its changes."""

    description: str
    retry: RetryPolicy

    def connect(self) -> Transport:
        """A transport for one device (each device gets its own)."""
        ...

    def import_master_data(self, admin: Device, document: dict[str, Any]) -> None:
        """Applies an ``sfa-import/1`` document as the back office (``admin`` is signed in as
        an administrator); raises if the server refuses it."""
        ...


class InProcessServer:
    """The app in this process, on its configured database (already migrated)."""

    retry = RetryPolicy(attempts=1)

    def __init__(self, app: Flask) -> None:
        self.app = app
        url = make_url(app.config["DATABASE_URL"]).render_as_string(hide_password=True)
        self.description = f"in-process, {url}"

    def connect(self) -> Transport:
        return InProcessTransport(self.app)

    def import_master_data(self, admin: Device, document: dict[str, Any]) -> None:
        self._import(document)

    def ensure_demo_data(self, document: Callable[[], dict[str, Any]]) -> ImportReport | None:
        """Imports ``document()`` unless the demo company is already there (its admin exists);
        returns the import's report, or None when nothing was imported."""
        with self.app.app_context():
            found = db.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL))
            db.session.rollback()
        return None if found is not None else self._import(document())

    def _import(self, document: dict[str, Any]) -> ImportReport:
        with self.app.app_context():
            hasher = self.app.extensions["sfa.auth"].hasher
            return import_document(db.session, hasher, document, today())


class RemoteServer:
    """A running server at ``url`` that holds the demo data."""

    retry = RetryPolicy()

    def __init__(self, url: str) -> None:
        self.url = url
        self.description = url

    def connect(self) -> Transport:
        return HttpTransport(self.url)

    def import_master_data(self, admin: Device, document: dict[str, Any]) -> None:
        admin.server.send("POST", IMPORT_PATH, body=document)
