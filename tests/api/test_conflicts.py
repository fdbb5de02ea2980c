"""Managers see the conflicts of their subtree and settle the ones kept for review."""

from __future__ import annotations

import pytest

from tests.builders import headers_for, load
from tests.sync_helpers import SyncDevice, mutation


@pytest.fixture
def address_review(app, client):
    """Two devices of the Medellín rep edit an account's address at once: kept for review."""
    load(app)
    first = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "phone-1"))
    second = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "phone-2"))
    first.pull()
    account = min(first.records["accounts"].values(), key=lambda a: a["code"])
    first.push(mutation("accounts", "update", account["id"], {"address": "Cra 1"}, 1))
    second.push(mutation("accounts", "update", account["id"], {"address": "Cra 2"}, 1))
    return account, second


def open_conflicts(client, headers) -> list[dict]:
    response = client.get("/api/v1/conflicts?status=open", headers=headers)
    assert response.status_code == 200
    return response.get_json()["items"]


def test_the_regional_manager_sees_the_open_review(client, address_review):
    account, _ = address_review
    (conflict,) = open_conflicts(client, headers_for(client, "manager.andina@example.com"))
    assert (conflict["record_id"], conflict["field"], conflict["overruled_value"]) == (
        account["id"],
        "address",
        "Cra 2",
    )


def test_another_territorys_rep_sees_nothing(client, address_review):
    assert open_conflicts(client, headers_for(client, "rep.bogota@example.com")) == []


def test_applying_the_devices_value_reaches_every_device(client, address_review):
    account, second = address_review
    manager = headers_for(client, "manager.andina@example.com")
    (conflict,) = open_conflicts(client, manager)
    response = client.post(
        f"/api/v1/conflicts/{conflict['id']}/resolve", json={"decision": "apply"}, headers=manager
    )
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["resolution"]) == (
        "resolved",
        "apply",
    )
    second.pull()
    assert second.records["accounts"][account["id"]]["address"] == "Cra 2"
    again = client.post(
        f"/api/v1/conflicts/{conflict['id']}/resolve", json={"decision": "keep"}, headers=manager
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_resolved"


def test_keeping_the_servers_value_changes_no_record(client, address_review):
    account, second = address_review
    manager = headers_for(client, "manager.andina@example.com")
    (conflict,) = open_conflicts(client, manager)
    client.post(
        f"/api/v1/conflicts/{conflict['id']}/resolve", json={"decision": "keep"}, headers=manager
    )
    second.pull()
    assert second.records["accounts"][account["id"]]["address"] == "Cra 1"


def test_reps_cannot_settle_conflicts_and_outsiders_get_404(client, address_review):
    rep = headers_for(client, "rep.medellin@example.com", "phone-3")
    (conflict,) = open_conflicts(client, headers_for(client, "manager.andina@example.com"))
    forbidden = client.post(
        f"/api/v1/conflicts/{conflict['id']}/resolve", json={"decision": "apply"}, headers=rep
    )
    assert forbidden.status_code == 403
