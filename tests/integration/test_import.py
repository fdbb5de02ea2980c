"""Importing master data from the ERP: upsert by natural key, all or nothing, idempotent."""

from __future__ import annotations

import contextlib
import functools
import operator
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import event, func, select, update

from sfa.accounts.models import Account
from sfa.auth.models import User
from sfa.catalog.models import PriceListItem, Product
from sfa.clock import today
from sfa.db import Base, db
from sfa.erp.imports.services import ImportReport
from sfa.erp.imports.upsert import SectionCount
from sfa.errors import ValidationFailed
from sfa.territories.models import Territory, TerritoryAssignment
from tests.builders import (
    BOOKKEEPING,
    PASSWORD,
    TRACKING_COLUMNS,
    headers_for,
    is_empty,
    load,
    snapshot,
    world,
)

WORLD_CREATED = {
    "territories": 6,
    "users": 6,
    "products": 2,
    "price_lists": 1,
    "price_list_items": 2,
    "accounts": 6,
    "contacts": 3,
    "stock": 2,
    "pricing_rules": 2,
    "quotas": 1,
}


def counts(report: ImportReport, field: str) -> dict[str, int]:
    return {section: getattr(count, field) for section, count in report.sections.items()}


def changed_rows(before: dict, after: dict) -> dict[str, set]:
    """Per table, the rows that appeared or changed between two snapshots."""
    diff = {name: set(after[name]) - set(before[name]) for name in after if name not in BOOKKEEPING}
    return {name: rows for name, rows in diff.items() if rows}


@contextlib.contextmanager
def statements_written(app: Flask) -> Iterator[list[str]]:
    """The INSERT, UPDATE and DELETE statements sent to the database inside the block."""
    found: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:  # noqa: ANN001
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            found.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", record)


def scalar(app: Flask, query):  # noqa: ANN001, ANN201
    with app.app_context():
        return db.session.scalar(query)


def account(app: Flask, code: str) -> Account:
    return scalar(app, select(Account).where(Account.code == code))


def user(app: Flask, email: str) -> User:
    return scalar(app, select(User).where(User.email == email))


def test_the_small_world_imports_and_a_second_import_writes_nothing(app):
    first = load(app)
    assert counts(first, "created") == WORLD_CREATED
    assert first.changed is True
    before = snapshot(app)

    with statements_written(app) as written:
        again = load(app)

    assert written == []
    assert counts(again, "created") == dict.fromkeys(WORLD_CREATED, 0)
    assert counts(again, "updated") == dict.fromkeys(WORLD_CREATED, 0)
    assert again.changed is False
    assert snapshot(app) == before


ONE_CHANGE = {
    "an account's phone": (("accounts", 2, "phone"), "+57 601 555 9999", "accounts", "accounts"),
    "a price": (
        ("price_lists", 0, "items", 1, "price"),
        31000,
        "price_list_items",
        "price_list_items",
    ),
    "a stock level": (("stock", 1, "available"), 40, "stock", "stock_levels"),
    "a quota": (("quotas", 0, "amount"), 90000000, "quotas", "quotas"),
    "a territory's name": (
        ("territories", 2, "name"),
        "Costa Caribe",
        "territories",
        "territories",
    ),
    "a user's name": (("users", 4, "name"), "Rep Bogota Norte", "users", "users"),
    "a contact's specialty": (("contacts", 1, "specialty"), "cardiology", "contacts", "contacts"),
}


@pytest.mark.parametrize(("path", "value", "section", "table"), ONE_CHANGE.values(), ids=ONE_CHANGE)
def test_one_changed_value_updates_exactly_that_record(app, path, value, section, table):
    load(app)
    before = snapshot(app)
    document = world()
    *parents, name = path
    record = functools.reduce(operator.getitem, parents, document)
    record[name] = value

    report = load(app, document)

    expected = SectionCount(created=0, updated=1, unchanged=WORLD_CREATED[section] - 1)
    assert report.sections[section] == expected
    assert [s for s, c in report.sections.items() if c.created or c.updated] == [section]
    assert report.changed is True
    after = snapshot(app)
    assert list(changed_rows(before, after)) == [table]
    (old,) = set(before[table]) - set(after[table])
    (new,) = set(after[table]) - set(before[table])
    columns = [c.name for c in Base.metadata.tables[table].columns]
    moved = {column for column, a, b in zip(columns, old, new, strict=True) if a != b}
    assert moved - TRACKING_COLUMNS == {name, "updated_at"}
    if "sync_version" in columns:  # the change reaches devices on their next pull
        assert new[columns.index("sync_version")] != old[columns.index("sync_version")]
    assert new[columns.index("updated_at")] > old[columns.index("updated_at")]


