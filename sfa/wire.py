"""Values as they travel in JSON: exact amounts as JSON numbers (never strings: a device app
that reads "12.50" as a number gets 0), UTC timestamps to the millisecond, ISO dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


def wire_number(value: Decimal) -> int | float:
    """An amount as a JSON number: integral amounts exactly as integers, others as the
    shortest float that reads back to the same digits (amounts carry at most 4 decimals)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def wire_value(value: Any) -> Any:
    """A column value as the protocols send it."""
    if isinstance(value, Decimal):
        return wire_number(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value
