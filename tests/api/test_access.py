"""Deny by default: every route states who may call it, and a rep or manager reaching data
outside their territories gets 404 (DESIGN property 12)."""

from __future__ import annotations

import functools
import re
from datetime import timedelta

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select, update

from sfa import create_app
from sfa.accounts.models import Account, Contact
from sfa.auth.models import User
from sfa.clock import today
from sfa.db import db
from sfa.http.access import check_routes_declare_access
from sfa.territories.models import Territory, TerritoryAssignment
from tests.builders import headers_for, load, world

DUMMY_ID = "00000000-0000-7000-8000-000000000000"
PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    # the dashboard's pages authenticate by their session cookie themselves (sfa/dashboard)
    ("GET", "/dashboard/login"),
    ("POST", "/dashboard/login"),
    ("POST", "/dashboard/logout"),
    ("GET", "/dashboard"),
    ("GET", "/dashboard/export/<table>.csv"),
}
ALL_ACCOUNTS = [f"A-{t}-{n}" for t in ("CO-ANT-01", "CO-BAQ-01", "CO-BOG-01") for n in (1, 2)]


@functools.cache
def declared_routes() -> tuple[tuple[str, str, frozenset | None], ...]:
    """(method, rule, access_roles) of every route the app serves, read from its url_map."""
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "LOG_LEVEL": "WARNING"})
    with app.app_context():
        db.engine.dispose()
    routes = []
    for rule in app.url_map.iter_rules():
        roles = getattr(app.view_functions[rule.endpoint], "access_roles", None)
        routes.extend((m, rule.rule, roles) for m in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return tuple(routes)


def concrete(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?[^<>]+>", DUMMY_ID, rule)


PRIVATE = [(m, r) for m, r, roles in declared_routes() if roles != frozenset()]
ADMIN_ROUTES = [(m, r) for m, r in PRIVATE if r.startswith("/api/v1/admin/")]


def ids_of(app, column, codes):
    with app.app_context():
        return [db.session.scalar(select(column.class_.id).where(column == c)) for c in codes]


def account_codes(client, headers, **query) -> list[str]:
    response = client.get("/api/v1/accounts", headers=headers, query_string=query)
    assert response.status_code == 200
    return [a["code"] for a in response.get_json()["items"]]


@pytest.fixture
def field_force(app):
    load(app)


# Every route states who may call it


def test_only_the_expected_routes_are_public():
    public = {(m, r) for m, r, roles in declared_routes() if roles == frozenset()}

    assert public == PUBLIC_ROUTES
    assert ADMIN_ROUTES, "the admin routes were not found in the url_map"


@pytest.mark.parametrize(("method", "rule"), PRIVATE, ids=[f"{m} {r}" for m, r in PRIVATE])
def test_every_private_route_requires_a_token(client, method, rule):
    response = client.open(concrete(rule), method=method)

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "authentication_required"


ERP = "erp@example.com"
NOT_ADMINS = {
    "rep": "rep.medellin@example.com",
    "manager": "manager.andina@example.com",
    "erp": ERP,
}
REFUSED = [
    pytest.param(email, method, rule, id=f"{role} {method} {rule}")
    for role, email in NOT_ADMINS.items()
    for method, rule in ADMIN_ROUTES
    if not (email == ERP and rule == "/api/v1/admin/import")  # the ERP feeds master data
]


@pytest.mark.parametrize(("role_email", "method", "rule"), REFUSED)
def test_only_admins_may_call_the_admin_routes(client, field_force, role_email, method, rule):
    response = client.open(
        concrete(rule), method=method, json={}, headers=headers_for(client, role_email)
    )

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("erp@example.com", 200),
        ("admin@example.com", 200),
        ("manager.andina@example.com", 403),
        ("rep.medellin@example.com", 403),
    ],
    ids=["erp", "admin", "manager", "rep"],
)
def test_the_erp_and_admins_may_import_master_data(client, field_force, email, status):
    document = {
        "format": "sfa-import/1",
        "products": [
            {
                "sku": "P-0003",
                "name": "Ibuprofeno 400 mg x 30",
                "product_line": "ANALGESICS",
                "unit": "box",
            }
        ],
    }

    response = client.post(
        "/api/v1/admin/import", json=document, headers=headers_for(client, email)
    )

    assert response.status_code == status, response.get_json()


def test_the_app_refuses_to_start_with_a_route_that_declares_no_access(app, client):
    app.add_url_rule("/bare", "bare", lambda: "hello")

    with pytest.raises(RuntimeError, match="bare"):
        check_routes_declare_access(app)
    response = client.get("/bare")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


# Scope: a rep or manager sees their territories, and nothing else exists for them


