"""Exact money: what a price or a percent may be, and the one rounding pricing does.

Every sum and product runs in contexts of this module, never the thread's current decimal
context, so a caller that changed ``decimal.getcontext()`` cannot change a price. With the
bounds below (prices under 10^14 with 4 places, quantities up to 10^9, percents up to 100 with
4 places) no intermediate result needs more than 40 digits, so 60 is exact; the multiplying
context traps ``Inexact`` to prove it.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Overflow,
)

from mobile_protocol.pricing.errors import INVALID_AMOUNT, PricingError

PLACES = 4
"""Prices and percents carry at most 4 decimal places (the server keeps amounts at 4)."""
MAX_PRICE = Decimal("99999999999999.9999")
"""The largest price the server API accepts as an amount (under 10^14)."""
CENT = Decimal("0.01")
_SMALLEST = Decimal(1).scaleb(-PLACES)
HUNDRED = Decimal(100)

_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, Overflow])
_HALF_UP = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])


def amount_problem(value: object, maximum: Decimal) -> str | None:
    """What is wrong with ``value`` as an exact amount from 0 to ``maximum`` (inclusive) with
    at most 4 places, or ``None``. Floats are refused: 0.1 has no exact binary form, so a float
    has already lost the digits that were written. An ``int`` is fine (JSON ``10`` is one)."""
    if isinstance(value, float):
        return "is a float; give money as Decimal (parse JSON with parse_float=Decimal)"
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return "is not a number"
    if not Decimal(value).is_finite():
        return "is not finite"
    if not Decimal(0) <= value <= maximum:
        return f"must be from 0 to {maximum}"
    if Decimal(value).quantize(_SMALLEST, context=_HALF_UP) != value:  # 10.000000 is fine
        return f"has more than {PLACES} decimal places"
    return None


def exact_decimal(value: object, what: str, *, maximum: Decimal) -> Decimal:
    """``value`` as a Decimal, or ``PricingError("invalid_amount")`` (see ``amount_problem``)."""
    problem = amount_problem(value, maximum)
    if problem is not None:
        raise PricingError(INVALID_AMOUNT, f"{what} {problem}", {"field": what})
    return Decimal(value)  # type: ignore[arg-type]


def to_cents(amount: Decimal) -> Decimal:
    """``amount`` rounded to 2 places, halves away from zero (0.125 -> 0.13): the rounding
    people and most ERPs expect, where banker's rounding would give 0.12."""
    return amount.quantize(CENT, context=_HALF_UP)


def line_gross(quantity: int, unit_price: Decimal) -> Decimal:
    """What ``quantity`` units cost before discount, rounded to cents."""
    return to_cents(_EXACT.multiply(Decimal(quantity), unit_price))


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """``percent`` % of ``amount``, rounded to cents."""
    return to_cents(_EXACT.multiply(amount, percent).scaleb(-2, context=_EXACT))


def minus(amount: Decimal, other: Decimal) -> Decimal:
    return _EXACT.subtract(amount, other)


def total(amounts: list[Decimal]) -> Decimal:
    """The exact sum of amounts already in cents (0.00 for none)."""
    result = Decimal("0.00")
    for amount in amounts:
        result = _EXACT.add(result, amount)
    return result
