"""The WatermelonDB schema, version 1: derived from the synced entities, never listed twice.

Every synced entity is a WatermelonDB table of the same name, and each of its wire fields a
column, with these translations (WatermelonDB stores only strings, numbers and booleans):

- amounts and counts are ``number``; booleans ``boolean``; text ``string``;
- timestamps are ``number``, milliseconds since the epoch (``placed_at``, ``started_at``);
- dates are ``string``, ISO ``YYYY-MM-DD`` (``requested_delivery_date``);
- lists and objects are ``string`` holding their JSON (``hold_reasons``, ``samples``);
- a few columns are renamed where WatermelonDB apps expect a shorter name (``order_lines.qty``).

Columns that may be null are ``isOptional``; relation columns (``*_id``) are indexed. The
document :data:`SCHEMA` is what ``mobile_protocol/watermelon/schema-v1.json`` holds and what
the app's ``appSchema`` is built from (``mobile_protocol/WATERMELON.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Integer, Numeric
from sqlalchemy.sql.schema import Column

from sfa.columns import Amount, UTCDateTime
from sfa.sync.entities import ENTITIES, SyncedEntity

SCHEMA_VERSION = 1

# WatermelonDB column name -> the engine's field name, where they differ
RENAMED: dict[str, dict[str, str]] = {"order_lines": {"qty": "quantity"}}

# kinds of value, by how they travel
TEXT, NUMBER, BOOLEAN, TIMESTAMP, DATE, JSON_TEXT = (
    "text", "number", "boolean", "timestamp", "date", "json",
)  # fmt: skip
WATERMELON_TYPE = {
    TEXT: "string", NUMBER: "number", BOOLEAN: "boolean",
    TIMESTAMP: "number", DATE: "string", JSON_TEXT: "string",
}  # fmt: skip


@dataclass(frozen=True)
class WatermelonColumn:
    name: str  # as the app's schema has it
    field: str  # the engine's wire field
    kind: str
    optional: bool

    @property
    def type(self) -> str:
        return WATERMELON_TYPE[self.kind]

    @property
    def indexed(self) -> bool:
        return self.name.endswith("_id")


@dataclass(frozen=True)
class WatermelonTable:
    name: str
    entity: SyncedEntity
    columns: tuple[WatermelonColumn, ...]

    def by_name(self) -> dict[str, WatermelonColumn]:
        return {column.name: column for column in self.columns}


def _kind(column: Column) -> str:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return TIMESTAMP
    if isinstance(kind, Date):
        return DATE
    if isinstance(kind, JSON):
        return JSON_TEXT
    if isinstance(kind, Boolean):
        return BOOLEAN
    if isinstance(kind, Amount | Numeric | Integer | BigInteger):
        return NUMBER
    return TEXT


def _table(entity: SyncedEntity) -> WatermelonTable:
    renamed = {field: name for name, field in RENAMED.get(entity.name, {}).items()}
    fields = list(entity.fields)
    if entity.key != "id":  # stock: keyed by its product; the id is the product's, kept too
        fields.insert(0, entity.key)
    columns = []
    for field in fields:
        column = entity.table.c[field]
        optional = bool(column.nullable) and not column.primary_key
        columns.append(WatermelonColumn(renamed.get(field, field), field, _kind(column), optional))
    return WatermelonTable(entity.name, entity, tuple(columns))


TABLES: tuple[WatermelonTable, ...] = tuple(_table(entity) for entity in ENTITIES)
BY_TABLE: dict[str, WatermelonTable] = {table.name: table for table in TABLES}


def schema_document() -> dict[str, Any]:
    """The schema as data: what an app builds its ``appSchema`` from."""
    return {
        "version": SCHEMA_VERSION,
        "tables": [
            {
                "name": table.name,
                "columns": [
                    {
                        "name": column.name,
                        "type": column.type,
                        **({"isOptional": True} if column.optional else {}),
                        **({"isIndexed": True} if column.indexed else {}),
                    }
                    for column in table.columns
                ],
            }
            for table in TABLES
        ],
    }


def app_schema_source() -> str:
    """The schema as the JavaScript an app pastes into its code."""
    lines = [
        "import { appSchema, tableSchema } from '@nozbe/watermelondb'",
        "",
        "export default appSchema({",
        f"  version: {SCHEMA_VERSION},",
        "  tables: [",
    ]
    for table in schema_document()["tables"]:
        lines += ["    tableSchema({", f"      name: '{table['name']}',", "      columns: ["]
        for column in table["columns"]:
            extras = "".join(
                f", {flag}: true" for flag in ("isOptional", "isIndexed") if column.get(flag)
            )
            name, kind = column["name"], column["type"]
            lines.append(f"        {{ name: '{name}', type: '{kind}'{extras} }},")
        lines += ["      ],", "    }),"]
    lines += ["  ],", "})", ""]
    return "\n".join(lines)
