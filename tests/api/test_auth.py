"""Signing in, token rotation, throttling, revocation and the user administration API
(DESIGN properties 12-13)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from sfa.auth.models import AuthToken
from sfa.auth.passwords import PasswordHasher
from sfa.cli.main import cli
from sfa.columns import utcnow
from sfa.db import db
from tests.builders import PASSWORD, bearer, headers_for, load, sign_in

ADMIN = "admin@example.com"
REP = "rep.medellin@example.com"
OTHER_REP = "rep.bogota@example.com"
LOGIN, REFRESH, ME = "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/me"


@dataclasses.dataclass(frozen=True, eq=False)
class CountingHasher(PasswordHasher):
    """The real hasher, counting how many passwords it checked."""

    verified: list = dataclasses.field(default_factory=list)

    def verify(self, password: str, encoded: str | None) -> bool:
        self.verified.append(encoded)
        return super().verify(password, encoded)


@pytest.fixture
def field_force(app):
    load(app)


@pytest.fixture
def hasher(app) -> CountingHasher:
    auth = app.extensions["sfa.auth"]
    counting = CountingHasher(**dataclasses.asdict(auth.hasher))
    app.extensions["sfa.auth"] = dataclasses.replace(auth, hasher=counting)
    return counting


@pytest.fixture
def admin(client, field_force) -> dict[str, str]:
    return headers_for(client, ADMIN, "admin-console")


def attempt(client, email, password=PASSWORD, device_id="device-1", address="127.0.0.1"):
    return client.post(
        LOGIN,
        json={
            "email": email,
            "password": password,
            "device_id": device_id,
            "device_name": "Test phone",
            "platform": "android",
        },
        environ_base={"REMOTE_ADDR": address},
    )


def refresh(client, tokens):
    return client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})


def error_of(response) -> tuple[int, str | None]:
    body = response.get_json(silent=True) or {}
    return response.status_code, body.get("error", {}).get("code")


def devices_of(client, admin, user_id) -> dict[str, dict]:
    response = client.get(f"/api/v1/admin/devices?user_id={user_id}", headers=admin)
    assert response.status_code == 200
    return {d["device_uid"]: d for d in response.get_json()["items"]}


def expire(app, kind: str) -> None:
    with app.app_context():
        db.session.execute(
            update(AuthToken)
            .where(AuthToken.kind == kind)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


# Signing in


def test_signing_in_returns_tokens_and_registers_the_device(client, admin):
    response = attempt(client, REP, device_id="phone-7")

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "user"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["access_token"] != body["refresh_token"]
    assert body["user"] == {"id": body["user"]["id"], "name": "Rep Medellin", "role": "rep"}
    device = devices_of(client, admin, body["user"]["id"])["phone-7"]
    assert (device["user_id"], device["name"], device["platform"]) == (
        body["user"]["id"],
        "Test phone",
        "android",
    )
    assert device["revoked_at"] is None


@pytest.mark.parametrize(
    ("email", "password"),
    [("nobody@example.com", PASSWORD), (REP, "not-the-password")],
    ids=["unknown-email", "wrong-password"],
)
def test_unknown_email_and_wrong_password_look_the_same_and_cost_the_same(
    client, field_force, hasher, email, password
):
    response = attempt(client, email, password)

    assert response.status_code == 401
    assert response.get_json() == {
        "error": {
            "code": "invalid_credentials",
            "message": "email or password is wrong",
            "details": {},
        }
    }
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_credentials"'
    assert len(hasher.verified) == 1


# Throttling


def test_an_account_is_throttled_after_five_failures_without_hashing_the_password(
    client, field_force, hasher
):
    for _ in range(5):
        assert attempt(client, REP, "not-the-password").status_code == 401
    hasher.verified.clear()

    response = attempt(client, REP)  # the right password

    assert error_of(response) == (429, "login_throttled")
    assert 0 < int(response.headers["Retry-After"]) <= 900
    assert response.get_json()["error"]["details"]["retry_after"] == int(
        response.headers["Retry-After"]
    )
    assert hasher.verified == []
    assert attempt(client, OTHER_REP).status_code == 200  # other accounts are not affected


@pytest.mark.parametrize("settings", [{"LOGIN_MAX_FAILURES_PER_ADDRESS": 3}], ids=["3-per-address"])
def test_an_address_is_throttled_after_failures_across_different_accounts(
    client, field_force, hasher
):
    for email in ("nobody@example.com", REP, "someone@example.com"):
        assert attempt(client, email, "not-the-password").status_code == 401
    hasher.verified.clear()

    response = attempt(client, OTHER_REP)

    assert error_of(response) == (429, "login_throttled")
    assert "Retry-After" in response.headers
    assert hasher.verified == []
    assert attempt(client, OTHER_REP, address="10.1.2.3").status_code == 200


def test_a_successful_sign_in_clears_the_accounts_failures(client, field_force):
    for _ in range(2):
        for _ in range(4):
            assert attempt(client, REP, "not-the-password").status_code == 401
        assert attempt(client, REP).status_code == 200


# Refresh rotation


def test_a_refresh_returns_a_new_pair_that_works(client, field_force):
    tokens = sign_in(client, REP)

    response = refresh(client, tokens)

    assert response.status_code == 200
    renewed = response.get_json()
    assert renewed["access_token"] != tokens["access_token"]
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert client.get(ME, headers=bearer(renewed)).get_json()["user_id"] == tokens["user"]["id"]


@pytest.mark.parametrize(
    ("grace", "successor_used"), [(0, False), (60, True)], ids=["after-grace", "successor-used"]
)
def test_a_reused_refresh_token_revokes_the_device(app, client, field_force, grace, successor_used):
    app.extensions["sfa.auth"] = dataclasses.replace(
        app.extensions["sfa.auth"], refresh_reuse_grace=grace
    )
    spent = sign_in(client, REP)
    newest = refresh(client, spent).get_json()
    if successor_used:
        newest = refresh(client, newest).get_json()

    response = refresh(client, spent)

    assert error_of(response) == (401, "device_revoked")
    assert response.get_json()["error"]["details"]["wipe"] is True
    assert error_of(client.get(ME, headers=bearer(newest))) == (401, "device_revoked")
    assert error_of(refresh(client, newest)) == (401, "device_revoked")


def test_a_refresh_retried_within_the_grace_period_gets_a_fresh_pair(client, field_force):
    first = sign_in(client, REP)
    lost = refresh(client, first).get_json()  # the client never received this answer

    response = refresh(client, first)

    assert response.status_code == 200
    retried = response.get_json()
    assert client.get(ME, headers=bearer(retried)).status_code == 200
    assert error_of(client.get(ME, headers=bearer(lost))) == (401, "invalid_token")
    assert error_of(refresh(client, lost)) == (401, "invalid_token")
    assert refresh(client, retried).status_code == 200  # the device was not revoked


@pytest.mark.parametrize(
    ("kind", "call"),
    [
        ("access", lambda client, tokens: client.get(ME, headers=bearer(tokens))),
        ("refresh", refresh),
    ],
    ids=["access", "refresh"],
)
def test_an_expired_token_is_refused_as_expired(app, client, field_force, kind, call):
    tokens = sign_in(client, REP)
    expire(app, kind)

    response = call(client, tokens)

    assert error_of(response) == (401, "token_expired")
    assert response.headers["WWW-Authenticate"] == 'Bearer error="token_expired"'


# Revoking devices and disabling accounts


@pytest.mark.parametrize(
    ("body", "reason"),
    [(None, "revoked by an administrator"), ({"reason": "lost in a taxi"}, "lost in a taxi")],
    ids=["no-body", "with-reason"],
)
def test_a_revoked_device_is_told_to_wipe_on_its_next_request(client, admin, body, reason):
    phone = sign_in(client, REP, "phone")
    device = devices_of(client, admin, phone["user"]["id"])["phone"]

    revoked = client.post(f"/api/v1/admin/devices/{device['id']}/revoke", json=body, headers=admin)

    assert revoked.status_code == 200
    assert revoked.get_json()["revoked_reason"] == reason
    response = client.get(ME, headers=bearer(phone))
    assert error_of(response) == (401, "device_revoked")
    assert response.get_json()["error"]["details"] == {"wipe": True}
    assert response.headers["WWW-Authenticate"] == 'Bearer error="device_revoked"'
    assert error_of(refresh(client, phone)) == (401, "device_revoked")


def test_a_revoked_device_cannot_sign_in_again_until_restored(client, admin):
    phone = sign_in(client, REP, "phone")
    tablet = sign_in(client, REP, "tablet")
    device = devices_of(client, admin, phone["user"]["id"])["phone"]
    client.post(f"/api/v1/admin/devices/{device['id']}/revoke", headers=admin)

    assert error_of(attempt(client, REP, device_id="phone")) == (401, "device_revoked")
    assert client.get(ME, headers=bearer(tablet)).status_code == 200

    restored = client.post(f"/api/v1/admin/devices/{device['id']}/restore", headers=admin)
    assert restored.status_code == 200
    assert restored.get_json()["revoked_at"] is None
    assert client.get(ME, headers=headers_for(client, REP, "phone")).status_code == 200


def test_a_device_revoked_from_the_command_line_is_refused(app, client, admin, monkeypatch):
    phone = sign_in(client, REP, "phone")
    device = devices_of(client, admin, phone["user"]["id"])["phone"]
    for name, value in {
        "SFA_DATABASE_URL": app.config["DATABASE_URL"],
        "SFA_PASSWORD_MEMORY_KIB": "1024",
        "SFA_PASSWORD_ITERATIONS": "1",
        "SFA_LOG_LEVEL": "WARNING",
        "SFA_SECRET_KEY": "x",
    }.items():
        monkeypatch.setenv(name, value)

    result = CliRunner().invoke(cli, ["devices", "revoke", device["id"], "--reason", "stolen"])

    assert result.exit_code == 0, result.output
    assert error_of(client.get(ME, headers=bearer(phone))) == (401, "device_revoked")
    assert devices_of(client, admin, phone["user"]["id"])["phone"]["revoked_reason"] == "stolen"


def test_revoking_an_unknown_device_is_not_found(client, admin):
    response = client.post("/api/v1/admin/devices/no-such-device/revoke", headers=admin)

    assert error_of(response) == (404, "not_found")


def test_a_deactivated_users_devices_are_told_to_wipe(client, admin):
    phone = sign_in(client, REP, "phone")

    response = client.patch(
        f"/api/v1/admin/users/{phone['user']['id']}", json={"active": False}, headers=admin
    )

    assert response.status_code == 200
    refused = client.get(ME, headers=bearer(phone))
    assert error_of(refused) == (401, "account_disabled")
    assert refused.get_json()["error"]["details"]["wipe"] is True
    assert error_of(refresh(client, phone)) == (401, "account_disabled")
    assert error_of(attempt(client, REP, device_id="phone")) == (401, "invalid_credentials")


def test_after_logout_the_tokens_no_longer_work(client, field_force):
    tokens = sign_in(client, REP)

    assert client.post("/api/v1/auth/logout", headers=bearer(tokens)).status_code == 204

    assert error_of(client.get(ME, headers=bearer(tokens))) == (401, "invalid_token")
    assert error_of(refresh(client, tokens)) == (401, "invalid_token")


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "authentication_required"),
        ("", "authentication_required"),
        ("Bearer", "authentication_required"),
        ("Bearer    ", "authentication_required"),
        ("Basic cmVwOnBhc3N3b3Jk", "authentication_required"),
        ("Bearer not-a-token", "invalid_token"),
        ("Bearer sfa_at_" + "A" * 43, "invalid_token"),
        ("Bearer caf\u00e9", "invalid_token"),
        ("Bearer {refresh_token}", "invalid_token"),
    ],
    ids=[
        "missing",
        "empty",
        "no-token",
        "blank-token",
        "basic",
        "garbage",
        "unknown",
        "latin-1",
        "refresh-as-access",
    ],
)
def test_requests_without_a_valid_access_token_are_refused(
    client, field_force, authorization, code
):
    tokens = sign_in(client, REP)
    headers = (
        {}
        if authorization is None
        else {"Authorization": authorization.format(refresh_token=tokens["refresh_token"])}
    )

    response = client.get(ME, headers=headers)

    assert error_of(response) == (401, code)
    assert response.headers["WWW-Authenticate"] == f'Bearer error="{code}"'


def test_an_access_token_cannot_be_used_to_refresh(client, field_force):
    tokens = sign_in(client, REP)

    response = client.post(REFRESH, json={"refresh_token": tokens["access_token"]})

    assert error_of(response) == (401, "invalid_token")
    assert client.get(ME, headers=bearer(tokens)).status_code == 200


# The user administration API

NEW_USER = {
    "email": "New.Rep@Example.com",
    "name": "New Rep",
    "role": "rep",
    "password": "long-enough-1",
}


def test_an_admin_creates_a_user_who_can_sign_in(client, admin):
    response = client.post("/api/v1/admin/users", json=NEW_USER, headers=admin)

    assert response.status_code == 201
    created = response.get_json()
    assert {k: created[k] for k in ("email", "name", "role", "active")} == {
        "email": "new.rep@example.com",
        "name": "New Rep",
        "role": "rep",
        "active": True,
    }
    assert "password" not in created and "password_hash" not in created
    assert (
        sign_in(client, "new.rep@example.com", password="long-enough-1")["user"]["id"]
        == (created["id"])
    )


@pytest.mark.parametrize(
    ("change", "status", "code", "path"),
    [
        ({"email": "REP.Medellin@example.com"}, 409, "user_exists", None),
        ({"password": "short"}, 422, "validation_failed", "password"),
        ({"role": "superuser"}, 422, "validation_failed", "role"),
    ],
    ids=["duplicate-email", "short-password", "unknown-role"],
)
def test_an_admin_cannot_create_an_invalid_user(client, admin, change, status, code, path):
    response = client.post("/api/v1/admin/users", json={**NEW_USER, **change}, headers=admin)

    assert error_of(response) == (status, code)
    if path:
        assert [e["path"] for e in response.get_json()["error"]["details"]["errors"]] == [path]
    users = client.get("/api/v1/admin/users", headers=admin).get_json()["items"]
    assert "new.rep@example.com" not in {u["email"] for u in users}


@pytest.mark.parametrize("end_session", ["logout", "sign-in-again"])
def test_a_spent_refresh_token_cannot_revive_a_session_that_ended(client, field_force, end_session):
    spent = sign_in(client, REP)
    current = refresh(client, spent).get_json()
    if end_session == "logout":
        client.post("/api/v1/auth/logout", headers=bearer(current))
    else:
        sign_in(client, REP)

    response = refresh(client, spent)  # within the grace period of a lost-response retry

    assert error_of(response) == (401, "invalid_token")
