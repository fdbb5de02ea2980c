"""The WatermelonDB schema: derived from the synced entities, and every copy of it current."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sfa.sync.entities import ENTITIES
from sfa.sync.watermelon.records import BadValue, from_raw, to_raw
from sfa.sync.watermelon.schema import BY_TABLE, app_schema_source, schema_document

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "mobile_protocol" / "watermelon"


def test_the_committed_schema_files_are_the_generated_ones():
    assert json.loads((FOLDER / "schema-v1.json").read_text()) == schema_document()
    assert (FOLDER / "schema-v1.js").read_text() == app_schema_source()
    guide = (ROOT / "mobile_protocol" / "WATERMELON.md").read_text()
    pasted = re.search(r"<!-- schema:begin -->\n```js\n(.*?)```\n<!-- schema:end -->", guide, re.S)
    assert pasted is not None and pasted[1] == app_schema_source()


def test_every_synced_entity_is_a_table_with_the_issue_s_columns():
    tables = {t["name"]: {c["name"]: c for c in t["columns"]} for t in schema_document()["tables"]}
    assert set(tables) == {e.name for e in ENTITIES}
    for table, column, kind, optional in [
        ("accounts", "name", "string", False),
        ("accounts", "city", "string", True),
        ("accounts", "territory_id", "string", False),
        ("accounts", "phone", "string", True),
        ("orders", "account_id", "string", False),
        ("orders", "status", "string", False),
        ("orders", "total", "number", True),
        ("orders", "placed_at", "number", True),
        ("order_lines", "order_id", "string", False),
        ("order_lines", "sku", "string", True),
        ("order_lines", "qty", "number", False),
        ("order_lines", "unit_price", "number", True),
    ]:
        found = tables[table][column]
        assert (found["type"], found.get("isOptional", False)) == (kind, optional), column
    for columns in tables.values():
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in columns)
        assert not {"_status", "_changed", "id", "revision", "field_stamps"} & set(columns)


def test_a_record_goes_to_watermelondb_and_back_unchanged():
    record = {
        "id": "o-1", "account_id": "a-1", "user_id": "u-1", "status": "on_hold",
        "placed_at": "2026-11-23T14:05:09.120Z", "requested_delivery_date": "2026-11-30",
        "notes": None, "shown_total": 12.5, "currency": "COP", "gross_total": 90751.5,
        "discount_total": 0, "total": 90751.5, "hold_reasons": [{"code": "credit_limit"}],
        "status_reason": None, "erp_reference": None, "submitted_at": None,
    }  # fmt: skip
    raw = to_raw(BY_TABLE["orders"], record)
    assert raw["placed_at"] == int(datetime(2026, 11, 23, 14, 5, 9, 120000, UTC).timestamp() * 1000)
    assert raw["hold_reasons"] == '[{"code":"credit_limit"}]'
    as_parsed = {  # request bodies are parsed with exact decimals, never floats
        k: Decimal(str(v)) if isinstance(v, float) else v for k, v in raw.items()
    }
    assert from_raw(BY_TABLE["orders"], {**as_parsed, "_status": "updated", "junk": 1}) == {
        k: v for k, v in record.items() if k != "id"
    }
    with pytest.raises(BadValue):
        from_raw(BY_TABLE["orders"], {"total": 12.5})  # a binary float never enters the sums
    line = to_raw(BY_TABLE["order_lines"], {"id": "l-1", "quantity": 4})
    assert line["qty"] == 4 and "quantity" not in line


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("orders", "notes", 5),
        ("orders", "total", "12.50"),
        ("orders", "total", True),
        ("orders", "placed_at", -1),
        ("orders", "placed_at", "2026-11-23"),
        ("accounts", "active", "yes"),
        ("visits", "samples", "[not json"),
        ("visits", "samples", 3),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_by_column(table, column, value):
    with pytest.raises(BadValue) as refused:
        from_raw(BY_TABLE[table], {"id": "x", column: value})
    assert refused.value.column == column


def test_blank_json_columns_are_unset_and_decimals_stay_exact():
    fields = from_raw(BY_TABLE["visits"], {"id": "v", "samples": "", "notes": ""})
    assert fields == {"notes": ""}
    assert from_raw(BY_TABLE["orders"], {"shown_total": Decimal("0.1")}) == {
        "shown_total": Decimal("0.1")
    }
