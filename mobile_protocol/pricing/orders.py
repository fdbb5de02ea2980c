"""Pricing an order: the one function the device (to show totals offline) and the server (to
re-price what the device sent) both call, so the two can only disagree when their inputs do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from mobile_protocol.pricing.catalogue import PriceList, Product
from mobile_protocol.pricing.errors import (
    DUPLICATE_RULE,
    INVALID_DATE,
    INVALID_QUANTITY,
    UNKNOWN_PRODUCT,
    PricingError,
)
from mobile_protocol.pricing.money import line_gross, minus, percent_of, total
from mobile_protocol.pricing.rules import (
    MAX_QUANTITY,
    BonusRule,
    FreeUnits,
    PriceRule,
    Rule,
    Sale,
    rule_in_force,
)


@dataclass(frozen=True)
class OrderLine:
    """A product and how many units of it were ordered (a whole number from 1 to 10^9)."""

    product_id: str
    quantity: int


@dataclass(frozen=True)
class Order:
    """What pricing needs of an order. ``order_date`` is the day the rules are evaluated at:
    the day the order was taken, so the server re-pricing it later sees the same rules."""

    account_id: str
    order_date: date
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True)
class PricedLine:
    """A priced order line. Of the ordered ``quantity``, ``charged_quantity`` units are paid
    and ``inclusive_free_quantity`` are free (``charged + inclusive_free == quantity``);
    ``bonus_quantity`` free units ship on top. ``gross_amount`` is ``charged_quantity *
    unit_price``, ``discount_amount`` is ``discount_percent`` % of it, both rounded to cents;
    ``net_amount = gross_amount - discount_amount``. The rule ids are the rules in force."""

    product_id: str
    quantity: int
    charged_quantity: int
    inclusive_free_quantity: int
    bonus_quantity: int
    unit_price: Decimal
    discount_percent: Decimal
    gross_amount: Decimal
    discount_amount: Decimal
    net_amount: Decimal
    price_rule_id: str | None
    bonus_rule_id: str | None


@dataclass(frozen=True)
class PricedOrder:
    """The priced lines, in the order's line order. The totals are sums of the lines' rounded
    amounts, so they always add up to what the lines show."""

    lines: tuple[PricedLine, ...]

    @property
    def gross_amount(self) -> Decimal:
        return total([line.gross_amount for line in self.lines])

    @property
    def discount_amount(self) -> Decimal:
        return total([line.discount_amount for line in self.lines])

    @property
    def net_amount(self) -> Decimal:
        return total([line.net_amount for line in self.lines])


def price_order(
    order: Order, price_list: PriceList, products: Mapping[str, Product], rules: Sequence[Rule]
) -> PricedOrder:
    """Price every line of ``order`` from ``price_list`` and the rules in force.

    ``products`` maps product id to the product's facts; ``rules`` are all the rules synced
    (``parse_rule``), in any order. Raises ``PricingError`` with code ``unknown_product`` or
    ``no_price`` (``details.line``: the first such line's index), ``invalid_quantity``,
    ``invalid_date`` or ``duplicate_rule``; nothing is priced unless everything can be.
    """
    _check_order_date(order.order_date)
    _check_unique_ids(rules)
    price_rules = [rule for rule in rules if isinstance(rule, PriceRule)]
    bonus_rules = [rule for rule in rules if isinstance(rule, BonusRule)]
    priced = []
    for index, line in enumerate(order.lines):
        _check_quantity(line.quantity, index)
        sale = Sale(
            _product(products, line.product_id, index),
            order.account_id,
            price_list.id,
            order.order_date,
        )
        unit_price = price_list.unit_price(line.product_id, index)
        price_rule = rule_in_force(price_rules, sale)
        bonus_rule = rule_in_force(bonus_rules, sale)
        priced.append(_priced_line(line, unit_price, price_rule, bonus_rule))
    return PricedOrder(tuple(priced))


def _priced_line(
    line: OrderLine,
    unit_price: Decimal,
    price_rule: PriceRule | None,
    bonus_rule: BonusRule | None,
) -> PricedLine:
    free = bonus_rule.free_units(line.quantity) if bonus_rule else FreeUnits()
    charged = line.quantity - free.included
    percent = price_rule.percent_for(line.quantity) if price_rule else Decimal(0)
    gross = line_gross(charged, unit_price)
    discount = percent_of(gross, percent)
    return PricedLine(
        product_id=line.product_id,
        quantity=line.quantity,
        charged_quantity=charged,
        inclusive_free_quantity=free.included,
        bonus_quantity=free.on_top,
        unit_price=unit_price,
        discount_percent=percent,
        gross_amount=gross,
        discount_amount=discount,
        net_amount=minus(gross, discount),
        price_rule_id=price_rule.id if price_rule else None,
        bonus_rule_id=bonus_rule.id if bonus_rule else None,
    )


def _product(products: Mapping[str, Product], product_id: str, line: int) -> Product:
    product = products.get(product_id)
    if product is None:
        raise PricingError(
            UNKNOWN_PRODUCT,
            f"line {line}: unknown product {product_id}",
            {"line": line, "product_id": product_id},
        )
    return product


def _check_quantity(quantity: object, line: int) -> None:
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        raise PricingError(
            INVALID_QUANTITY,
            f"line {line}: quantity must be a whole number from 1 to {MAX_QUANTITY}",
            {"line": line, "quantity": quantity},
        )


def _check_order_date(order_date: object) -> None:
    if isinstance(order_date, datetime) or not isinstance(order_date, date):
        raise PricingError(INVALID_DATE, "the order date must be a date (not a datetime)")


def _check_unique_ids(rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise PricingError(
                DUPLICATE_RULE, f"two rules have the id {rule.id}", {"rule_id": rule.id}
            )
        seen.add(rule.id)
