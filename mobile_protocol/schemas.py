"""The JSON Schemas (draft 2020-12) of protocol 1's messages and records, ready to validate.

The files live in ``schemas/``: ``error``, ``pull-response``, ``push-request``,
``push-response`` and one ``record-<entity>`` per entity. They refer to each other by relative
file name (``"$ref": "record-accounts.json"``), so any tool that loads them from disk resolves
them too; here they are resolved through one ``referencing`` registry of all the files.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).parent / "schemas"

ENTITIES = (
    "territories",
    "accounts",
    "contacts",
    "products",
    "price_lists",
    "price_list_items",
    "stock",
    "pricing_rules",
    "orders",
    "order_lines",
    "visits",
    "forecasts",
    "quotas",
    "conflicts",
)
"""Every entity a device keeps, parents before children (the order of a pull page)."""

_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.IGNORECASE)


def load_schema(name: str) -> dict[str, Any]:
    """The schema document ``schemas/<name>.json`` (``name`` with or without ``.json``)."""
    file_name = name if name.endswith(".json") else f"{name}.json"
    return json.loads((SCHEMA_DIR / file_name).read_text(encoding="utf-8"))


@cache
def registry() -> Registry:
    """All the schema files, each under its file name: what relative ``$ref``s resolve to."""
    return Registry().with_resources(
        (path.name, Resource.from_contents(load_schema(path.name)))
        for path in sorted(SCHEMA_DIR.glob("*.json"))
    )


def validator(name: str) -> Draft202012Validator:
    """A validator for ``schemas/<name>.json`` that resolves the references between the files
    and checks the ``date-time``, ``date`` and ``uuid`` formats (with the standard library)."""
    return _validator(name.removesuffix(".json"))


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        load_schema(name), registry=registry(), format_checker=_format_checker()
    )


def _format_checker() -> FormatChecker:
    checker = FormatChecker(["uuid"])

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _DATE_TIME.fullmatch(value):
            return False
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        return True

    @checker.checks("date", raises=ValueError)
    def is_date(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return len(value) == 10 and bool(date.fromisoformat(value))

    return checker
