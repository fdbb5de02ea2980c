"""The device's local store and its offline mutation queue, without any server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mobile_protocol.client import LocalStore, MutationQueue, UnknownRecord
from mobile_protocol.client.queue import wire_timestamp
from tests.unit.test_device_fake_server import record

MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
REP = {"id": "u-rep01", "name": "Rep 01", "role": "rep"}


def page(entity: str, *upserts: dict, removals: tuple[str, ...] = ()) -> dict:
    return {entity: {"upserts": list(upserts), "removals": list(removals)}}


def a_store_with(*records: tuple[str, dict], path: str = ":memory:") -> LocalStore:
    """A store that has pulled ``records`` (pairs of entity and record)."""
    store = LocalStore(path)
    changes: dict = {}
    for entity, built in records:
        changes.setdefault(entity, {"upserts": [], "removals": []})["upserts"].append(built)
    store.apply_pull(changes, "c1")
    return store


def test_a_queued_edit_survives_an_app_restart(tmp_path):
    path = str(tmp_path / "device.db")
    store = a_store_with(("accounts", record("accounts", "a-1")), path=path)
    queued = MutationQueue(store).record_update("accounts", "a-1", {"phone": "+57 1"}, MORNING)
    store.close()

    reopened = LocalStore(path)

    assert MutationQueue(reopened).pending() == [queued]
    assert reopened.local_record("accounts", "a-1")["phone"] == "+57 1"
    assert reopened.cursor == "c1"


def test_the_local_view_shows_pending_edits_on_top_of_the_server_state():
    store = a_store_with(
        ("accounts", record("accounts", "a-1")),
        ("accounts", record("accounts", "a-2")),
        ("visits", record("visits", "v-1")),
    )
    queue = MutationQueue(store)
    queue.record_update("accounts", "a-1", {"phone": "+57 1"})
    queue.record_create("visits", "v-2", {"account_id": "a-2"})
    queue.record_update("visits", "v-2", {"notes": "met the owner"})
    queue.record_delete("visits", "v-1")

    accounts = store.local_view("accounts")

    assert [(a["id"], a["phone"]) for a in accounts] == [
        ("a-1", "+57 1"),
        ("a-2", "+57 604 555 0101"),
    ]
    assert store.local_view("visits") == [
        {"id": "v-2", "account_id": "a-2", "notes": "met the owner"}
    ]
    assert store.server_record("accounts", "a-1")["phone"] == "+57 604 555 0101"
    assert store.server_record("visits", "v-1") is not None


def test_an_edit_remembers_the_revision_the_device_last_saw():
    store = a_store_with(("accounts", record("accounts", "a-1", revision=4)))
    queue = MutationQueue(store)

    update = queue.record_update("accounts", "a-1", {"email": "farmacia@example.com"})
    create = queue.record_create("visits", "v-9", {"account_id": "a-1"})
    follow_up = queue.record_update("visits", "v-9", {"notes": "call back"})

    assert update.base_revision == 4
    assert create.to_wire().keys() == {"id", "entity", "op", "record_id", "fields", "edited_at"}
    assert follow_up.base_revision is None
    assert len({update.id, create.id, follow_up.id}) == 3


def test_editing_what_the_device_cannot_see_is_refused_before_it_is_queued():
    store = a_store_with(("visits", record("visits", "v-1")))
    queue = MutationQueue(store)
    queue.record_delete("visits", "v-1")
    queue.record_create("visits", "v-2", {"account_id": "a-1"})

    with pytest.raises(UnknownRecord):
        queue.record_update("accounts", "a-404", {"phone": "+57 1"})
    with pytest.raises(UnknownRecord):
        queue.record_update("visits", "v-1", {"notes": "deleted already"})
    with pytest.raises(ValueError, match="unknown entity"):
        queue.record_create("pharmacies", "x-1", {"name": "x"})
    with pytest.raises(ValueError, match="already exists"):
        queue.record_create("visits", "v-2", {"account_id": "a-1"})
    assert len(queue) == 2


def test_the_queue_keeps_mutations_in_the_order_they_were_made():
    store = a_store_with(("accounts", record("accounts", "a-1")))
    queue = MutationQueue(store, clock=lambda: MORNING)
    for minute in range(5):
        queue.record_update(
            "accounts", "a-1", {"notes": minute}, MORNING + timedelta(minutes=minute)
        )

    assert [m.fields["notes"] for m in queue.pending()] == [0, 1, 2, 3, 4]
    assert [m.fields["notes"] for m in queue.pending(limit=2)] == [0, 1]
    assert queue.pending()[-1].edited_at == "2026-11-23T09:04:00.000Z"


def test_answered_mutations_leave_the_queue_and_rejected_ones_are_kept_to_show():
    store = a_store_with(("accounts", record("accounts", "a-1")))
    queue = MutationQueue(store)
    applied, rejected, duplicate, waiting = (
        queue.record_update("accounts", "a-1", {"phone": str(n)}) for n in range(4)
    )

    rejections = queue.settle(
        [
            {"id": applied.id, "status": "applied", "record_id": "a-1", "revision": 2},
            {
                "id": rejected.id,
                "status": "rejected",
                "code": "invalid_fields",
                "reason": "bad phone",
                "details": {"errors": [{"path": "phone", "message": "too short"}]},
            },
            {
                "id": duplicate.id,
                "status": "duplicate",
                "original": {"status": "rejected", "code": "invalid_state", "reason": "closed"},
            },
            {
                "id": "an-id-this-device-never-sent",
                "status": "applied",
                "record_id": "x",
                "revision": 1,
            },
        ]
    )

    assert queue.pending() == [waiting]
    assert [(r.mutation_id, r.code) for r in rejections] == [
        (rejected.id, "invalid_fields"),
        (duplicate.id, "invalid_state"),
    ]
    assert queue.rejections() == rejections
    assert rejections[0].details["errors"][0]["path"] == "phone"
    queue.dismiss(rejected.id)
    assert [r.mutation_id for r in queue.rejections()] == [duplicate.id]


def test_staged_pages_stay_invisible_until_the_last_page_is_applied():
    store = LocalStore()
    store.stage_page(page("accounts", record("accounts", "a-1"), record("accounts", "a-2")))

    assert store.local_view("accounts") == [] and store.cursor is None

    counts = store.apply_pull(
        page("accounts", record("accounts", "a-1", name="Renamed"), removals=("a-2",)), "c7"
    )

    assert counts == (3, 1)
    assert [(a["id"], a["name"]) for a in store.local_view("accounts")] == [("a-1", "Renamed")]
    assert store.cursor == "c7"


def test_a_pull_that_fails_to_apply_changes_nothing():
    store = a_store_with(("accounts", record("accounts", "a-1")))
    store.stage_page(page("accounts", record("accounts", "a-2")))
    broken = page("accounts", {"name": "a record without an id"})

    with pytest.raises(KeyError):
        store.apply_pull(broken, "c2")

    assert [a["id"] for a in store.local_view("accounts")] == ["a-1"]
    assert store.cursor == "c1"


def test_a_reset_forgets_the_server_state_but_keeps_the_queue_identity_and_tokens():
    store = a_store_with(("accounts", record("accounts", "a-1")))
    store.sign_in(REP, "access", "refresh")
    device_id = store.device_id
    queue = MutationQueue(store)
    queue.record_create("visits", "v-1", {"account_id": "a-1"})
    store.stage_page(page("accounts", record("accounts", "a-2")))

    store.forget_server_state()

    assert store.local_view("accounts") == [] and store.cursor is None
    assert [v["id"] for v in store.local_view("visits")] == ["v-1"]
    assert (store.device_id, store.access_token, store.user) == (device_id, "access", REP)
    assert store.apply_pull({}, "c9") == (0, 0)  # no staged page survived


def test_a_wipe_forgets_everything_but_the_installation_id():
    store = a_store_with(("accounts", record("accounts", "a-1")))
    store.sign_in(REP, "access", "refresh")
    device_id = store.device_id
    queue = MutationQueue(store)
    queue.record_update("accounts", "a-1", {"phone": "+57 1"})

    store.wipe()

    assert store.local_view("accounts") == [] and len(queue) == 0
    assert (store.cursor, store.access_token, store.refresh_token, store.user) == (None,) * 4
    assert store.device_id == device_id


def test_another_rep_signing_in_does_not_inherit_the_previous_reps_records_or_queue():
    store = a_store_with(("accounts", record("accounts", "a-1")))
    store.sign_in(REP, "access-1", "refresh-1")
    MutationQueue(store).record_update("accounts", "a-1", {"phone": "+57 1"})

    store.sign_in(REP, "access-2", "refresh-2")
    assert len(MutationQueue(store)) == 1 and store.cursor == "c1"

    store.sign_in({**REP, "id": "u-rep02"}, "access-3", "refresh-3")
    assert len(MutationQueue(store)) == 0 and store.local_view("accounts") == []
    assert store.cursor is None and store.access_token == "access-3"


def test_edit_times_go_out_in_utc_with_milliseconds():
    bogota = timezone(timedelta(hours=-5))
    assert wire_timestamp(datetime(2026, 11, 23, 4, 12, 44, 5000, bogota)) == (
        "2026-11-23T09:12:44.005Z"
    )
    with pytest.raises(ValueError):
        wire_timestamp(datetime(2026, 11, 23, 9, 12))
