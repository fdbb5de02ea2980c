"""Reading a rule as synced (a JSON object) into a ``Rule``.

Strict on purpose: a device and the server must price from the same rule, so a rule either of
them could misread (an unknown field, a float, a band out of order) is refused whole rather
than half-understood. The structure is checked by ``schemas/pricing-rule.json``, the one
description every client shares; what JSON Schema cannot say is checked by the rule classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from jsonschema import ValidationError

from mobile_protocol.pricing.errors import INVALID_RULE, PricingError
from mobile_protocol.pricing.rules import (
    BonusRule,
    DiscountRule,
    Rule,
    VolumeBand,
    VolumeBandRule,
)
from mobile_protocol.schemas import validator


def parse_rule(raw: object) -> Rule:
    """The rule ``raw`` (a dict as decoded from JSON with ``parse_float=Decimal``) describes.

    Raises ``PricingError("invalid_rule")`` with ``details = {"rule_id", "errors": [{"path",
    "message"}]}`` listing every structural problem at once; the checks beyond the schema
    (percent places, ``valid_to`` before ``valid_from``, bands out of order) report the first.
    """
    rule_id = raw.get("id") if isinstance(raw, Mapping) else None
    errors = _inexact_numbers(raw, "$") or _schema_errors(raw)
    if errors:
        summary = "; ".join(f"{error['path']}: {error['message']}" for error in errors)
        raise PricingError(
            INVALID_RULE, f"rule {rule_id}: {summary}", {"rule_id": rule_id, "errors": errors}
        )
    return _build(raw)  # type: ignore[arg-type]


COMMON_FIELDS = (
    "id",
    "kind",
    "priority",
    "active",
    "valid_from",
    "valid_to",
    "product_id",
    "product_line",
    "account_id",
    "price_list_id",
)
KIND_FIELDS = {
    "discount": ("percent",),
    "volume_band": ("bands",),
    "bonus": ("buy", "free", "repeating", "mode"),
}


def rule_from_record(record: Mapping[str, Any]) -> Rule:
    """The rule a synced ``pricing_rules`` record holds. A record carries every kind's fields
    (null where they do not apply) and the sync bookkeeping; the rule is its common fields and
    its own kind's, read as strictly as :func:`parse_rule` reads them."""
    names = COMMON_FIELDS + KIND_FIELDS.get(record.get("kind"), ())  # type: ignore[arg-type]
    return parse_rule({name: record.get(name) for name in names})


def _inexact_numbers(value: object, path: str) -> list[dict[str, str]]:
    """Floats and NaN/infinite decimals anywhere in ``value``. Checked before the schema, which
    would take ``20.0`` for an integer and cannot compare NaN with a bound."""
    if isinstance(value, float):
        return [{"path": path, "message": "is a float; decode JSON with parse_float=Decimal"}]
    if isinstance(value, Decimal) and not value.is_finite():
        return [{"path": path, "message": "is not a finite number"}]
    if isinstance(value, Mapping):
        items = [(f"{path}.{key}".removeprefix("$."), item) for key, item in value.items()]
    elif isinstance(value, list | tuple):
        items = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    else:
        return []
    return [error for sub_path, item in items for error in _inexact_numbers(item, sub_path)]


def _schema_errors(raw: object) -> list[dict[str, str]]:
    found = [
        {"path": _path(error), "message": _message(error)}
        for error in validator("pricing-rule").iter_errors(raw)
    ]
    return sorted(found, key=lambda error: (error["path"], error["message"]))


def _path(error: ValidationError) -> str:
    path = ""
    for step in error.absolute_path:
        path += f"[{step}]" if isinstance(step, int) else f".{step}"
    return path.removeprefix(".") or "$"


def _message(error: ValidationError) -> str:
    if error.validator == "anyOf" and not error.absolute_path:
        return "a rule targets a product_id or a product_line, not both"
    return error.message


def _build(raw: Mapping[str, Any]) -> Rule:
    common: dict[str, Any] = {
        "id": raw["id"],
        "priority": raw["priority"],
        "active": raw["active"],
        "valid_from": _date(raw["valid_from"]),
        "valid_to": _date(raw["valid_to"]),
        "product_id": raw["product_id"],
        "product_line": raw["product_line"],
        "account_id": raw["account_id"],
        "price_list_id": raw["price_list_id"],
    }
    if raw["kind"] == "discount":
        return DiscountRule(**common, percent=raw["percent"])
    if raw["kind"] == "volume_band":
        bands = tuple(VolumeBand(band["min_quantity"], band["percent"]) for band in raw["bands"])
        return VolumeBandRule(**common, bands=bands)
    return BonusRule(
        **common,
        buy=raw["buy"],
        free=raw["free"],
        repeating=raw["repeating"],
        mode=raw["mode"],
    )


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
