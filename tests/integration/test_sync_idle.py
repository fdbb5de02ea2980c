"""The idle pull's fast lane: it answers only what the full path would answer with an empty
delta, and steps aside in every other case, so errors and deltas keep one source."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update

from sfa.auth.models import AuthToken, Device, User
from sfa.clock import today
from sfa.columns import utcnow
from sfa.db import db
from sfa.sync import views as sync_views
from sfa.sync.models import ScopeSnapshot
from sfa.territories.models import Territory, TerritoryAssignment
from tests.builders import headers_for, load
from tests.sync_helpers import PROTOCOL, SyncDevice


@pytest.fixture
def full_path_calls(monkeypatch) -> list[int]:
    """How many pulls reached the full path (the lane answers the others itself)."""
    calls: list[int] = []
    real = sync_views.pulling.pull

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sync_views.pulling, "pull", counting)
    return calls


def synced(app, client, email: str) -> SyncDevice:
    device = SyncDevice(client, headers_for(client, email))
    device.pull()
    return device


def raw_pull(device: SyncDevice, **params: str):  # noqa: ANN201
    return device.client.get(
        "/api/v1/sync/pull",
        query_string={"cursor": device.cursor, **params},
        headers={**device.headers, **PROTOCOL},
    )


def run(app, statement) -> None:  # noqa: ANN001
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


@pytest.mark.parametrize(
    "email", ["rep.medellin@example.com", "manager.andina@example.com", "admin@example.com"]
)
def test_an_idle_pull_is_answered_by_the_lane_for_every_kind_of_device(
    app, client, full_path_calls, email
):
    load(app)
    device = synced(app, client, email)
    full_path_calls.clear()
    assert device.pull() == {}
    assert device.pull() == {}  # with the cursor the lane issued
    assert full_path_calls == []  # both answered by one statement


def test_the_lane_and_the_full_path_give_the_same_answer(app, client, full_path_calls):
    load(app)
    device = synced(app, client, "rep.medellin@example.com")
    fast = raw_pull(device).get_json()
    app.config["SYNC_IDLE_FAST_LANE"] = False
    full = raw_pull(device).get_json()
    assert len(full_path_calls) == 2  # the first sync, and the pull with the lane off
    for body in (fast, full):
        body.pop("server_time"), body.pop("cursor")
    assert (
        fast
        == full
        == {
            "protocol": 1,
            "changes": {},
            "has_more": False,
            "continuation": None,
        }
    )


def test_a_change_in_scope_is_left_to_the_full_path(app, client, full_path_calls):
    load(app)
    device = synced(app, client, "rep.medellin@example.com")
    run(app, update(Territory).where(Territory.code == "CO-ANT-01").values(name="Antioquia 1"))
    changes = device.pull()
    assert [t["name"] for t in changes["territories"]["upserts"]] == ["Antioquia 1"]


@pytest.mark.parametrize(
    "valid_from, valid_to, in_scope",
    [
        (0, None, True),  # starts today
        (-30, 0, True),  # ends today (inclusive)
        (-30, -1, False),  # ended yesterday
        (1, None, False),  # starts tomorrow
    ],
)
def test_assignment_boundaries_give_the_lane_the_full_paths_scope(
    app, client, full_path_calls, valid_from, valid_to, in_scope
):
    """The lane computes the scope in its own SQL: if it disagreed with the full path's, the
    lane would step aside on every pull (or, worse, answer for the wrong scope)."""
    load(app)
    day = today()
    with app.app_context():
        rep = db.session.scalar(select(User).where(User.email == "rep.medellin@example.com"))
        bogota = db.session.scalar(select(Territory).where(Territory.code == "CO-BOG-01"))
        db.session.add(
            TerritoryAssignment(
                user_id=rep.id,
                territory_id=bogota.id,
                role="rep",
                valid_from=day + timedelta(days=valid_from),
                valid_to=None if valid_to is None else day + timedelta(days=valid_to),
            )
        )
        db.session.commit()
    device = synced(app, client, "rep.medellin@example.com")
    codes = {t["code"] for t in device.records["territories"].values()}
    assert ("CO-BOG-01" in codes) is in_scope
    full_path_calls.clear()
    assert device.pull() == {}
    assert full_path_calls == []


def test_a_new_assignment_is_delivered_not_answered_as_idle(app, client, full_path_calls):
    load(app)
    device = synced(app, client, "rep.medellin@example.com")
    with app.app_context():
        rep = db.session.scalar(select(User).where(User.email == "rep.medellin@example.com"))
        bogota = db.session.scalar(select(Territory).where(Territory.code == "CO-BOG-01"))
        db.session.add(
            TerritoryAssignment(
                user_id=rep.id, territory_id=bogota.id, role="rep", valid_from=today()
            )
        )
        db.session.commit()
    full_path_calls.clear()
    changes = device.pull()
    assert {a["code"] for a in changes["accounts"]["upserts"]} >= {"A-CO-BOG-01-1"}
    assert full_path_calls == [1]


def _revoke_device(app) -> None:  # noqa: ANN001
    run(app, update(Device).values(revoked_at=utcnow()))


def _disable_user(app) -> None:  # noqa: ANN001
    run(app, update(User).where(User.email == "rep.medellin@example.com").values(active=False))


def _expire_tokens(app) -> None:  # noqa: ANN001
    run(app, update(AuthToken).values(expires_at=utcnow() - timedelta(seconds=1)))


def _revoke_tokens(app) -> None:  # noqa: ANN001
    run(app, update(AuthToken).values(revoked_at=utcnow()))


def _forget_tokens(app) -> None:  # noqa: ANN001
    run(app, delete(AuthToken))


@pytest.mark.parametrize(
    "spoil, status, code",
    [
        (_revoke_device, 401, "device_revoked"),
        (_disable_user, 401, "account_disabled"),
        (_expire_tokens, 401, "token_expired"),
        (_revoke_tokens, 401, "invalid_token"),
        (_forget_tokens, 401, "invalid_token"),
    ],
)
def test_a_caller_the_full_path_would_refuse_is_refused(app, client, spoil, status, code):
    load(app)
    device = synced(app, client, "rep.medellin@example.com")
    spoil(app)
    response = raw_pull(device)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_a_refresh_token_is_not_an_access_token(app, client):
    load(app)
    device = synced(app, client, "rep.medellin@example.com")
    with app.app_context():
        refresh = db.session.scalar(select(AuthToken.id).where(AuthToken.kind == "refresh"))
    run(app, update(AuthToken).where(AuthToken.id != refresh).values(kind="refresh"))
    assert raw_pull(device).status_code == 401


def test_a_role_the_route_does_not_allow_is_refused(app, client):
    load(app)
    device = synced(app, client, "rep.medellin@example.com")
    run(app, update(User).where(User.email == "rep.medellin@example.com").values(role="erp"))
    response = raw_pull(device)
    assert response.status_code == 403


@pytest.mark.parametrize(
    "params, headers, status, code",
    [
        ({"limit": "0"}, {}, 422, "validation_failed"),
        ({"limit": "x"}, {}, 422, "validation_failed"),
        ({"surprise": "1"}, {}, 422, "validation_failed"),
        ({}, {"X-SFA-Protocol": "9"}, 400, "unsupported_protocol"),
    ],
)
def test_bad_requests_get_the_full_paths_errors(app, client, params, headers, status, code):
    load(app)
    device = synced(app, client, "rep.medellin@example.com")
    response = client.get(
        "/api/v1/sync/pull",
        query_string={"cursor": device.cursor, **params},
        headers={**device.headers, **PROTOCOL, **headers},
    )
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_tampered_and_expired_cursors_get_the_full_paths_errors(app, client, settings):
    load(app)
    device = synced(app, client, "rep.medellin@example.com")
    body, signature = device.cursor.split(".")
    tampered = raw_pull(device, cursor=f"{body}.{signature[::-1]}")
    assert tampered.get_json()["error"]["code"] == "invalid_cursor"
    app.config["SYNC_HORIZON_DAYS"] = -1  # every cursor is now past the horizon
    expired = raw_pull(device)
    assert expired.status_code == 410
    assert expired.get_json()["error"]["details"]["reason"] == "cursor_expired"


def test_a_scope_snapshot_due_for_a_touch_is_left_to_the_full_path(app, client, full_path_calls):
    """The full path refreshes a snapshot older than a day so housekeeping keeps it while
    cursors name it; the lane must not answer those pulls and skip the touch."""
    load(app)
    device = synced(app, client, "rep.medellin@example.com")
    long_ago = utcnow() - timedelta(days=3)
    run(app, update(ScopeSnapshot).values(last_used_at=long_ago))
    full_path_calls.clear()
    assert device.pull() == {}
    assert full_path_calls == [1]
    with app.app_context():
        touched = db.session.scalars(select(ScopeSnapshot.last_used_at)).all()
    assert all(when > long_ago + timedelta(days=2) for when in touched)
    full_path_calls.clear()
    assert device.pull() == {}
    assert full_path_calls == []


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_broken_lane_connection_falls_back_to_the_full_path(app, client, full_path_calls):
    """The lane's pool skips the pre-ping round trip: a connection the server dropped fails
    the statement, and the full path (whose pool pings) answers instead."""
    load(app)
    device = synced(app, client, "rep.medellin@example.com")
    assert device.pull() == {}
    with app.app_context():
        lane = app.extensions["sfa.idle_probe"]
        with lane._pool.connect() as connection:
            lane_pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        run(app, select(func.pg_terminate_backend(lane_pid)))
    full_path_calls.clear()
    assert device.pull() == {}
    assert full_path_calls == [1]
    full_path_calls.clear()
    assert device.pull() == {}  # a new lane connection
    assert full_path_calls == []
