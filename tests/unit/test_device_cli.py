"""``python -m mobile_protocol.client``: a device in a terminal, here against the fake server."""

from __future__ import annotations

import io

import pytest

from mobile_protocol.client import __main__ as cli
from tests.unit.test_device_fake_server import EMAIL, PASSWORD, FakeSyncServer, a_small_territory


def run(server: FakeSyncServer, db: str, *arguments: str) -> tuple[int, str]:
    out = io.StringIO()
    status = cli.main(
        ["--url", "http://sfa.test", "--db", db, *arguments],
        transport_for=lambda url: server,
        out=out,
    )
    return status, out.getvalue()


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "device.db")


def test_a_rep_signs_in_syncs_edits_offline_and_syncs_again(db):
    server = a_small_territory()

    assert run(server, db, "sign-in", EMAIL, "--password", PASSWORD)[1].startswith(
        "Signed in as Rep 01 (rep) on device "
    )
    status, synced = run(server, db, "sync")
    assert status == 0 and "Pulled 1 pages: 10 records updated, 0 removed" in synced

    status, queued = run(
        server, db, "edit", "accounts", "a-1", "phone=+57 604 555 0199", "active:=false"
    )
    assert status == 0 and '{"phone": "+57 604 555 0199", "active": false}' in queued
    assert "1 pending:" in run(server, db, "queue")[1]
    status, shown = run(server, db, "show", "accounts", "--limit", "1")
    assert '"phone": "+57 604 555 0199"' in shown and shown.endswith("1 of 3 accounts\n")

    status, synced = run(server, db, "sync")
    assert "Pushed 1: 1 applied, 0 merged, 0 rejected, 0 duplicates." in synced
    assert server.records["accounts"]["a-1"]["active"] is False
    assert run(server, db, "queue")[1] == "0 pending:\n0 rejected:\n"


def test_sign_in_asks_for_the_password_when_it_is_not_given(db, monkeypatch):
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: PASSWORD)
    assert run(a_small_territory(), db, "sign-in", EMAIL)[0] == 0


def test_a_sync_shows_the_conflicts_and_rejections_it_met(db):
    server = a_small_territory()
    run(server, db, "sign-in", EMAIL, "--password", PASSWORD)
    run(server, db, "sync")
    server.put("accounts", "a-1", phone="+57 604 555 0000")
    server.out_of_scope.add("a-2")
    run(server, db, "edit", "accounts", "a-1", "phone=+57 1")
    run(server, db, "edit", "accounts", "a-2", "phone=+57 2")

    synced = run(server, db, "sync")[1]

    assert (
        "conflict on accounts a-1 phone (latest_wins): kept '+57 604 555 0000' over '+57 1'"
        in synced
    )
    assert "rejected update of accounts a-2: out_of_scope" in synced
    assert (
        "update accounts a-2: out_of_scope — the account is not in your territories"
        in (run(server, db, "queue")[1])
    )


def test_a_revoked_device_is_told_it_was_wiped(db):
    server = a_small_territory()
    run(server, db, "sign-in", EMAIL, "--password", PASSWORD)
    server.revoke(next(iter(server.sessions.values()))["device_id"])

    status, output = run(server, db, "sync")

    assert status == 3 and "revoked (device_revoked)" in output


def test_editing_an_unknown_record_fails_with_a_reason(db):
    status, output = run(a_small_territory(), db, "edit", "accounts", "a-404", "phone=1")
    assert status == 1 and "a-404 is not on this device" in output


def test_syncing_needs_the_server_address(db):
    with pytest.raises(SystemExit):
        cli.main(["--db", db, "sync"], out=io.StringIO())