def test_records_not_in_the_file_are_untouched(app):
    load(app)
    before = snapshot(app)
    edited = world()["accounts"][0] | {"name": "Drogueria Renombrada"}

    report = load(app, {"format": "sfa-import/1", "accounts": [edited]})

    assert report.sections["accounts"] == SectionCount(created=0, updated=1, unchanged=0)
    assert list(changed_rows(before, snapshot(app))) == ["accounts"]
    assert account(app, "A-CO-ANT-01-1").name == "Drogueria Renombrada"
    assert account(app, "A-CO-ANT-01-2").name == "Drogueria CO-ANT-01 2"


def test_active_false_deactivates_an_account_and_a_product(app):
    load(app)
    document = world()
    document["accounts"][0]["active"] = False
    document["products"][1]["active"] = False

    report = load(app, document)

    assert (report.sections["accounts"].updated, report.sections["products"].updated) == (1, 1)
    assert account(app, "A-CO-ANT-01-1").active is False
    assert account(app, "A-CO-ANT-01-2").active is True
    assert scalar(app, select(Product.active).where(Product.sku == "P-0002")) is False
    assert scalar(app, select(Product.active).where(Product.sku == "P-0001")) is True


def test_an_account_moved_in_the_file_moves_to_the_new_territory(app):
    load(app)
    document = world()
    document["accounts"][0]["territory"] = "CO-BAQ-01"

    load(app, document)

    barranquilla = scalar(app, select(Territory.id).where(Territory.code == "CO-BAQ-01"))
    assert account(app, "A-CO-ANT-01-1").territory_id == barranquilla
    assert load(app, document).changed is False


def assignments(app: Flask, email: str) -> list[tuple]:
    query = (
        select(Territory.code, TerritoryAssignment.valid_from, TerritoryAssignment.valid_to)
        .join(Territory, Territory.id == TerritoryAssignment.territory_id)
        .join(User, User.id == TerritoryAssignment.user_id)
        .where(User.email == email)
        .order_by(TerritoryAssignment.valid_from, Territory.code)
    )
    with app.app_context():
        return [tuple(row) for row in db.session.execute(query)]


def test_a_rep_moved_to_another_territory_keeps_the_old_assignment_until_yesterday(app):
    load(app)
    last_month = today("America/Bogota") - timedelta(days=30)
    with app.app_context():
        db.session.execute(update(TerritoryAssignment).values(valid_from=last_month))
        db.session.commit()
    document = world()
    document["users"][3]["territories"] = ["CO-BOG-01"]

    report = load(app, document)

    on = today("America/Bogota")
    assert report.sections["users"] == SectionCount(created=0, updated=1, unchanged=5)
    assert assignments(app, "rep.medellin@example.com") == [
        ("CO-ANT-01", last_month, on - timedelta(days=1)),
        ("CO-BOG-01", on, None),
    ]
    before = snapshot(app)
    with statements_written(app) as written:
        assert load(app, document).changed is False
    assert (written, snapshot(app)) == ([], before)


def test_an_assignment_replaced_on_its_first_day_leaves_no_history(app):
    load(app)
    document = world()
    document["users"][3]["territories"] = ["CO-BOG-01"]

    load(app, document)

    assert assignments(app, "rep.medellin@example.com") == [
        ("CO-BOG-01", today("America/Bogota"), None)
    ]


def test_the_password_in_the_file_is_only_an_initial_password(app):
    load(app)
    hasher = app.extensions["sfa.auth"].hasher
    first_hash = user(app, "rep.bogota@example.com").password_hash
    assert hasher.verify(PASSWORD, first_hash)
    document = world()
    document["users"][4]["password"] = "another-password-2027"

    report = load(app, document)

    assert report.sections["users"] == SectionCount(created=0, updated=0, unchanged=6)
    assert user(app, "rep.bogota@example.com").password_hash == first_hash


