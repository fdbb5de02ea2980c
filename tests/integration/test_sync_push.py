"""Pushes: exactly-once effect, partial rejection, write permissions, merge and conflicts."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from sfa.db import db
from sfa.orders.models import Order
from sfa.sync.models import Conflict
from tests.builders import headers_for, load, snapshot
from tests.sync_helpers import PROTOCOL, SyncDevice, mutation, new_id


@pytest.fixture
def rep(app, client) -> SyncDevice:
    load(app)
    device = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "phone-1"))
    device.pull()
    return device


def first_account(device: SyncDevice) -> dict:
    return min(device.records["accounts"].values(), key=lambda a: a["code"])


def a_product(device: SyncDevice) -> str:
    return min(device.records["products"])


def test_a_replayed_push_returns_the_stored_results_and_changes_nothing(app, rep):
    account = first_account(rep)
    order = new_id()
    batch = [
        mutation("accounts", "update", account["id"], {"phone": "+57 1"}, account["revision"]),
        mutation("orders", "create", order, {"account_id": account["id"]}),
        mutation(
            "order_lines",
            "create",
            new_id(),
            {"order_id": order, "product_id": a_product(rep), "quantity": 2},
        ),
    ]
    first = rep.push(*batch)
    before = data(app)

    replay = rep.push(*batch)  # the first response was lost; the device sends it again

    assert [r["status"] for r in replay] == ["duplicate"] * 3
    assert [r["original"] for r in replay] == first
    assert data(app) == before


def data(app) -> dict:
    """Everything but the device's last-contact time, which every push (even a replay) moves."""
    return {name: rows for name, rows in snapshot(app).items() if name != "device_sync_status"}


def test_a_lost_acknowledgement_never_creates_a_second_order(app, rep):
    account = first_account(rep)
    order = mutation("orders", "create", new_id(), {"account_id": account["id"]})
    rep.push(order)
    for _ in range(3):
        rep.push(order)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_one_bad_mutation_never_blocks_the_others(rep):
    account = first_account(rep)
    results = rep.push(
        mutation("accounts", "update", account["id"], {"phone": "+57 2"}, account["revision"]),
        mutation("accounts", "update", account["id"], {"credit_limit": 1}, account["revision"]),
        mutation("spaceships", "create", new_id(), {}),
        {"id": "m-4", "entity": "visits"},
        mutation("visits", "create", new_id(), {"account_id": account["id"], "outcome": "ok"}),
        mutation("accounts", "update", new_id(), {"phone": "x"}, 1),
        "not even an object",
    )
    assert [r["status"] for r in results] == [
        "applied",
        "rejected",
        "rejected",
        "rejected",
        "applied",
        "rejected",
        "rejected",
    ]
    assert [r.get("code") for r in results if r["status"] == "rejected"] == [
        "field_not_writable",
        "unknown_entity",
        "invalid_mutation",
        "not_found",
        "invalid_mutation",
    ]
    assert results[1]["details"] == {"fields": ["credit_limit"]}


@pytest.mark.parametrize(
    "entity, op, fields, code",
    [
        ("accounts", "create", {"name": "x"}, "operation_not_allowed"),
        ("accounts", "delete", {}, "operation_not_allowed"),
        ("products", "update", {"name": "x"}, "operation_not_allowed"),
        ("quotas", "update", {"amount": 1}, "operation_not_allowed"),
        ("accounts", "update", {"territory_id": "x"}, "field_not_writable"),
        ("accounts", "update", {"price_list_id": "x"}, "field_not_writable"),
        ("accounts", "update", {"email": "not-an-email"}, "invalid_fields"),
        ("accounts", "update", {"phone": 12}, "invalid_fields"),
    ],
)
def test_reps_cannot_write_privileged_fields(rep, entity, op, fields, code):
    target = first_account(rep)["id"] if entity == "accounts" else new_id()
    (result,) = rep.push(mutation(entity, op, target, fields, 1))
    assert (result["status"], result["code"]) == ("rejected", code)


def test_a_device_cannot_set_server_owned_order_fields(rep):
    account = first_account(rep)
    results = rep.push(
        mutation("orders", "create", new_id(), {"account_id": account["id"], "total": 1}),
        mutation("orders", "create", new_id(), {"account_id": account["id"], "user_id": "x"}),
        mutation("orders", "create", new_id(), {"account_id": account["id"], "status": "shipped"}),
    )
    assert [r["code"] for r in results] == [
        "field_not_writable",
        "field_not_writable",
        "invalid_fields",
    ]


