"""Bad input always gets a clear 4xx JSON error with a stable code; no input produces a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.builders import headers_for, load


def write_routes(app) -> list[tuple[str, str]]:
    """Every JSON write route (the dashboard's HTML forms take form posts, not JSON)."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/dashboard"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS", "GET"}):
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<{argument}>", "00000000-0000-0000-0000-000000000000")
            routes.append((method, path))
    return routes


@pytest.fixture
def admin_headers(app, client):
    load(app)
    return headers_for(client, "admin@example.com")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize(
    "raw",
    [b"{", b"{'single': 'quotes'}", b"\xff\xfe\x00", b'{"a": NaN}', b"[" * 100_000, b"nul"],
    ids=["truncated", "single-quotes", "not-utf8", "nan", "deeply-nested", "bare-word"],
)
def test_malformed_json_is_a_400_on_every_write_route(app, client, admin_headers, raw):
    for method, path in write_routes(app):
        response = client.open(
            path, method=method, data=raw, headers=admin_headers, content_type="application/json"
        )
        assert response.status_code < 500, (method, path, response.get_data(as_text=True))
        if response.status_code == 400:
            assert_error(response, 400, "malformed_json")


def test_a_login_with_malformed_json_gets_malformed_json(client):
    response = client.post("/api/v1/auth/login", data=b"{", content_type="application/json")
    error = assert_error(response, 400, "malformed_json")
    assert "not valid JSON" in error["message"]


def test_an_empty_body_gets_empty_body(client):
    assert_error(client.post("/api/v1/auth/login"), 400, "empty_body")


def test_unknown_fields_are_rejected_with_their_path(client):
    response = client.post(
        "/api/v1/auth/login",
        json={
            "email": "a@example.com",
            "password": "x",
            "device_id": "d",
            "device_name": "n",
            "platform": "android",
            "is_admin": True,
        },
    )
    error = assert_error(response, 422, "validation_failed")
    assert {"path": "is_admin", "message": "Unknown field."} in error["details"]["errors"]


@pytest.mark.parametrize("body", [[], "text", 12, None, True])
def test_a_body_that_is_not_an_object_is_a_422(client, body):
    response = client.post(
        "/api/v1/auth/login", data=json.dumps(body), content_type="application/json"
    )
    assert_error(response, 422, "validation_failed")


def test_an_oversize_body_is_a_413_before_anything_is_read(client):
    response = client.post(
        "/api/v1/auth/login", data=b"x" * (17 * 1024), content_type="application/json"
    )
    error = assert_error(response, 413, "payload_too_large")
    assert error["details"]["limit_bytes"] == 16 * 1024


def test_an_oversize_body_on_a_general_route_uses_the_global_limit(app, client, admin_headers):
    big = json.dumps({"reason": "x" * app.config["MAX_BODY_BYTES"]})
    response = client.post(
        "/api/v1/admin/devices/any/revoke",
        data=big,
        headers=admin_headers,
        content_type="application/json",
    )
    assert_error(response, 413, "payload_too_large")


def test_unknown_routes_and_methods_answer_in_the_error_shape(client):
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    error = assert_error(client.delete("/api/v1/auth/login"), 405, "method_not_allowed")
    assert "POST" in error["details"]["allowed"]


@pytest.mark.parametrize("query", ["limit=0", "limit=100000", "limit=abc", "colour=red"])
def test_bad_query_parameters_are_a_422(client, admin_headers, query):
    assert_error(
        client.get(f"/api/v1/accounts?{query}", headers=admin_headers), 422, "validation_failed"
    )


def test_an_unexpected_failure_is_a_500_that_reveals_nothing(app, client, admin_headers, caplog):
    def explode(**_kwargs):
        raise RuntimeError("secret database password in a stack trace")

    original = app.view_functions["accounts.list_accounts"]
    app.view_functions["accounts.list_accounts"] = _with_access(explode, original)
    response = client.get("/api/v1/accounts", headers={**admin_headers, "X-Request-ID": "req-42"})
    error = assert_error(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True)
    assert error["details"] == {"request_id": "req-42"}
    assert response.headers["X-Request-ID"] == "req-42"


def _with_access(fn, original):
    fn.access_roles = original.access_roles
    return fn


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values, route_index=st.integers(min_value=0, max_value=1000))
def test_no_json_document_on_any_write_route_produces_a_500(
    app, client, admin_headers, body, route_index
):
    routes = write_routes(app)
    method, path = routes[route_index % len(routes)]
    if path.endswith("/logout"):
        return  # would end the session the other examples use
    response = client.open(
        path,
        method=method,
        data=json.dumps(body),
        headers=admin_headers,
        content_type="application/json",
    )
    assert response.status_code < 500, (method, path, body, response.get_data(as_text=True))
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) == {"code", "message", "details"}


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segment=st.text(max_size=40), value=st.text(max_size=40))
def test_no_path_segment_or_query_value_produces_a_500(app, client, admin_headers, segment, value):
    from urllib.parse import quote

    for path in (
        "/api/v1/accounts/{}",
        "/api/v1/contacts/{}",
        "/api/v1/territories/{}",
        "/api/v1/products/{}",
        "/api/v1/price-lists/{}/items",
    ):
        url = path.format(quote(segment, safe="")) + "?after=" + quote(value, safe="")
        response = client.get(url, headers=admin_headers)
        assert response.status_code < 500, (url, response.get_data(as_text=True))
    response = client.get(
        "/api/v1/accounts?search=" + quote(value or "x", safe=""), headers=admin_headers
    )
    assert response.status_code < 500, (value, response.get_data(as_text=True))


@pytest.mark.parametrize("field", ["device_id", "device_name", "platform", "password"])
def test_a_nul_character_in_a_login_field_is_a_422_at_that_field(client, field):
    body = {
        "email": "a@example.com",
        "password": "secret-password",
        "device_id": "d",
        "device_name": "n",
        "platform": "android",
        field: "bad\x00value",
    }
    error = assert_error(client.post("/api/v1/auth/login", json=body), 422, "validation_failed")
    assert error["details"]["errors"] == [
        {"path": field, "message": "Must not contain the NUL character."}
    ]


def test_a_nul_character_in_the_url_is_refused(client, admin_headers):
    response = client.get("/api/v1/accounts/abc%00def", headers=admin_headers)
    assert_error(response, 400, "invalid_characters")
