"""Small builders that keep tests short: a tiny field force, and signing in."""

from __future__ import annotations

import copy
import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sfa.clock import today
from sfa.db import Base, db
from sfa.erp.imports.services import import_document

PASSWORD = "field-force-2026"

WORLD: dict[str, Any] = {
    "format": "sfa-import/1",
    "territories": [
        {"code": "CO", "name": "Colombia", "parent": None, "type": "country"},
        {"code": "CO-AND", "name": "Andina", "parent": "CO", "type": "region"},
        {"code": "CO-CAR", "name": "Caribe", "parent": "CO", "type": "region"},
        {"code": "CO-ANT-01", "name": "Medellin Norte", "parent": "CO-AND", "type": "territory"},
        {"code": "CO-BOG-01", "name": "Bogota Chapinero", "parent": "CO-AND", "type": "territory"},
        {"code": "CO-BAQ-01", "name": "Barranquilla", "parent": "CO-CAR", "type": "territory"},
    ],
    "users": [
        {"email": "admin@example.com", "name": "Admin", "role": "admin", "password": PASSWORD},
        {"email": "erp@example.com", "name": "ERP", "role": "erp", "password": PASSWORD},
        {
            "email": "manager.andina@example.com",
            "name": "Manager Andina",
            "role": "manager",
            "password": PASSWORD,
            "territories": ["CO-AND"],
        },
        {
            "email": "rep.medellin@example.com",
            "name": "Rep Medellin",
            "role": "rep",
            "password": PASSWORD,
            "territories": ["CO-ANT-01"],
        },
        {
            "email": "rep.bogota@example.com",
            "name": "Rep Bogota",
            "role": "rep",
            "password": PASSWORD,
            "territories": ["CO-BOG-01"],
        },
        {
            "email": "rep.barranquilla@example.com",
            "name": "Rep Barranquilla",
            "role": "rep",
            "password": PASSWORD,
            "territories": ["CO-BAQ-01"],
        },
    ],
    "products": [
        {
            "sku": "P-0001",
            "name": "Acetaminofen 500 mg x 100",
            "product_line": "ANALGESICS",
            "unit": "box",
            "active": True,
        },
        {
            "sku": "P-0002",
            "name": "Amoxicilina 500 mg x 50",
            "product_line": "ANTIBIOTICS",
            "unit": "box",
            "active": True,
        },
    ],
    "price_lists": [
        {
            "code": "RETAIL",
            "name": "Retail",
            "currency": "COP",
            "items": [{"sku": "P-0001", "price": 12500}, {"sku": "P-0002", "price": 30250.5}],
        },
    ],
    "accounts": [
        {
            "code": f"A-{territory}-{n}",
            "name": f"Drogueria {territory} {n}",
            "kind": "pharmacy",
            "tax_id": "900123456",
            "address": "Cl 80 #45-10",
            "city": "Medellin",
            "phone": "+57 604 555 0101",
            "email": None,
            "channel": "retail",
            "territory": territory,
            "price_list": "RETAIL",
            "credit_limit": 5000000,
            "active": True,
        }
        for territory in ("CO-ANT-01", "CO-BOG-01", "CO-BAQ-01")
        for n in (1, 2)
    ],
    "contacts": [
        {
            "code": f"C-{territory}-1",
            "account": f"A-{territory}-1",
            "name": "Dra. Example",
            "specialty": "pediatrics",
            "phone": "+57 300 555 0101",
            "email": "dra@example.com",
        }
        for territory in ("CO-ANT-01", "CO-BOG-01", "CO-BAQ-01")
    ],
    "stock": [{"sku": "P-0001", "available": 1200}, {"sku": "P-0002", "available": 0}],
    "pricing_rules": [
        {
            "code": "ANALGESICS-20-1",
            "kind": "bonus",
            "priority": 10,
            "product_line": "ANALGESICS",
            "buy": 20,
            "free": 1,
            "repeating": True,
            "mode": "on_top",
        },
        {
            "code": "P-0001-VOLUME",
            "kind": "volume_band",
            "priority": 10,
            "sku": "P-0001",
            "bands": [{"min_quantity": 50, "percent": 5}, {"min_quantity": 100, "percent": 7.5}],
        },
    ],
    "quotas": [
        {
            "territory": "CO-ANT-01",
            "period": "2026-12",
            "product_line": "ANALGESICS",
            "amount": 100000000,
        }
    ],
}


def world() -> dict[str, Any]:
    """A fresh copy of the small field force (tests may edit it)."""
    return copy.deepcopy(WORLD)


def load(app: Flask, document: dict[str, Any] | None = None):  # noqa: ANN201
    """Import ``document`` (default: the small world) through the real import service."""
    with app.app_context():
        hasher = app.extensions["sfa.auth"].hasher
        return import_document(db.session, hasher, document or world(), today())


BOOKKEEPING = frozenset({"sync_clock"})  # rows the migrations seed, not data
TRACKING_COLUMNS = frozenset({"sync_version", "revision", "field_stamps"})


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def snapshot(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: equal snapshots mean nothing was written.
    JSON values are rendered canonically so rows can be compared as sets."""
    with app.app_context():
        return {
            table.name: [
                tuple(_hashable(value) for value in row)
                for row in db.session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


def is_empty(tables: dict[str, list[tuple]]) -> bool:
    """True if a snapshot holds no data (only what the migrations seed)."""
    return all(not rows for name, rows in tables.items() if name not in BOOKKEEPING)


def sign_in(
    client: FlaskClient, email: str, device_id: str = "device-1", password: str = PASSWORD
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/auth/login",
        json={
            "email": email,
            "password": password,
            "device_id": device_id,
            "device_name": "Test phone",
            "platform": "android",
        },
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def headers_for(client: FlaskClient, email: str, device_id: str = "device-1") -> dict[str, str]:
    return bearer(sign_in(client, email, device_id))
