"""Records between the engine's wire form and WatermelonDB's raw form (``schema`` says how)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from sfa.sync.watermelon.schema import (
    BOOLEAN,
    DATE,
    JSON_TEXT,
    NUMBER,
    TEXT,
    TIMESTAMP,
    WatermelonColumn,
    WatermelonTable,
)
from sfa.wire import wire_value

# WatermelonDB's own ids are 16 letters and digits; ours are UUIDs. Nothing that could be unsafe
# in a query or a path (quotes, slashes, dollars) is accepted.
SAFE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,36}")
_MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z


class BadValue(ValueError):
    """A pushed column whose value is not of the column's type."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column, self.message = column, message


def epoch_ms(iso: str) -> int:
    """A wire timestamp (ISO 8601, UTC) as milliseconds since the epoch."""
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def to_raw(table: WatermelonTable, record: dict[str, Any]) -> dict[str, Any]:
    """An engine record (wire form) as a WatermelonDB raw record."""
    raw: dict[str, Any] = {"id": str(record["id"])}
    for column in table.columns:
        value = record.get(column.field)
        if value is not None:
            if column.kind == TIMESTAMP:
                value = epoch_ms(value)
            elif column.kind == JSON_TEXT:
                value = orjson.dumps(value).decode()
        raw[column.name] = value
    return raw


def from_raw(table: WatermelonTable, raw: dict[str, Any]) -> dict[str, Any]:
    """The engine's fields of a pushed raw record: only the schema's columns (anything else,
    ``_status`` and ``_changed`` included, is ignored), each checked and converted back to
    wire form. Raises :class:`BadValue` for a value of the wrong type."""
    fields: dict[str, Any] = {}
    for name, column in table.by_name().items():
        if name not in raw:
            continue
        if column.kind == JSON_TEXT and raw[name] == "":
            continue  # WatermelonDB's default for a string column: nothing was set
        fields[column.field] = _field_value(column, raw[name])
    return fields


def _field_value(column: WatermelonColumn, value: Any) -> Any:
    if value is None:
        return None
    kind = column.kind
    if kind in (TEXT, DATE):
        if not isinstance(value, str):
            raise BadValue(column.name, "a string is expected")
        return value
    if kind == BOOLEAN:
        if not isinstance(value, bool):
            raise BadValue(column.name, "a boolean is expected")
        return value
    if kind == JSON_TEXT:
        if not isinstance(value, str):
            raise BadValue(column.name, "JSON text is expected")
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise BadValue(column.name, "JSON text is expected") from None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise BadValue(column.name, "a number is expected")
    if kind == NUMBER:
        return value
    if not 0 <= value <= _MAX_MS:  # TIMESTAMP
        raise BadValue(column.name, "milliseconds since 1970 are expected")
    return wire_value(datetime.fromtimestamp(int(value) / 1000, UTC))
