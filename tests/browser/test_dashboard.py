"""A manager reads the forecast dashboard in a real browser: signs in, sees the region and its
territories with the same figures the JSON API gives, drills into a territory, exports what
they see, and signs out. Sign-in refuses wrong passwords, forged forms and reps."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import pytest
from flask import Flask

from tests.browser import chromium
from tests.browser.figures import MANAGER, MEDELLIN, MONTH
from tests.browser.server import LiveServer
from tests.builders import PASSWORD, headers_for

if TYPE_CHECKING:
    from playwright.sync_api import Page

expect = pytest.importorskip("playwright.sync_api", reason=chromium.NO_PLAYWRIGHT).expect

LOGIN = "/dashboard/login"
WINDOW = {"from": MONTH, "to": MONTH}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIELDS = {  # the table's data-field: where the JSON API's summary row holds the same figure
    "quota": ("quota",),
    "forecast_commit": ("forecast", "commit"),
    "forecast_best_case": ("forecast", "best_case"),
    "forecast_pipeline": ("forecast", "pipeline"),
    "adjusted_commit": ("forecast_adjusted", "commit"),
    "attainment_booked": ("attainment", "booked"),
    "gap": ("gap",),
}
READ_TABLE = """table => Object.fromEntries(
    [...table.querySelectorAll('tr[data-code]')].map(row => [
        row.dataset.code,
        Object.fromEntries([...row.querySelectorAll('td[data-field]')].map(cell => [
            cell.dataset.field, {value: cell.dataset.value, text: cell.textContent.trim()},
        ])),
    ])
)"""


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto(LOGIN)
    form = page.locator("form#login")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()


def api_summary(app: Flask, territory_id: str) -> dict:
    client = app.test_client()
    response = client.get(
        "/api/v1/forecasting/summary",
        query_string={"territory_id": territory_id, **WINDOW},
        headers=headers_for(client, MANAGER, "api-check"),
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def expected_row(row: dict) -> dict[str, Decimal]:
    figures = {}
    for field, path in FIELDS.items():
        value = row
        for key in path:
            value = value[key]
        figures[field] = Decimal(str(value))
    return figures


def shown_table(page: Page) -> dict[str, dict[str, Decimal | None]]:
    """The summary table's exact figures (``data-value``, None where empty) of the contract's
    fields by territory code; every cell must also have a formatted text. Other columns the
    page may add are not read."""
    cells = page.locator("table#summary").evaluate(READ_TABLE)
    for code, fields in cells.items():
        blank = [field for field, cell in fields.items() if not cell["text"]]
        assert not blank, f"{code}: cells without text {blank}"
    return {
        code: {field: _figure(fields, code, field) for field in FIELDS if field in fields}
        for code, fields in cells.items()
    }


def _figure(fields: dict[str, dict[str, str]], code: str, field: str) -> Decimal | None:
    value = fields[field]["value"]
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except ArithmeticError:
        raise AssertionError(f"{code} {field}: data-value {value!r} is not a number") from None


def assert_table_matches_api(page: Page, body: dict) -> None:
    shown = shown_table(page)
    expected = {row["code"]: expected_row(row) for row in [body["territory"], *body["children"]]}
    assert set(shown) == set(expected), "the table's rows are not the territory and its children"
    assert_same_figures(shown, expected, "table", "API")


def assert_same_figures(
    left: dict[str, dict[str, Decimal | None]],
    right: dict[str, dict[str, Decimal | None]],
    *names: str,
) -> None:
    """Every figure of ``right`` is in ``left`` and equal; else a list of those that differ."""
    differences = [
        f"{code} {field}: {names[0]} {left.get(code, {}).get(field)}, {names[1]} {value}"
        for code, row in right.items()
        for field, value in row.items()
        if left.get(code, {}).get(field) != value
    ]
    assert not differences, "\n".join(differences)


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(url).query).items()}


def test_a_manager_drills_from_the_region_into_a_territory_and_exports_what_they_see(
    page: Page, app: Flask, live_server: LiveServer, screenshot_path: Path
) -> None:
    region, medellin = live_server.territories["CO-AND"], live_server.territories["CO-ANT-01"]
    sign_in(page, MANAGER)
    page.wait_for_url(lambda url: urlparse(url).path == "/dashboard")
    expect(page.locator("h1")).to_contain_text("Andina")  # their own top territory

    page.goto(f"/dashboard?territory_id={region}&from={MONTH}&to={MONTH}")
    body = api_summary(app, region)
    assert body["territory"]["forecast"]["commit"] > 0 and body["territory"]["quota"] > 0
    assert_table_matches_api(page, body)
    expect(page.locator("svg#chart-monthly")).to_be_visible()
    expect(page.locator("svg#chart-attainment")).to_be_visible()

    page.locator('a[data-territory-code="CO-ANT-01"]').click()
    page.wait_for_url(lambda url: query_of(url).get("territory_id") == medellin)
    drilled_window = {key: query_of(page.url).get(key) for key in WINDOW}
    assert drilled_window == WINDOW, "the drill-down link does not keep the months"
    expect(page.locator("h1")).to_contain_text("Medellin Norte")
    drilled = api_summary(app, medellin)
    assert drilled["territory"]["attainment"]["booked"] > 0
    assert_table_matches_api(page, drilled)

    with page.expect_download() as download:
        page.locator("a#export-summary").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text)))
    table = shown_table(page)
    assert [row["code"] for row in exported] == list(table), "the CSV's rows are not the table's"
    csv_figures = {
        row["code"]: {f: Decimal(row[f]) if row[f] else None for f in FIELDS} for row in exported
    }
    assert_same_figures(csv_figures, table, "CSV", "table")

    page.screenshot(path=screenshot_path, full_page=True)
    assert screenshot_path.read_bytes()[:8] == PNG_SIGNATURE

    with page.expect_response(lambda r: urlparse(r.url).path == "/dashboard/logout") as out:
        page.locator("form#logout [type=submit]").click()
    assert out.value.status < 400, f"signing out answered {out.value.status}"
    answer = page.goto("/dashboard")
    assert answer.request.redirected_from is not None, "signed out, /dashboard still answered"
    assert urlparse(page.url).path == LOGIN
    expect(page.locator("form#login")).to_be_visible()


def test_a_wrong_password_shows_an_error_and_signs_nobody_in(page: Page) -> None:
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        sign_in(page, MANAGER, "not-the-password")
    assert answer.value.status == 401
    expect(page.locator(".error")).to_be_visible()
    page.goto("/dashboard")
    assert urlparse(page.url).path == LOGIN


def test_a_login_form_without_its_csrf_token_is_refused(page: Page) -> None:
    page.goto(LOGIN)  # a real session and token exist; the posts leave the token out or forge it
    credentials = {"email": MANAGER, "password": PASSWORD}
    for form in (credentials, {**credentials, "csrf_token": "forged"}):
        refused = page.request.post(LOGIN, form=form, max_redirects=0)
        assert refused.status in (400, 403), (form.keys(), refused.status)
    page.goto("/dashboard")
    assert urlparse(page.url).path == LOGIN


def test_a_rep_is_refused_the_dashboard(page: Page) -> None:
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        sign_in(page, MEDELLIN)
    assert answer.value.status == 403
    page.goto("/dashboard")
    assert urlparse(page.url).path == LOGIN