def test_a_submitted_order_can_no_longer_change(rep):
    account = first_account(rep)
    order = new_id()
    rep.push(
        mutation("orders", "create", order, {"account_id": account["id"]}),
        mutation(
            "order_lines",
            "create",
            new_id(),
            {"order_id": order, "product_id": a_product(rep), "quantity": 1},
        ),
        mutation("orders", "update", order, {"status": "submitted"}, 1),
    )
    results = rep.push(
        mutation("orders", "update", order, {"notes": "late"}, 2),
        mutation(
            "order_lines",
            "create",
            new_id(),
            {"order_id": order, "product_id": a_product(rep), "quantity": 1},
        ),
        mutation("orders", "delete", order, base_revision=2),
    )
    assert [r["code"] for r in results] == ["invalid_state"] * 3


def test_only_the_author_may_change_a_visit(app, client, rep):
    account = first_account(rep)
    visit = new_id()
    rep.push(mutation("visits", "create", visit, {"account_id": account["id"]}))
    colleague = SyncDevice(client, headers_for(client, "manager.andina@example.com", "tablet"))
    (result,) = colleague.push(mutation("visits", "update", visit, {"notes": "mine"}, 1))
    assert result["code"] == "operation_not_allowed"


def test_reusing_a_mutation_id_for_another_change_is_refused(rep):
    account = first_account(rep)
    rep.push(mutation("accounts", "update", account["id"], {"phone": "1"}, 1, mutation_id="m-1"))
    (result,) = rep.push(
        mutation("accounts", "update", account["id"], {"phone": "2"}, 1, mutation_id="m-1")
    )
    assert (result["status"], result["code"]) == ("rejected", "mutation_id_reused")


def test_a_push_over_the_batch_limit_is_refused_whole(rep):
    account = first_account(rep)
    batch = [
        mutation("accounts", "update", account["id"], {"phone": str(n)}, 1) for n in range(501)
    ]
    response = rep.client.post(
        "/api/v1/sync/push", json={"mutations": batch}, headers={**rep.headers, **PROTOCOL}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "too_many_mutations"
    assert response.get_json()["error"]["details"] == {"max_mutations": 500}


def test_edits_to_different_fields_of_one_record_both_survive(app, client, rep):
    account = first_account(rep)
    other = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "phone-2"))
    other.pull()
    rep.push(mutation("accounts", "update", account["id"], {"phone": "+57 9"}, 1))
    (result,) = other.push(
        mutation("accounts", "update", account["id"], {"email": "new@example.com"}, 1)
    )
    assert result["status"] == "applied"
    rep.pull()
    merged = rep.records["accounts"][account["id"]]
    assert (merged["phone"], merged["email"]) == ("+57 9", "new@example.com")
    assert merged["revision"] == 3


def test_an_address_edited_on_both_sides_is_kept_for_review(app, client, rep):
    account = first_account(rep)
    other = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "phone-2"))
    rep.push(mutation("accounts", "update", account["id"], {"address": "Cra 1"}, 1))
    (result,) = other.push(mutation("accounts", "update", account["id"], {"address": "Cra 2"}, 1))
    assert result["status"] == "merged"
    assert result["conflicts"] == [
        {
            "field": "address",
            "policy": "review",
            "winner": "server",
            "server_value": "Cra 1",
            "client_value": "Cra 2",
        }
    ]
    with app.app_context():
        (conflict,) = db.session.scalars(select(Conflict))
        assert (conflict.status, conflict.overruled_value) == ("open", "Cra 2")


@pytest.mark.parametrize("together", [True, False], ids=["one push", "two pushes"])
def test_a_devices_second_offline_edit_of_a_field_is_not_its_own_rival(app, rep, together):
    """Offline, a rep corrects an address twice; both edits are based on the revision the
    device last pulled. The second replaces the first: it is not a conflict with itself."""
    account = first_account(rep)
    first = mutation("accounts", "update", account["id"], {"address": "Cra 1"}, 1)
    second = mutation("accounts", "update", account["id"], {"address": "Cra 1 # 2-3"}, 1)
    results = rep.push(first, second) if together else rep.push(first) + rep.push(second)
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert rep.pull()["accounts"]["upserts"][0]["address"] == "Cra 1 # 2-3"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conflict)) == 0


EDITS = {
    "a": ("phone-a", "+57 111", "2026-11-23T09:00:00.000Z"),
    "b": ("phone-b", "+57 222", "2026-11-23T09:05:00.000Z"),
    "c": ("phone-c", "+57 333", "2026-11-23T09:02:00.000Z"),
}


