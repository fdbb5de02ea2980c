"""The reference device against a fake server: sign-in, push, pull, and what the device does
about each answer the protocol lets the server give."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from mobile_protocol.client import (
    Conflict,
    Device,
    DeviceWiped,
    LocalStore,
    ProtocolUnsupported,
    ProtocolViolation,
    Response,
    RetryPolicy,
    ServerRefused,
    SignInRequired,
    TransportError,
)
from mobile_protocol.schemas import ENTITIES, validator
from tests.unit.test_device_fake_server import (
    EMAIL,
    PASSWORD,
    FakeSyncServer,
    a_small_territory,
    error,
    record,
)

LOGIN, REFRESH = "/api/v1/auth/login", "/api/v1/auth/refresh"
PULL, PUSH = "/api/v1/sync/pull", "/api/v1/sync/push"
MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def a_device(server: FakeSyncServer, store: LocalStore | None = None, **options: Any) -> Device:
    """A device on ``server`` whose clock says 09:00, whose jitter draws 0.5 and whose sleeps
    are only recorded (pass ``sleep=list.append``)."""
    options.setdefault("sleep", lambda seconds: None)
    return Device(store or LocalStore(), server, clock=lambda: MORNING, draw=lambda: 0.5, **options)


def signed_in(server: FakeSyncServer, **options: Any) -> Device:
    device = a_device(server, **options)
    device.sign_in(EMAIL, PASSWORD, "Pixel 8", "android")
    return device


def synced(server: FakeSyncServer, **options: Any) -> Device:
    device = signed_in(server, **options)
    device.sync()
    return device


def everything(device: Device) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    return {entity: device.store.local_view(entity) for entity in ENTITIES}, device.store.cursor


def requests_to(server: FakeSyncServer, path: str) -> list[tuple[Any, ...]]:
    return [request for request in server.requests if request[1] == path]


def a_visit(device: Device) -> str:
    visit_id = str(uuid.uuid4())
    device.queue.record_create("visits", visit_id, {"account_id": "a-1"})
    return visit_id


def test_the_device_client_needs_neither_flask_nor_the_server_package():
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, mobile_protocol.client.__main__; print(*sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not {name.split(".")[0] for name in imported} & {"flask", "werkzeug", "sfa"}


# -- signing in -------------------------------------------------------------------------------


def test_signing_in_registers_one_stable_device_id_and_keeps_the_tokens():
    server = a_small_territory()
    device = a_device(server)

    user = device.sign_in(EMAIL, PASSWORD, "Pixel 8", "android")
    device.sign_in(EMAIL, PASSWORD, "Pixel 8", "android")

    assert user["role"] == "rep"
    logins = [body for _, _, _, body, _ in requests_to(server, LOGIN)]
    assert logins[0]["device_id"] == logins[1]["device_id"] == device.store.device_id
    assert device.store.access_token in server.sessions
    assert device.store.refresh_token in server.refresh_tokens


def test_wrong_credentials_are_refused_with_their_code():
    device = a_device(a_small_territory())
    with pytest.raises(ServerRefused) as refused:
        device.sign_in(EMAIL, "not-the-password", "Pixel 8", "android")
    assert (refused.value.status, refused.value.code) == (401, "invalid_credentials")


def test_every_request_carries_the_protocol_version_and_once_signed_in_the_token():
    server = a_small_territory()
    device = signed_in(server)
    a_visit(device)
    device.sync()

    assert all(headers["X-SFA-Protocol"] == "1" for *_, headers in server.requests)
    for _, path, *_, headers in server.requests:
        if path != LOGIN:
            assert headers["Authorization"].startswith("Bearer access-")


# -- pulling ----------------------------------------------------------------------------------


def test_a_first_sync_pulls_every_page_and_stores_the_cursor_of_the_last():
    server = a_small_territory()
    device = signed_in(server, page_limit=3)

    report = device.sync()

    assert [a["name"] for a in device.store.local_view("accounts")] == [
        "Farmacia 1",
        "Farmacia 2",
        "Farmacia 3",
    ]
    assert report.pages == 4 and report.records_upserted == 10
    pulls = [params for _, _, params, _, _ in requests_to(server, PULL)]
    assert pulls[0] == {"cursor": None, "limit": 3, "continuation": None}
    assert [p["continuation"] for p in pulls[1:]] == ["10:3", "10:6", "10:9"]
    assert device.store.cursor == "10"


def test_the_next_sync_brings_only_what_changed_and_removes_what_left_the_scope():
    server = a_small_territory()
    device = synced(server)
    cursor = device.store.cursor
    server.put("accounts", "a-1", name="Farmacia San José Centro")
    server.delete("accounts", "a-3")

    report = device.sync()

    assert requests_to(server, PULL)[-1][2]["cursor"] == cursor
    assert (report.records_upserted, report.records_removed) == (1, 1)
    names = [a["name"] for a in device.store.local_view("accounts")]
    assert names == ["Farmacia San José Centro", "Farmacia 2"]


def test_an_interrupted_pull_leaves_the_local_store_untouched():
    server = a_small_territory()
    device = synced(server, page_limit=2, retry=RetryPolicy(attempts=1))
    before = everything(device)
    for number in range(4, 9):
        server.put("accounts", f"a-{number}", name=f"Farmacia {number}")
    server.fail(
        "GET", PULL, call=len(requests_to(server, PULL)) + 2, failure=TransportError("lost")
    )

    with pytest.raises(TransportError):
        device.sync()

    assert everything(device) == before


def test_the_sync_after_an_interrupted_pull_ends_as_if_nothing_had_happened():
    server = a_small_territory()
    interrupted = synced(server, page_limit=2, retry=RetryPolicy(attempts=1))
    untroubled = synced(server, page_limit=2)
    for number in range(4, 9):
        server.put("accounts", f"a-{number}", name=f"Farmacia {number}")
    server.delete("contacts", "c-2")
    server.fail(
        "GET", PULL, call=len(requests_to(server, PULL)) + 2, failure=TransportError("lost")
    )
    with pytest.raises(TransportError):
        interrupted.sync()

    interrupted.sync()
    untroubled.sync()

    assert everything(interrupted) == everything(untroubled)
    assert len(interrupted.store.local_view("accounts")) == 8


@pytest.mark.parametrize(
    "refuse_the_cursor",
    [
        pytest.param(lambda server: server.expire_cursors(), id="reset_required"),
        pytest.param(
            lambda server: server.fail(
                "GET",
                PULL,
                call=server.calls["GET", PULL] + 1,
                failure=error(400, "invalid_cursor"),
            ),
            id="invalid_cursor",
        ),
    ],
)
def test_a_refused_cursor_makes_the_device_pull_everything_again_and_leave_no_ghost(
    refuse_the_cursor,
):
    server = a_small_territory()
    device = synced(server)
    del server.records["accounts"]["a-3"]  # its tombstone is past the horizon
    device.queue.record_update("accounts", "a-1", {"phone": "+57 604 555 0199"})
    refuse_the_cursor(server)

    report = device.sync()

    assert report.reset and report.applied == 1
    accounts = device.store.local_view("accounts")
    assert [a["id"] for a in accounts] == ["a-1", "a-2"]
    assert accounts[0]["phone"] == "+57 604 555 0199"
    assert device.store.cursor == str(len(server.log))


def test_a_page_that_breaks_the_contract_is_not_applied():
    server = a_small_territory()
    device = synced(server)
    before = everything(device)
    bad_account = {k: v for k, v in record("accounts", "a-9").items() if k != "territory_id"}
    page = {
        "protocol": 1,
        "changes": {"accounts": {"upserts": [bad_account], "removals": []}},
        "has_more": False,
        "cursor": "99",
        "server_time": "2026-11-23T14:05:09.120Z",
    }
    server.fail("GET", PULL, call=server.calls["GET", PULL] + 1, failure=Response(200, {}, page))

    with pytest.raises(ProtocolViolation, match="territory_id"):
        device.sync()

    assert everything(device) == before


# -- pushing ----------------------------------------------------------------------------------


def test_queued_edits_are_pushed_and_come_back_with_their_new_revisions():
    server = a_small_territory()
    device = synced(server)
    device.queue.record_update("accounts", "a-1", {"phone": "+57 604 555 0199"})
    visit_id = a_visit(device)

    report = device.sync()

    assert (report.pushed, report.applied) == (2, 2)
    assert len(device.queue) == 0
    account = device.store.server_record("accounts", "a-1")
    assert (account["phone"], account["revision"]) == ("+57 604 555 0199", 2)
    assert device.store.server_record("visits", visit_id)["account_id"] == "a-1"


def test_every_push_request_conforms_to_the_push_request_schema():
    server = a_small_territory()
    device = synced(server)
    visit_id = a_visit(device)
    device.queue.record_update("visits", visit_id, {"notes": "samples left"})
    device.queue.record_update("contacts", "c-1", {"specialty": "cardiology", "active": False})
    device.sync()
    device.queue.record_delete("visits", visit_id)
    device.sync()

    pushes = [body for _, _, _, body, _ in requests_to(server, PUSH)]
    for body in pushes:
        validator("push-request").validate(body)
    mutations = [m for body in pushes for m in body["mutations"]]
    assert [(m["op"], m.get("base_revision", "absent")) for m in mutations] == [
        ("create", "absent"),
        ("update", None),
        ("update", 1),
        ("delete", 2),
    ]
    assert {body["device_time"] for body in pushes} == {"2026-11-23T09:00:00.000Z"}


def test_edits_to_different_fields_of_one_account_both_survive():
    server = a_small_territory()
    device = synced(server)
    server.put("accounts", "a-1", address="Carrera 70 # 1-10")
    device.queue.record_update("accounts", "a-1", {"phone": "+57 604 555 0199"})

    report = device.sync()

    assert (report.applied, report.conflicts) == (1, [])
    account = device.store.local_record("accounts", "a-1")
    assert (account["address"], account["phone"]) == ("Carrera 70 # 1-10", "+57 604 555 0199")


def test_a_concurrent_edit_of_the_same_field_comes_back_merged_with_its_conflict():
    server = a_small_territory()
    device = synced(server)
    server.put("accounts", "a-1", phone="+57 604 555 0000")  # at 14:05, after the rep's edit
    device.queue.record_update("accounts", "a-1", {"phone": "+57 604 555 0199", "email": "a@b.co"})

    report = device.sync()

    assert report.merged == 1
    assert report.conflicts == [
        Conflict(
            "accounts",
            "a-1",
            "phone",
            "latest_wins",
            "server",
            server_value="+57 604 555 0000",
            client_value="+57 604 555 0199",
        )
    ]
    account = device.store.local_record("accounts", "a-1")
    assert (account["phone"], account["email"]) == ("+57 604 555 0000", "a@b.co")
    [logged] = device.store.local_view("conflicts")
    assert (logged["field"], logged["overruled_value"]) == ("phone", "+57 604 555 0199")


def test_a_rejected_mutation_is_kept_for_the_user_and_does_not_block_the_ones_after_it():
    server = a_small_territory()
    device = synced(server)
    server.out_of_scope.add("a-2")
    device.queue.record_update("accounts", "a-2", {"phone": "+57 1"})
    device.queue.record_update("accounts", "a-1", {"phone": "+57 2"})

    report = device.sync()

    assert (report.rejected, report.applied, len(device.queue)) == (1, 1, 0)
    [rejection] = device.queue.rejections()
    assert (rejection.record_id, rejection.code) == ("a-2", "out_of_scope")
    assert rejection.reason == "the account is not in your territories"
    assert report.rejections == [rejection]
    assert device.store.local_record("accounts", "a-2")["phone"] == "+57 604 555 0101"


def test_a_push_whose_answer_was_lost_is_sent_again_and_applied_only_once():
    server = a_small_territory()
    sleeps: list[float] = []
    device = synced(server, sleep=sleeps.append)
    device.queue.record_update("accounts", "a-1", {"phone": "+57 604 555 0199"})
    server.out_of_scope.add("a-2")
    device.queue.record_update("accounts", "a-2", {"phone": "+57 1"})
    server.fail("POST", PUSH, call=1, failure=TransportError("reset by peer"), after_handling=True)

    report = device.sync()

    assert (report.pushed, report.duplicates) == (2, 2)
    assert server.records["accounts"]["a-1"]["revision"] == 2
    assert [r.code for r in report.rejections] == ["out_of_scope"]
    assert [r.code for r in device.queue.rejections()] == ["out_of_scope"]
    assert sleeps == [0.25]


def test_a_long_queue_is_pushed_in_batches_of_at_most_500():
    server = a_small_territory()
    device = synced(server)
    for _ in range(1201):
        a_visit(device)

    report = device.sync()

    assert [len(body["mutations"]) for *_, body, _ in requests_to(server, PUSH)] == [500, 500, 201]
    assert report.applied == 1201 and len(device.store.local_view("visits")) == 1201


def test_a_push_with_more_mutations_than_the_server_takes_is_split_to_its_limit():
    server = a_small_territory()
    server.max_mutations = 2
    device = synced(server)
    for _ in range(5):
        a_visit(device)

    report = device.sync()

    assert [len(body["mutations"]) for *_, body, _ in requests_to(server, PUSH)] == [5, 2, 2, 1]
    assert report.applied == 5


def test_a_mutation_too_large_to_push_even_alone_is_rejected_without_blocking_the_queue():
    server = a_small_territory()
    server.max_push_bytes = 2_000
    device = synced(server)
    a_visit(device)
    device.queue.record_create(
        "visits", str(uuid.uuid4()), {"account_id": "a-1", "notes": "x" * 5000}
    )
    a_visit(device)

    report = device.sync()

    assert (report.applied, report.rejected, len(device.queue)) == (2, 1, 0)
    assert [r.code for r in device.queue.rejections()] == ["payload_too_large"]


def test_a_push_answer_that_leaves_a_mutation_unanswered_keeps_the_queue():
    server = a_small_territory()
    device = synced(server)
    a_visit(device)
    a_visit(device)
    answer = {"protocol": 1, "results": []}
    server.fail("POST", PUSH, call=1, failure=Response(200, {}, answer))

    with pytest.raises(ProtocolViolation):
        device.sync()

    assert len(device.queue) == 2


# -- tokens and revocation --------------------------------------------------------------------


def test_an_expired_access_token_is_refreshed_and_the_request_sent_again():
    server = a_small_territory()
    device = synced(server)
    old_token = device.store.access_token
    server.expire_access_tokens()
    a_visit(device)

    report = device.sync()

    assert report.applied == 1
    assert len(requests_to(server, REFRESH)) == 1
    assert device.store.access_token not in (None, old_token)


def test_a_device_that_cannot_refresh_must_sign_in_again_but_keeps_its_data_and_queue():
    server = a_small_territory()
    device = synced(server)
    server.expire_access_tokens()
    server.refresh_tokens.clear()
    a_visit(device)

    with pytest.raises(SignInRequired):
        device.sync()

    assert len(device.queue) == 1 and len(device.store.local_view("accounts")) == 3


def test_a_revoked_device_wipes_its_records_its_queue_and_its_tokens():
    server = a_small_territory()
    device = synced(server)
    device_id = device.store.device_id
    device.queue.record_update("accounts", "a-1", {"phone": "+57 1"})
    server.revoke(device_id)

    with pytest.raises(DeviceWiped) as wiped:
        device.sync()

    assert wiped.value.code == "device_revoked"
    assert everything(device) == ({entity: [] for entity in ENTITIES}, None)
    assert len(device.queue) == 0 and device.store.access_token is None
    assert device.store.device_id == device_id


def test_a_device_revoked_while_refreshing_its_token_is_wiped_too():
    server = a_small_territory()
    device = synced(server)
    server.expire_access_tokens()
    server.fail("POST", REFRESH, call=1, failure=error(401, "device_revoked", wipe=True))

    with pytest.raises(DeviceWiped):
        device.sync()

    assert device.store.local_view("accounts") == [] and device.store.refresh_token is None


# -- retries ----------------------------------------------------------------------------------


def test_a_dropped_connection_is_retried_with_exponential_backoff_and_full_jitter():
    server = a_small_territory()
    sleeps: list[float] = []
    device = signed_in(server, sleep=sleeps.append)
    for call in (1, 2, 3):
        server.fail("GET", PULL, call=call, failure=TransportError("no signal"))

    device.sync()

    assert sleeps == [0.25, 0.5, 1.0]  # 0.5 drawn x 0.5 s x 2**attempt
    assert len(device.store.local_view("accounts")) == 3


@pytest.mark.parametrize("status, code", [(503, "busy"), (429, "login_throttled")])
def test_a_busy_server_is_asked_again_after_the_seconds_it_says(status, code):
    server = a_small_territory()
    sleeps: list[float] = []
    device = signed_in(server, sleep=sleeps.append)
    busy = error(status, code, {"Retry-After": "3"}, retry_after=3)
    server.fail("GET", PULL, call=1, failure=busy)

    device.sync()

    assert sleeps == [3.0]


def test_the_device_gives_up_after_the_allowed_attempts():
    server = a_small_territory()
    sleeps: list[float] = []
    device = signed_in(server, sleep=sleeps.append, retry=RetryPolicy(attempts=3))
    for call in range(1, 10):
        server.fail("GET", PULL, call=call, failure=TransportError("no signal"))

    with pytest.raises(TransportError):
        device.sync()

    assert len(sleeps) == 2 and device.store.cursor is None


def test_a_server_asking_to_wait_longer_than_the_device_would_is_not_waited_for():
    server = a_small_territory()
    sleeps: list[float] = []
    device = signed_in(server, sleep=sleeps.append)
    server.fail("GET", PULL, call=1, failure=error(503, "busy", {"Retry-After": "600"}))

    with pytest.raises(ServerRefused) as refused:
        device.sync()

    assert refused.value.code == "busy" and sleeps == []


def test_an_unsupported_protocol_stops_the_sync():
    server = a_small_territory()
    device = signed_in(server)
    server.fail("GET", PULL, call=1, failure=error(400, "unsupported_protocol", supported=[2]))

    with pytest.raises(ProtocolUnsupported) as unsupported:
        device.sync()

    assert unsupported.value.details == {"supported": [2]}
