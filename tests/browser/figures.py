"""The figures a manager's dashboard shows, entered the way the business enters them: quotas
set by the admin, forecasts pushed from the reps' phones, a manager's adjustment, and an order
the ERP accepted (attainment). All for December 2026, analgesics, in the Andina region."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sfa.accounts.models import Account
from sfa.catalog.models import Product
from sfa.db import db
from sfa.orders import services as orders
from sfa.territories.models import Territory
from tests.builders import headers_for
from tests.sync_helpers import SyncDevice, mutation, new_id

MONTH = "2026-12"
LINE = "ANALGESICS"
ADMIN = "admin@example.com"
MANAGER = "manager.andina@example.com"
MEDELLIN = "rep.medellin@example.com"
BOGOTA = "rep.bogota@example.com"

QUOTAS = {"CO-ANT-01": 120_000_000, "CO-BOG-01": 80_000_000}
FORECASTS = {
    MEDELLIN: {"commit": 95_000_000, "best_case": 12_345_678.9},
    BOGOTA: {"commit": 70_000_000, "pipeline": 30_000_000},
}
MEDELLIN_COMMIT_ADJUSTED = 90_000_000


def territory_ids(app: Flask) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(select(Territory.code, Territory.id)).all())


def enter_figures(app: Flask) -> dict[str, str]:
    """Enter the month's figures into a loaded small world; returns territory ids by code."""
    client = app.test_client()
    territories = territory_ids(app)
    admin = headers_for(client, ADMIN, "admin-laptop")
    for code, amount in QUOTAS.items():
        quota = {"territory_id": territories[code], "period": MONTH, "product_line": LINE}
        response = client.put(
            "/api/v1/forecasting/quotas", json={**quota, "amount": amount}, headers=admin
        )
        assert response.status_code == 200, response.get_json()
    phones = {}
    for rep, categories in FORECASTS.items():
        phones[rep] = SyncDevice(client, headers_for(client, rep, f"phone-{rep}"))
        for category, amount in categories.items():
            _submit_forecast(phones[rep], category, amount)
    _adjust(client, territories["CO-ANT-01"], MEDELLIN_COMMIT_ADJUSTED)
    _order_the_erp_accepted(app, phones[MEDELLIN], "A-CO-ANT-01-1")
    return territories


def _submit_forecast(phone: SyncDevice, category: str, amount: float) -> None:
    record = new_id()
    fields = {"period": MONTH, "product_line": LINE, "category": category, "amount": amount}
    results = phone.push(
        mutation("forecasts", "create", record, fields),
        mutation("forecasts", "update", record, {"status": "submitted"}, 1),
    )
    assert [r["status"] for r in results] == ["applied", "applied"], results


def _adjust(client: FlaskClient, territory_id: str, amount: int) -> None:
    change = {
        "territory_id": territory_id,
        "period": MONTH,
        "product_line": LINE,
        "category": "commit",
        "amount": amount,
        "note": "the clinic tender moves to January",
    }
    manager = headers_for(client, MANAGER, "manager-tablet")
    response = client.post("/api/v1/forecasting/adjustments", json=change, headers=manager)
    assert response.status_code == 201, response.get_json()


def _order_the_erp_accepted(app: Flask, phone: SyncDevice, account_code: str) -> None:
    with app.app_context():
        account = db.session.scalar(select(Account.id).where(Account.code == account_code))
        product = db.session.scalar(select(Product.id).where(Product.sku == "P-0001"))
    order, line = new_id(), new_id()
    forty_boxes = {"order_id": order, "product_id": product, "quantity": 40}
    results = phone.push(
        mutation("orders", "create", order, {"account_id": account, "placed_at": _mid_month()}),
        mutation("order_lines", "create", line, forty_boxes),
        mutation("orders", "update", order, {"status": "submitted"}, 1),
    )
    assert all(r["status"] == "applied" for r in results), results
    accepted: dict[str, Any] = {
        "delivery_id": new_id(),
        "type": "order.accepted",
        "order_id": order,
        "occurred_at": datetime.now(UTC),
    }
    with app.app_context():
        orders.acknowledge(db.session, accepted, datetime.now(UTC))
        db.session.commit()


def _mid_month() -> str:
    return f"{MONTH}-15T15:00:00.000Z"
