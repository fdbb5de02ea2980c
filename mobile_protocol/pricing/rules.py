"""Pricing rules, and which one is in force for an order line.

Rules come in two families. *Price rules* (``DiscountRule``, ``VolumeBandRule``) set the
line's discount percent; *bonus rules* (``BonusRule``) give free units. A line gets at most one
rule of each family, never a sum or a best-of: the rule in force is the one with the highest
``priority``, ties going to the smallest ``id``. Which rule is in force depends on the product,
the account, the price list and the order date, never on the quantity; the quantity only
decides what that rule gives (possibly nothing yet). So ordering more never earns less bonus,
and priority alone says which promotion replaces which.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Literal, TypeVar

from mobile_protocol.pricing.catalogue import Product
from mobile_protocol.pricing.errors import INVALID_RULE, PricingError
from mobile_protocol.pricing.money import HUNDRED, amount_problem

MAX_QUANTITY = 1_000_000_000
"""The largest quantity (and band threshold, ``buy`` and ``free``): exact in every client."""
MAX_PRIORITY = 2**31 - 1
RULE_ID = re.compile(r"[!-~]{1,100}")
"""Printable ASCII without spaces, so "smallest id" is the same comparison in every language."""


def rule_error(rule_id: object, path: str, message: str) -> PricingError:
    """The ``invalid_rule`` error, with ``errors: [{path, message}]`` as the API reports them."""
    return PricingError(
        INVALID_RULE,
        f"rule {rule_id}: {path}: {message}",
        {"rule_id": rule_id, "errors": [{"path": path, "message": message}]},
    )


def _is_count(value: object, minimum: int) -> bool:
    return type(value) is int and minimum <= value <= MAX_QUANTITY


@dataclass(frozen=True)
class Sale:
    """What rules match a line on: the product, to whom, on which price list, on which day."""

    product: Product
    account_id: str
    price_list_id: str
    on: date


@dataclass(frozen=True, kw_only=True)
class Rule:
    """What every rule has: who and what it is for, and when. A ``None`` restriction matches
    everything; ``valid_from`` and ``valid_to`` are both inclusive. At most one of
    ``product_id`` and ``product_line`` is set (neither: every product)."""

    kind: ClassVar[str]

    id: str
    priority: int
    active: bool = True
    valid_from: date | None = None
    valid_to: date | None = None
    product_id: str | None = None
    product_line: str | None = None
    account_id: str | None = None
    price_list_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not RULE_ID.fullmatch(self.id):
            raise rule_error(self.id, "id", "must be 1 to 100 printable ASCII characters")
        if type(self.priority) is not int or abs(self.priority) > MAX_PRIORITY:
            raise rule_error(self.id, "priority", "must be a 32-bit integer")
        for name in ("valid_from", "valid_to"):
            when = getattr(self, name)
            if when is not None and (isinstance(when, datetime) or not isinstance(when, date)):
                raise rule_error(self.id, name, "must be a date or null")
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise rule_error(self.id, "valid_to", "is before valid_from")
        if self.product_id is not None and self.product_line is not None:
            raise rule_error(self.id, "product_line", "a rule targets a product or a line")

    def applies_to(self, sale: Sale) -> bool:
        return (
            self.active
            and (self.valid_from is None or self.valid_from <= sale.on)
            and (self.valid_to is None or sale.on <= self.valid_to)
            and self.product_id in (None, sale.product.id)
            and self.product_line in (None, sale.product.product_line)
            and self.account_id in (None, sale.account_id)
            and self.price_list_id in (None, sale.price_list_id)
        )


def _percent(rule_id: str, value: object, path: str) -> Decimal:
    problem = amount_problem(value, HUNDRED)
    if problem is not None:
        raise rule_error(rule_id, path, problem)
    return Decimal(value)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class DiscountRule(Rule):
    """``percent`` off the line, whatever the quantity."""

    kind: ClassVar[str] = "discount"
    percent: Decimal

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "percent", _percent(self.id, self.percent, "percent"))

    def percent_for(self, quantity: int) -> Decimal:
        return self.percent


@dataclass(frozen=True)
class VolumeBand:
    """From ``min_quantity`` units on, ``percent`` off."""

    min_quantity: int
    percent: Decimal


@dataclass(frozen=True, kw_only=True)
class VolumeBandRule(Rule):
    """A percent off that grows with the line's quantity: the band with the highest
    ``min_quantity`` not above the quantity applies; below the first band, 0 %. Bands are
    listed by strictly increasing ``min_quantity``."""

    kind: ClassVar[str] = "volume_band"
    bands: tuple[VolumeBand, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        bands = tuple(self.bands)
        if not bands:
            raise rule_error(self.id, "bands", "must list at least one band")
        checked = []
        for index, band in enumerate(bands):
            path = f"bands[{index}]"
            if not _is_count(band.min_quantity, 1):
                raise rule_error(self.id, f"{path}.min_quantity", "must be a quantity")
            if checked and band.min_quantity <= checked[-1].min_quantity:
                raise rule_error(self.id, f"{path}.min_quantity", "must grow from band to band")
            percent = _percent(self.id, band.percent, f"{path}.percent")
            checked.append(VolumeBand(band.min_quantity, percent))
        object.__setattr__(self, "bands", tuple(checked))

    def percent_for(self, quantity: int) -> Decimal:
        reached = [band.percent for band in self.bands if band.min_quantity <= quantity]
        return reached[-1] if reached else Decimal(0)


PriceRule = DiscountRule | VolumeBandRule


@dataclass(frozen=True)
class FreeUnits:
    """Free units of a line: ``on_top`` ship in addition to the ordered quantity; ``included``
    are part of the ordered quantity and not charged."""

    on_top: int = 0
    included: int = 0


@dataclass(frozen=True, kw_only=True)
class BonusRule(Rule):
    """Buy ``buy`` units, get ``free`` free. ``on_top``: the free units come in addition to
    the ordered quantity (buy 20 get 1: order 20, receive 21, pay 20). ``inclusive``: they are
    part of it, in groups of ``buy + free`` ("3 for 2": order 3, pay 2). Only whole groups
    count; ``repeating`` gives the free units once per group, otherwise at most once."""

    kind: ClassVar[str] = "bonus"
    buy: int
    free: int
    repeating: bool
    mode: Literal["on_top", "inclusive"]

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("buy", "free"):
            if not _is_count(getattr(self, name), 1):
                raise rule_error(self.id, name, f"must be a whole number from 1 to {MAX_QUANTITY}")
        if not isinstance(self.repeating, bool):
            raise rule_error(self.id, "repeating", "must be true or false")
        if self.mode not in ("on_top", "inclusive"):
            raise rule_error(self.id, "mode", "must be on_top or inclusive")

    def free_units(self, quantity: int) -> FreeUnits:
        group = self.buy + self.free if self.mode == "inclusive" else self.buy
        groups = quantity // group if self.repeating else min(quantity // group, 1)
        units = groups * self.free
        return FreeUnits(included=units) if self.mode == "inclusive" else FreeUnits(on_top=units)


AnyRule = TypeVar("AnyRule", bound=Rule)


def rule_in_force(rules: Iterable[AnyRule], sale: Sale) -> AnyRule | None:
    """Of ``rules`` (one family), the one that applies to ``sale``: the highest priority,
    then the smallest id; ``None`` if none applies."""
    applicable = (rule for rule in rules if rule.applies_to(sale))
    return min(applicable, key=lambda rule: (-rule.priority, rule.id), default=None)
