"""JSON responses: exact amounts go out as JSON numbers, never strings (a device app that
reads "12.50" as a number gets 0)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider

from sfa.wire import wire_number


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return wire_number(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class WireJSONProvider(DefaultJSONProvider):
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("ensure_ascii", False)
        kwargs.setdefault("separators", (",", ":"))
        return json.dumps(obj, default=_default, **kwargs)