def test_money_round_trips_exactly_on_every_backend(app):
    document = world()
    limits = [Decimal("12345678901.2345"), Decimal("0.1"), Decimal("0.2"), Decimal("0.0001")]
    for row, limit in zip(document["accounts"], limits, strict=False):
        row["credit_limit"] = limit
    load(app, document)

    price = scalar(app, select(PriceListItem.price).order_by(PriceListItem.price.desc()))
    big = account(app, "A-CO-ANT-01-1").credit_limit
    total = scalar(app, select(func.sum(Account.credit_limit)))

    assert (type(price), price) == (Decimal, Decimal("30250.5"))
    assert (type(big), big) == (Decimal, Decimal("12345678901.2345"))
    assert (type(total), total) == (Decimal, Decimal("12345678901.5346") + 2 * 5000000)


def edit(section: str, index: int, **values) -> Callable[[dict], dict]:  # noqa: ANN003
    def apply(document: dict) -> dict:
        document[section][index].update(values)
        return document

    return apply


def drop(section: str, index: int, name: str) -> Callable[[dict], dict]:
    def apply(document: dict) -> dict:
        del document[section][index][name]
        return document

    return apply


def add_territories(*pairs: tuple[str, str]) -> Callable[[dict], dict]:
    def apply(document: dict) -> dict:
        for code, parent in pairs:
            document["territories"].append(
                {"code": code, "name": code, "parent": parent, "type": "territory"}
            )
        return document

    return apply


def price_unknown_sku(document: dict) -> dict:
    document["price_lists"][0]["items"][1]["sku"] = "P-9999"
    return document


def colombia_under_barranquilla(document: dict) -> dict:
    return {
        "format": "sfa-import/1",
        "territories": [
            {"code": "CO", "name": "Colombia", "parent": "CO-BAQ-01", "type": "country"}
        ],
    }


INVALID = {
    "unknown field": (edit("accounts", 0, colour="red"), "accounts[0].colour", "Unknown field."),
    "unknown field named with a superscript digit": (
        edit("accounts", 0, **{"área²": 1}),
        "accounts[0].área²",
        "Unknown field.",
    ),
    "amount as a string": (
        edit("accounts", 0, credit_limit="5000"),
        "accounts[0].credit_limit",
        "Not a valid number.",
    ),
    "boolean as a word": (
        edit("products", 1, active="yes"),
        "products[1].active",
        "Not a valid boolean.",
    ),
    "fractional stock": (
        edit("stock", 0, available=1.5),
        "stock[0].available",
        "Not a valid integer.",
    ),
    "stock beyond what the database holds": (
        edit("stock", 0, available=2**63),
        "stock[0].available",
        "less than or equal to 9223372036854775807",
    ),
    "quota units beyond what the database holds": (
        edit("quotas", 0, units=2**63),
        "quotas[0].units",
        "less than or equal to 9223372036854775807",
    ),
    "a NUL character in a name": (
        edit("contacts", 1, name="Dra.\x00Example"),
        "contacts[1].name",
        "Must not contain the NUL character.",
    ),
    "missing name": (
        drop("accounts", 4, "name"),
        "accounts[4].name",
        "Missing data for required field.",
    ),
    "duplicate account code": (
        edit("accounts", 3, code="A-CO-ANT-01-2"),
        "accounts[3]",
        'duplicate code "A-CO-ANT-01-2" (first at accounts[1])',
    ),
    "unknown territory": (
        edit("accounts", 1, territory="CO-XX"),
        "accounts[1].territory",
        'unknown territory "CO-XX"',
    ),
    "unknown price list": (
        edit("accounts", 2, price_list="WHOLESALE"),
        "accounts[2].price_list",
        'unknown price list "WHOLESALE"',
    ),
    "unknown sku in a price list": (
        price_unknown_sku,
        "price_lists[0].items[1].sku",
        'unknown product "P-9999"',
    ),
    "unknown sku in stock": (
        edit("stock", 1, sku="P-9999"),
        "stock[1].sku",
        'unknown product "P-9999"',
    ),
    "contact of an unknown account": (
        edit("contacts", 2, account="A-NOPE"),
        "contacts[2].account",
        'unknown account "A-NOPE"',
    ),
    "quota for an unknown product line": (
        edit("quotas", 0, product_line="VACCINES"),
        "quotas[0].product_line",
        'unknown product line "VACCINES"',
    ),
    "quota for a product line the file empties": (
        edit("products", 0, product_line="PAIN"),
        "quotas[0].product_line",
        'unknown product line "ANALGESICS"',
    ),
    "territory under an unknown parent": (
        edit("territories", 3, parent="CO-XX"),
        "territories[3].parent",
        'unknown territory "CO-XX"',
    ),
    "cycle inside the file": (
        add_territories(("X-1", "X-2"), ("X-2", "X-1")),
        "territories[6].parent",
        "cycle in the territory tree: X-1 -> X-2 -> X-1",
    ),
    "cycle with the territories already imported": (
        colombia_under_barranquilla,
        "territories[0].parent",
        "cycle in the territory tree: ",
    ),
    "not an object": (lambda document: [document], "$", "the import must be a JSON object"),
    "wrong format": (
        lambda document: document | {"format": "sfa-import/2"},
        "format",
        "Must be equal to sfa-import/1.",
    ),
    "territories for an admin": (
        edit("users", 0, territories=["CO"]),
        "users[0].territories",
        "only reps and managers have territories",
    ),
}


