"""On PostgreSQL the database writes each pulled record's JSON itself; it must be the record
the Python shaper gives (and SQLite pulls use), field for field, for every entity."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from sqlalchemy import Text, cast, func, literal_column, select, update

from sfa.accounts.models import Account
from sfa.db import db
from sfa.sync.entities import ENTITIES, record_columns_sql, record_shaper
from tests.builders import headers_for, load
from tests.sync_helpers import SyncDevice, mutation, new_id

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def exact(text: str) -> object:
    """The JSON document with every number kept as written (``5000000`` and ``5000000.0000``
    differ), whitespace aside (JSON columns keep the text they were stored with)."""
    return json.loads(text, parse_float=_as_written, parse_int=_as_written)


def _as_written(number: str) -> tuple[str, str]:
    return ("number", number)


def fill_every_entity(app, client) -> None:  # noqa: ANN001
    load(app)
    rep = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "phone-1"))
    other = SyncDevice(client, headers_for(client, "rep.medellin@example.com", "phone-2"))
    rep.pull()
    account = min(rep.records["accounts"].values(), key=lambda a: a["code"])
    product = min(rep.records["products"])
    order, visit = new_id(), new_id()
    when = "2026-11-23T09:15:30.123Z"
    results = rep.push(
        mutation(
            "orders",
            "create",
            order,
            {
                "account_id": account["id"],
                "placed_at": when,
                "requested_delivery_date": "2026-11-25",
            },
        ),
        mutation(
            "order_lines",
            "create",
            new_id(),
            {"order_id": order, "product_id": product, "quantity": 3, "bonus_quantity": 0},
        ),
        mutation(
            "visits",
            "create",
            visit,
            {
                "account_id": account["id"],
                "started_at": when,
                "notes": 'Habló de "stock"\nñandú',
                "products_discussed": [product],
                "samples": [{"product_id": product, "quantity": 2}],
            },
        ),
        mutation(
            "forecasts",
            "create",
            new_id(),
            {
                "period": "2026-12",
                "product_line": "ANALGESICS",
                "category": "commit",
                "amount": Decimal("1234567.8912"),
            },
        ),
        mutation("accounts", "update", account["id"], {"address": "Cra 1"}, 1),
    )
    assert all(r["status"] == "applied" for r in results), results
    (review,) = other.push(mutation("accounts", "update", account["id"], {"address": "Cra 2"}, 1))
    assert review["status"] == "merged"
    with app.app_context():  # sub-millisecond digits are cut, as the shaper cuts them
        moment = datetime(2026, 11, 23, 9, 15, 30, 999_999, tzinfo=UTC)
        db.session.execute(update(Account).values(updated_at=moment))
        db.session.commit()


def test_the_database_writes_every_record_as_the_shaper_does(app, client):
    fill_every_entity(app, client)
    with app.app_context():
        for entity in ENTITIES:
            key = entity.table.c[entity.key]
            shaped = {
                row[0]: exact(orjson.dumps(record_shaper(entity)(row)).decode())
                for row in db.session.execute(
                    select(*(entity.table.c[c] for c in entity.record_columns()))
                )
            }
            record = select(*record_columns_sql(entity)).order_by(key).subquery("record")
            written = {
                row[0]: exact(row[1])
                for row in db.session.execute(
                    select(record.c.id, cast(func.row_to_json(literal_column("record")), Text))
                )
            }
            assert shaped, f"no {entity.name} to compare"
            assert written == shaped, entity.name
