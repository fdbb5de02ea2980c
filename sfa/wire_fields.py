"""Strict marshmallow fields for input documents: a wrong JSON type is an error, never coerced."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate

from sfa.columns import AMOUNT_SCALE


class StrictBoolean(fields.Boolean):
    """Only JSON ``true``/``false``; not 1, "yes" or "true"."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean.")
        return value


class StrictInteger(fields.Integer):
    """Only JSON integers (not strings, not booleans, not 2.0)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Not a valid integer.")
        return value


class AmountField(fields.Decimal):
    """An exact amount: a JSON number with at most 4 decimal places, dumped as a JSON number."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(as_string=False, allow_nan=False, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ValidationError("Not a valid number.")
        # A float (from Python callers; JSON input arrives as Decimal) is read by its shortest
        # repr, i.e. the digits that were written, not its binary expansion.
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not amount.is_finite() or amount.as_tuple().exponent < -AMOUNT_SCALE:  # type: ignore[operator]
            raise ValidationError(f"Must have at most {AMOUNT_SCALE} decimal places.")
        if abs(amount) >= Decimal(10) ** 14:
            raise ValidationError("Amount is too large.")
        return amount


class Text(fields.String):
    """A string without NUL characters, which PostgreSQL cannot store in text."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain the NUL character.")
        return text


# The length of a record id as every schema checks it (ids are UUIDs, or a device's own)
RECORD_ID = validate.Length(min=1, max=36)