@pytest.mark.parametrize(
    "arrival", list(itertools.permutations("abc")), ids=lambda order: "".join(order)
)
def test_three_concurrent_edits_give_one_result_in_any_arrival_order(app, client, arrival):
    load(app)
    devices = {
        name: SyncDevice(client, headers_for(client, "rep.medellin@example.com", device))
        for name, (device, _, _) in EDITS.items()
    }
    for device in devices.values():
        device.pull()
    account = first_account(devices["a"])
    for name in arrival:
        _, phone, edited_at = EDITS[name]
        devices[name].push(
            mutation(
                "accounts",
                "update",
                account["id"],
                {"phone": phone, "email": f"{name}@example.com"},
                account["revision"],
                edited_at=edited_at,
                mutation_id=f"edit-{name}",
            ),
        )  # the devices' clocks are right: no skew to correct
    devices["a"].pull()
    final = devices["a"].records["accounts"][account["id"]]
    assert (final["phone"], final["email"]) == ("+57 222", "b@example.com")  # b is the latest
    with app.app_context():  # what each conflict says: who lost which value, and what stands
        log = {
            (c.field, c.policy, c.kept_value, c.overruled_value, c.user_id)
            for c in db.session.scalars(select(Conflict))
        }
    assert {(field, kept, lost) for field, _, kept, lost, _ in log} == {
        ("phone", "+57 222", "+57 111"),
        ("phone", "+57 222", "+57 333"),
        ("email", "b@example.com", "a@example.com"),
        ("email", "b@example.com", "c@example.com"),
    }


def test_a_conflict_is_synced_to_the_rep_whose_value_lost(app, client, rep):
    account = first_account(rep)
    other = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "phone-2"))
    rep.push(
        mutation(
            "accounts",
            "update",
            account["id"],
            {"phone": "late"},
            1,
            edited_at="2026-11-23T10:00:00.000Z",
        )
    )
    other.push(
        mutation(
            "accounts",
            "update",
            account["id"],
            {"phone": "early"},
            1,
            edited_at="2026-11-23T08:00:00.000Z",
        )
    )
    other.pull()
    (conflict,) = other.records["conflicts"].values()
    assert (conflict["field"], conflict["overruled_value"], conflict["kept_value"]) == (
        "phone",
        "early",
        "late",
    )


def test_a_back_office_change_after_the_device_read_the_record_is_a_concurrent_edit(app, rep):
    from tests.builders import world

    account = first_account(rep)
    document = world()
    document["accounts"][0]["address"] = "Cl 10 #1-1 (ERP)"
    load(app, document)
    (result,) = rep.push(
        mutation("accounts", "update", account["id"], {"address": "Cl 99"}, account["revision"])
    )
    assert result["status"] == "merged" and result["conflicts"][0]["winner"] == "server"


def test_a_rep_adds_a_new_doctor_at_an_account(rep):
    account = first_account(rep)
    doctor = new_id()
    (result,) = rep.push(
        mutation(
            "contacts",
            "create",
            doctor,
            {"account_id": account["id"], "name": "Dr. Nueva", "specialty": "cardiology"},
        )
    )
    assert result["status"] == "applied"
    rep.pull()
    assert rep.records["contacts"][doctor]["code"] is None
    assert rep.records["contacts"][doctor]["name"] == "Dr. Nueva"


@pytest.fixture
def poisoned_visits(app):
    """A database rule the application does not know about: visits noted 'poison' are refused."""
    from sqlalchemy import text

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.session.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON visits WHEN NEW.notes = 'poison' "
                    "BEGIN SELECT RAISE(ABORT, 'poisoned visit'); END"
                )
            )
        else:
            db.session.execute(
                text(
                    "ALTER TABLE visits ADD CONSTRAINT poison "
                    "CHECK (notes IS DISTINCT FROM 'poison')"
                )
            )
        db.session.commit()
    yield
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("DROP TRIGGER poison"))
        else:
            db.session.execute(text("ALTER TABLE visits DROP CONSTRAINT poison"))
        db.session.commit()


def test_a_value_the_database_refuses_is_rejected_alone(app, rep, poisoned_visits):
    account = first_account(rep)
    ids = [new_id() for _ in range(3)]
    results = rep.push(
        *[
            mutation("visits", "create", visit, {"account_id": account["id"], "notes": notes})
            for visit, notes in zip(ids, ["fine", "poison", "also fine"], strict=True)
        ]
    )
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["code"] == "invalid_fields"
    rep.pull()
    assert rep.ids("visits") == {ids[0], ids[2]}
