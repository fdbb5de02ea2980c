"""The managers' dashboard over HTTP (server side): sign-in with a session cookie and CSRF
tokens, scope, numbers equal to the JSON API's, CSV exports, and the JSON API's insights."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from sfa.db import db
from sfa.territories.models import Territory
from tests.builders import PASSWORD, headers_for, load, world
from tests.sync_helpers import SyncDevice, mutation, new_id

MANAGER, MEDELLIN = "manager.andina@example.com", "rep.medellin@example.com"
WINDOW = {"from": "2026-12", "to": "2026-12"}


@pytest.fixture
def codes(app) -> dict[str, str]:  # noqa: ANN001
    load(app, world())
    with app.app_context():
        return dict(db.session.execute(select(Territory.code, Territory.id)).all())


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def sign_in(client, email: str = MANAGER, password: str = PASSWORD):  # noqa: ANN001, ANN201
    token = csrf(client.get("/dashboard/login").get_data(as_text=True))
    form = {"email": email, "password": password, "csrf_token": token}
    return client.post("/dashboard/login", data=form)


def cells(page: str, code: str) -> dict[str, str]:
    row = re.search(rf'<tr data-code="{re.escape(code)}".*?</tr>', page, re.S)[0]
    return dict(re.findall(r'data-field="([a-z_]+)" data-value="([^"]*)"', row))


def test_sign_in_needs_the_form_s_token_and_a_manager(app, client, codes):
    assert client.get("/dashboard").headers["Location"].endswith("/dashboard/login")
    page = client.get("/dashboard/login").get_data(as_text=True)
    forged = client.post("/dashboard/login", data={"email": MANAGER, "password": PASSWORD})
    assert forged.status_code == 400  # no CSRF token
    wrong = sign_in(client, password="not-it")
    assert wrong.status_code == 401 and 'class="error"' in wrong.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302  # still signed out
    rep = sign_in(client, MEDELLIN)
    assert rep.status_code == 403
    assert client.get("/dashboard").status_code == 302
    done = sign_in(client)
    assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard")
    cookie = done.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = client.get("/dashboard", query_string=WINDOW).get_data(as_text=True)
    assert "<h1>Andina" in home and 'id="chart-monthly"' in home and 'id="chart-attainment"' in home
    refused = client.post("/dashboard/logout", data={"csrf_token": csrf(page)})
    assert refused.status_code == 400  # a token from before sign-in is no longer valid
    client.post("/dashboard/logout", data={"csrf_token": csrf(home)})
    assert client.get("/dashboard").status_code == 302


def test_the_page_shows_the_api_s_numbers_and_exports_them(app, client, codes):
    admin = headers_for(client, "admin@example.com", "laptop")
    client.put(
        "/api/v1/forecasting/quotas",
        headers=admin,
        json={
            "territory_id": codes["CO-BOG-01"],
            "period": "2026-12",
            "product_line": "ANALGESICS",
            "amount": 12345.5,
        },
    )
    device = SyncDevice(client, headers_for(client, MEDELLIN, "phone"))
    record = new_id()
    device.push(
        mutation(
            "forecasts",
            "create",
            record,
            {
                "period": "2026-12",
                "product_line": "ANALGESICS",
                "category": "commit",
                "amount": 777,
            },
        ),
        mutation("forecasts", "update", record, {"status": "submitted"}, 1),
    )
    manager = headers_for(client, MANAGER, "tablet")
    api = client.get(
        "/api/v1/forecasting/summary",
        headers=manager,
        query_string={"territory_id": codes["CO-AND"], **WINDOW},
    ).get_json()
    sign_in(client)

    page = client.get("/dashboard", query_string={"territory_id": codes["CO-AND"], **WINDOW})

    html = page.get_data(as_text=True)
    for row in [api["territory"], *api["children"]]:
        shown = cells(html, row["code"])
        assert float(shown["quota"]) == row["quota"]
        assert float(shown["forecast_commit"]) == row["forecast"]["commit"]
        assert float(shown["gap"]) == row["gap"]
    assert float(cells(html, "CO-BOG-01")["quota"]) == 12345.5
    assert float(cells(html, "CO-AND")["forecast_commit"]) == 777
    link = re.search(r'id="export-summary"[^>]*href="([^"]+)"', html)[1].replace("&amp;", "&")
    exported = client.get(link)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [r["code"] for r in table] == ["CO-AND", "CO-ANT-01", "CO-BOG-01"]
    assert float(table[2]["quota"]) == 12345.5 and float(table[0]["forecast_commit"]) == 777
    drill = re.search(r'<a href="([^"]+)"\s+data-territory-code="CO-ANT-01"', html)[1]
    child = client.get(drill.replace("&amp;", "&")).get_data(as_text=True)
    assert "<h1>Medellin Norte" in child and 'data-territory-code="CO-AND"' in child


def test_a_manager_cannot_open_a_territory_outside_the_subtree(client, codes):
    sign_in(client)
    outside = client.get("/dashboard", query_string={"territory_id": codes["CO-BAQ-01"]})
    assert outside.status_code == 404
    export = client.get(
        "/dashboard/export/summary.csv", query_string={"territory_id": codes["CO-BAQ-01"], **WINDOW}
    )
    assert export.status_code == 404
    assert client.get("/dashboard", query_string={"from": "2026-13"}).status_code == 422


def test_the_json_api_has_the_dashboard_s_insights(app, client, codes):
    manager = headers_for(client, MANAGER, "tablet")
    SyncDevice(client, headers_for(client, MEDELLIN, "phone")).pull()
    query = {"territory_id": codes["CO-AND"]}
    compliance = client.get(
        "/api/v1/forecasting/compliance", headers=manager, query_string=query
    ).get_json()
    late = {r["name"]: r["late"] for r in compliance["items"]}
    assert late == {"Rep Bogota": True, "Rep Medellin": False}  # Bogota never synced
    baseline = client.get(
        "/api/v1/forecasting/baseline", headers=manager, query_string={**query, **WINDOW}
    ).get_json()
    assert baseline["model"] is None and "at least" in baseline["reason"]  # no history yet
    accuracy = client.get(
        "/api/v1/forecasting/accuracy", headers=manager, query_string={**query, **WINDOW}
    ).get_json()
    assert {r["name"] for r in accuracy["items"]} == {"Rep Bogota", "Rep Medellin"}
    conflicts = client.get(
        "/api/v1/forecasting/open-conflicts", headers=manager, query_string=query
    ).get_json()
    assert conflicts["items"] == []
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {
        "/api/v1/forecasting/summary",
        "/api/v1/forecasting/baseline",
        "/api/v1/forecasting/compliance",
    } <= set(spec["paths"])


def test_bad_parameters_get_a_page_not_a_500(client, codes):
    sign_in(client)
    for query in ({"days": "1000000"}, {"days": "0"}, {"days": "x"}, {"to": "2026-99"}):
        page = client.get("/dashboard", query_string=query)
        assert page.status_code == 422, (query, page.status_code)
    expired = client.post("/dashboard/logout", data={"csrf_token": "forged"})
    assert expired.status_code == 400 and "form expired" in expired.get_data(as_text=True)


def test_the_default_window_is_the_last_three_months_across_a_new_year(app):
    from datetime import date

    from sfa.dashboard.views import _window

    with app.test_request_context("/dashboard"):
        assert _window(date(2027, 1, 15))[0] == ["2026-11", "2026-12", "2027-01"]
        assert _window(date(2026, 12, 1))[0] == ["2026-10", "2026-11", "2026-12"]


def test_the_page_shows_the_forecast_change_between_the_last_two_snapshots(app, client, codes):
    manager = headers_for(client, MANAGER, "tablet")
    sign_in(client)
    assert "Two snapshots are needed" in client.get("/dashboard", query_string=WINDOW).get_data(
        as_text=True
    )
    client.post("/api/v1/forecasting/snapshots", headers=manager)
    device = SyncDevice(client, headers_for(client, MEDELLIN, "phone"))
    record = new_id()
    device.push(
        mutation(
            "forecasts",
            "create",
            record,
            {
                "period": "2026-12",
                "product_line": "ANALGESICS",
                "category": "commit",
                "amount": 250,
            },
        ),
        mutation("forecasts", "update", record, {"status": "submitted"}, 1),
    )
    client.post("/api/v1/forecasting/snapshots", headers=manager)

    html = client.get("/dashboard", query_string=WINDOW).get_data(as_text=True)

    table = re.search(r'<table id="snapshot-diff">.*?</table>', html, re.S)[0]
    row = re.search(r'<tr data-code="CO-AND">(.*?)</tr>', table, re.S)[1]
    assert re.findall(r"<td>([^<]*)</td>", row)[1:3] == ["250", "250"]  # commit now, change


def test_signing_out_ends_the_sign_in_even_for_a_copied_cookie(app, client, codes):
    sign_in(client)
    copied = client.get_cookie("session").value
    home = client.get("/dashboard").get_data(as_text=True)
    client.post("/dashboard/logout", data={"csrf_token": csrf(home)})

    thief = app.test_client()
    thief.set_cookie("session", copied)

    assert thief.get("/dashboard").status_code == 302  # to the sign-in page