def test_a_rep_lists_only_their_territorys_accounts(app, client, field_force):
    headers = headers_for(client, "rep.medellin@example.com")
    [barranquilla] = ids_of(app, Territory.code, ["CO-BAQ-01"])

    assert account_codes(client, headers) == ["A-CO-ANT-01-1", "A-CO-ANT-01-2"]
    assert account_codes(client, headers, territory_id=barranquilla) == []


@pytest.mark.parametrize(
    ("template", "column", "code"),
    [
        ("/api/v1/accounts/{}", Account.code, "A-CO-BAQ-01-1"),
        ("/api/v1/accounts/{}/contacts", Account.code, "A-CO-BAQ-01-1"),
        ("/api/v1/contacts/{}", Contact.code, "C-CO-BAQ-01-1"),
        ("/api/v1/territories/{}", Territory.code, "CO-BAQ-01"),
        ("/api/v1/territories/{}", Territory.code, "CO-AND"),
    ],
    ids=["account", "contacts", "contact", "territory", "parent-region"],
)
def test_a_rep_gets_not_found_for_another_territorys_data(
    app, client, field_force, template, column, code
):
    [outside] = ids_of(app, column, [code])
    own_code = code.replace("BAQ", "ANT").replace("CO-AND", "CO-ANT-01")
    [inside] = ids_of(app, column, [own_code])
    headers = headers_for(client, "rep.medellin@example.com")

    assert client.get(template.format(inside), headers=headers).status_code == 200
    response = client.get(template.format(outside), headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_regional_manager_sees_every_territory_of_the_region(app, client, field_force):
    headers = headers_for(client, "manager.andina@example.com")
    [barranquilla] = ids_of(app, Account.code, ["A-CO-BAQ-01-1"])

    assert account_codes(client, headers) == [
        "A-CO-ANT-01-1",
        "A-CO-ANT-01-2",
        "A-CO-BOG-01-1",
        "A-CO-BOG-01-2",
    ]
    assert client.get(f"/api/v1/accounts/{barranquilla}", headers=headers).status_code == 404


@pytest.mark.parametrize("email", ["admin@example.com", "erp@example.com"], ids=["admin", "erp"])
def test_the_back_office_sees_every_account(app, client, field_force, email):
    headers = headers_for(client, email)
    [barranquilla] = ids_of(app, Account.code, ["A-CO-BAQ-01-1"])

    assert account_codes(client, headers) == ALL_ACCOUNTS
    assert client.get(f"/api/v1/accounts/{barranquilla}", headers=headers).status_code == 200


def _end_assignment_yesterday(app):
    with app.app_context():
        db.session.execute(
            update(TerritoryAssignment)
            .where(
                TerritoryAssignment.user_id
                == select(User.id).where(User.email == "rep.medellin@example.com").scalar_subquery()
            )
            .values(valid_from=today() - timedelta(days=30), valid_to=today() - timedelta(days=1))
        )
        db.session.commit()


def _move_to_bogota_by_import(app):
    with app.app_context():  # the assignment started a month ago: the import ends it yesterday
        db.session.execute(
            update(TerritoryAssignment).values(valid_from=today() - timedelta(days=30))
        )
        db.session.commit()
    document = world()
    rep = next(u for u in document["users"] if u["email"] == "rep.medellin@example.com")
    rep["territories"] = ["CO-BOG-01"]
    load(app, document)


@pytest.mark.parametrize(
    ("reassign", "still_seen"),
    [
        (_end_assignment_yesterday, []),
        (_move_to_bogota_by_import, ["A-CO-BOG-01-1", "A-CO-BOG-01-2"]),
    ],
    ids=["assignment-ended", "moved-by-import"],
)
def test_a_rep_whose_assignment_ended_yesterday_no_longer_sees_the_territory(
    app, client, field_force, reassign, still_seen
):
    headers = headers_for(client, "rep.medellin@example.com")
    [medellin] = ids_of(app, Territory.code, ["CO-ANT-01"])

    reassign(app)

    assert account_codes(client, headers) == still_seen
    assert client.get(f"/api/v1/territories/{medellin}", headers=headers).status_code == 404


# The contract document


def test_the_openapi_document_is_valid_and_states_who_may_call_each_endpoint(app, client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    for rule in app.url_map.iter_rules():
        spec = getattr(app.view_functions[rule.endpoint], "endpoint_spec", None)
        if spec is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        operation = document["paths"][path][spec.method.lower()]
        assert operation["x-roles"] == (sorted(spec.roles) or ["public"]), path
    assert document["paths"]["/api/v1/auth/login"]["post"]["x-roles"] == ["public"]
    assert document["paths"]["/api/v1/admin/users"]["post"]["x-roles"] == ["admin"]
    assert document["paths"]["/api/v1/admin/import"]["post"]["x-roles"] == ["admin", "erp"]
