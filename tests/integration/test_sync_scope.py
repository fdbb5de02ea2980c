"""Scope is enforced and followed: devices see exactly their territories, follow realignments
and reassignments on their next pull, and never keep ghosts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sfa.db import db
from sfa.territories.models import TerritoryAssignment
from tests.builders import headers_for, load, world
from tests.sync_helpers import SyncDevice, mutation, new_id

MEDELLIN, BOGOTA = "CO-ANT-01", "CO-BOG-01"


@pytest.fixture
def devices(app, client):
    load(app)
    medellin = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "phone-m"))
    bogota = SyncDevice(client, headers_for(client, "rep.bogota@example.com", "phone-b"))
    medellin.pull()
    bogota.pull()
    return medellin, bogota


def move_account(app, code: str, territory: str) -> None:
    document = world()
    for account in document["accounts"]:
        if account["code"] == code:
            account["territory"] = territory
    load(app, document)


def children_of(device: SyncDevice, account_id: str) -> dict[str, set[str]]:
    found = {
        entity: {
            r["id"]
            for r in device.records.get(entity, {}).values()
            if r.get("account_id") == account_id
        }
        for entity in ("contacts", "orders", "visits")
    }
    found["order_lines"] = {
        r["id"]
        for r in device.records.get("order_lines", {}).values()
        if r["order_id"] in found["orders"]
    }
    return found


def account_id(device: SyncDevice, code: str) -> str:
    return next(r["id"] for r in device.records["accounts"].values() if r["code"] == code)


def give_the_account_history(device: SyncDevice, account: str) -> None:
    order = new_id()
    results = device.push(
        mutation("orders", "create", order, {"account_id": account, "notes": "weekly"}),
        mutation(
            "order_lines",
            "create",
            new_id(),
            {
                "order_id": order,
                "product_id": next(iter(device.records["products"])),
                "quantity": 10,
            },
        ),
        mutation("visits", "create", new_id(), {"account_id": account, "outcome": "order"}),
    )
    assert [r["status"] for r in results] == ["applied"] * 3
    device.pull()


def test_an_account_moved_into_a_territory_arrives_with_its_unchanged_children(app, devices):
    medellin, bogota = devices
    moving = account_id(medellin, "A-CO-ANT-01-1")
    give_the_account_history(medellin, moving)
    history = children_of(medellin, moving)
    assert all(history.values())

    move_account(app, "A-CO-ANT-01-1", BOGOTA)
    arrived = bogota.pull()

    assert moving in {a["id"] for a in arrived["accounts"]["upserts"]}
    assert children_of(bogota, moving) == history
    assert (
        bogota.records["accounts"][moving]["territory_id"] != medellin.records["territories"].keys()
    )


def test_an_account_moved_out_leaves_no_ghost_on_the_device(app, devices):
    medellin, _ = devices
    moving = account_id(medellin, "A-CO-ANT-01-1")
    give_the_account_history(medellin, moving)

    move_account(app, "A-CO-ANT-01-1", BOGOTA)
    left = medellin.pull()

    assert moving in left["accounts"]["removals"]
    assert moving not in medellin.ids("accounts")
    assert children_of(medellin, moving) == {
        e: set() for e in ("contacts", "orders", "order_lines", "visits")
    }
    fresh = SyncDevice(medellin.client, medellin.headers)
    fresh.pull()
    assert medellin.state() == fresh.state()


def test_an_edit_pushed_to_a_moved_out_account_is_rejected_and_shown_as_a_conflict(app, devices):
    medellin, _ = devices
    moving = account_id(medellin, "A-CO-ANT-01-1")
    revision = medellin.records["accounts"][moving]["revision"]
    move_account(app, "A-CO-ANT-01-1", BOGOTA)

    (result,) = medellin.push(
        mutation("accounts", "update", moving, {"phone": "+57 300 111 2222"}, revision)
    )

    assert result["status"] == "rejected" and result["code"] == "out_of_scope"
    medellin.pull()
    (conflict,) = medellin.records["conflicts"].values()
    assert conflict["record_id"] == moving and conflict["policy"] == "out_of_scope"
    assert conflict["overruled_value"] == {"phone": "+57 300 111 2222"}


def test_a_rep_reassigned_to_another_territory_swaps_data_without_a_full_resync(
    app, client, devices
):
    medellin, bogota = devices
    document = world()
    for user in document["users"]:
        if user["email"] == "rep.medellin@example.com":
            user["territories"] = [BOGOTA]
    _backdate_assignments(app)
    load(app, document)

    changes = medellin.pull()

    assert {r["code"] for r in medellin.records["accounts"].values()} == {
        r["code"] for r in bogota.records["accounts"].values()
    }
    assert {r["code"] for r in medellin.records["territories"].values()} == {BOGOTA}
    removed = set(changes["accounts"]["removals"])
    assert {a for a in removed} and not removed & medellin.ids("accounts")
    fresh = SyncDevice(client, medellin.headers)
    fresh.pull()
    assert medellin.state() == fresh.state()


def _backdate_assignments(app) -> None:
    """Assignments made today are replaced, not ended; age them so history is kept."""
    with app.app_context():
        for assignment in db.session.scalars(select(TerritoryAssignment)):
            assignment.valid_from -= timedelta(days=30)
        db.session.commit()


def test_a_device_never_receives_another_territorys_records(app, devices):
    medellin, bogota = devices
    give_the_account_history(bogota, account_id(bogota, "A-CO-BOG-01-1"))
    medellin.pull()
    territories = {t for t in medellin.records["territories"]}
    assert all(a["territory_id"] in territories for a in medellin.records["accounts"].values())
    own = set(medellin.records["accounts"])
    for entity in ("contacts", "orders", "order_lines", "visits"):
        assert all(r["account_id"] in own for r in medellin.records.get(entity, {}).values())


def test_a_push_to_another_territorys_account_is_rejected_out_of_scope(app, devices):
    medellin, bogota = devices
    theirs = account_id(bogota, "A-CO-BOG-01-1")
    results = medellin.push(
        mutation("accounts", "update", theirs, {"phone": "x"}, 1),
        mutation("visits", "create", new_id(), {"account_id": theirs}),
        mutation("orders", "create", new_id(), {"account_id": theirs}),
    )
    assert [r["code"] for r in results] == ["out_of_scope"] * 3