@pytest.mark.parametrize(("change", "path", "message"), INVALID.values(), ids=INVALID.keys())
def test_an_invalid_file_imports_nothing_and_says_where(app, change, path, message):
    load(app)
    before = snapshot(app)
    document = world()
    document["accounts"][0]["phone"] = "+57 604 000 0000"  # a valid change, not to be applied

    with pytest.raises(ValidationFailed) as failure:
        load(app, change(document))

    errors = failure.value.details["errors"]
    assert any(e["path"] == path and message in e["message"] for e in errors), errors
    assert snapshot(app) == before


def test_every_error_is_reported_in_one_go_in_document_order(app):
    document = world()
    document["quotas"][0]["product_line"] = "VACCINES"
    document["stock"][1]["available"] = "lots"
    document["accounts"][4]["territory"] = "CO-XX"
    document["accounts"][1]["colour"] = "red"
    del document["products"][1]["unit"]
    document["territories"][2]["type"] = "continent"

    with pytest.raises(ValidationFailed) as failure:
        load(app, document)

    assert [e["path"] for e in failure.value.details["errors"]] == [
        "territories[2].type",
        "products[1].unit",
        "accounts[1].colour",
        "accounts[4].territory",
        "stock[1].available",
        "quotas[0].product_line",
    ]
    assert is_empty(snapshot(app))


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("admin@example.com", 200),
        ("erp@example.com", 200),
        ("manager.andina@example.com", 403),
        ("rep.medellin@example.com", 403),
    ],
)
def test_only_admins_and_the_erp_may_import_over_the_api(app, client, email, status):
    load(app)
    document = world()
    document["products"][0]["name"] = "Acetaminofen 500 mg x 200"

    response = client.post(
        "/api/v1/admin/import", json=document, headers=headers_for(client, email)
    )

    assert response.status_code == status, response.get_json()
    renamed = scalar(app, select(Product.name).where(Product.sku == "P-0001"))
    assert (renamed == "Acetaminofen 500 mg x 200") is (status == 200)
    if status == 200:
        body = response.get_json()
        assert body["changed"] is True
        assert body["sections"]["products"] == {"created": 0, "updated": 1, "unchanged": 1}


def test_an_invalid_file_over_the_api_is_a_422_listing_every_error(app, client):
    load(app)
    headers = headers_for(client, "erp@example.com")
    before = snapshot(app)
    document = world()
    document["accounts"][1]["territory"] = "CO-XX"
    document["stock"][0]["available"] = 1.5

    response = client.post("/api/v1/admin/import", json=document, headers=headers)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"]["errors"] == [
        {"path": "accounts[1].territory", "message": 'unknown territory "CO-XX"'},
        {"path": "stock[0].available", "message": "Not a valid integer."},
    ]
    assert snapshot(app) == before


def test_malformed_json_over_the_api_is_a_400(app, client):
    load(app)
    response = client.post(
        "/api/v1/admin/import",
        data=b'{"format": "sfa-import/1", "accounts": [',
        content_type="application/json",
        headers=headers_for(client, "admin@example.com"),
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


class TestWithASmallImportLimit:
    @pytest.fixture
    def settings(self) -> dict:
        return {"MAX_IMPORT_BYTES": 1000}

    def test_a_file_over_the_limit_is_refused_and_nothing_imported(self, app, client):
        load(app)
        headers = headers_for(client, "admin@example.com")
        before = snapshot(app)
        document = world()
        document["products"][0]["name"] = "Acetaminofen 500 mg x 200"

        response = client.post("/api/v1/admin/import", json=document, headers=headers)

        assert response.status_code == 413
        assert response.get_json()["error"]["code"] == "payload_too_large"
        assert snapshot(app) == before
