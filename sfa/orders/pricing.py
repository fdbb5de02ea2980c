"""Pricing an order on the server with the code the device prices with
(``mobile_protocol.pricing``), from the rules, price list and products in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mobile_protocol import pricing
from sfa.accounts.models import Account
from sfa.catalog.models import PriceList, PriceListItem, PricingRule, Product
from sfa.orders.models import Order, OrderLine
from sfa.wire import wire_value

RULE_FIELDS = tuple(
    column.name for column in PricingRule.__table__.c if column.name != "sync_version"
)


@dataclass(frozen=True)
class Priced:
    result: pricing.PricedOrder
    price_list: PriceList | None
    products: dict[str, Product]


def price(session: Session, order: Order, lines: Sequence[OrderLine], account: Account) -> Priced:
    """The order priced as of the day it was placed (the rules in force when the rep took it,
    not when it synced). Raises ``pricing.PricingError`` when it cannot be priced."""
    price_list = session.get(PriceList, account.price_list_id) if account.price_list_id else None
    product_ids = sorted({line.product_id for line in lines})
    products = {
        product.id: product
        for product in session.scalars(select(Product).where(Product.id.in_(product_ids)))
    }
    prices: dict[str, Decimal] = {}
    if price_list is not None:
        prices = dict(
            session.execute(
                select(PriceListItem.product_id, PriceListItem.price).where(
                    PriceListItem.price_list_id == price_list.id,
                    PriceListItem.product_id.in_(product_ids),
                )
            ).all()
        )
    on = (order.placed_at.date() if order.placed_at else None) or date.today()
    lines_in = tuple(pricing.OrderLine(line.product_id, line.quantity) for line in lines)
    result = pricing.price_order(
        pricing.Order(account.id, on, lines_in),
        pricing.PriceList(price_list.id if price_list else "", prices),
        {pid: pricing.Product(pid, product.product_line) for pid, product in products.items()},
        _rules(session, on, account, price_list, products),
    )
    return Priced(result, price_list, products)


def _rules(
    session: Session,
    on: date,
    account: Account,
    price_list: PriceList | None,
    products: dict[str, Product],
) -> list[pricing.Rule]:
    """The rules that may apply to this order (the pricing code decides which do)."""
    rule = PricingRule
    query = select(rule).where(
        rule.active.is_(True),
        or_(rule.valid_from.is_(None), rule.valid_from <= on),
        or_(rule.valid_to.is_(None), rule.valid_to >= on),
        or_(rule.account_id.is_(None), rule.account_id == account.id),
        or_(rule.product_id.is_(None), rule.product_id.in_(sorted(products))),
        or_(
            rule.product_line.is_(None),
            rule.product_line.in_(sorted({p.product_line for p in products.values()})),
        ),
    )
    if price_list is not None:
        query = query.where(or_(rule.price_list_id.is_(None), rule.price_list_id == price_list.id))
    else:
        query = query.where(rule.price_list_id.is_(None))
    return [pricing.rule_from_record(as_record(row)) for row in session.scalars(query)]


def as_record(row: PricingRule) -> dict[str, Any]:
    """A rule row as devices receive it (dates as ISO text, amounts exact)."""
    record = {name: getattr(row, name) for name in RULE_FIELDS}
    for name in ("valid_from", "valid_to"):
        record[name] = wire_value(record[name]) if record[name] is not None else None
    if record["bands"]:  # JSON numbers come back as floats: read them as the exact decimals
        record["bands"] = [{**band, "percent": _exact(band["percent"])} for band in record["bands"]]
    return record


def _exact(number: int | float | Decimal) -> int | Decimal:
    return Decimal(repr(number)) if isinstance(number, float) else number


def differences(
    order: Order, lines: Sequence[OrderLine], result: pricing.PricedOrder
) -> list[dict[str, Any]]:
    """What the device showed that the server computed otherwise (only what it sent)."""
    found = []
    for index, (line, priced) in enumerate(zip(lines, result.lines, strict=True)):
        shown = {
            "unit_price": line.shown_unit_price,
            "line_total": line.shown_line_total,
            "bonus_quantity": line.bonus_quantity,
        }
        computed = {
            "unit_price": priced.unit_price,
            "line_total": priced.net_amount,
            "bonus_quantity": priced.bonus_quantity,
        }
        for name, value in shown.items():
            if value is not None and value != computed[name]:
                found.append(
                    {
                        "line_id": line.id,
                        "line": index + 1,
                        "field": name,
                        "device": wire_value(value) if isinstance(value, Decimal) else value,
                        "server": wire_value(computed[name])
                        if isinstance(computed[name], Decimal)
                        else computed[name],
                    }
                )
    if order.shown_total is not None and order.shown_total != result.net_amount:
        found.append(
            {
                "line_id": None,
                "line": None,
                "field": "total",
                "device": wire_value(order.shown_total),
                "server": wire_value(result.net_amount),
            }
        )
    return found
