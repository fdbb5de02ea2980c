"""What pricing needs to know about products: the facts rules match on, and their prices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from mobile_protocol.pricing.errors import NO_PRICE, PricingError
from mobile_protocol.pricing.money import MAX_PRICE, exact_decimal


@dataclass(frozen=True)
class Product:
    """A product as rules see it: its id (what ``product_id`` rules name) and its
    ``product_line`` (what ``product_line`` rules name)."""

    id: str
    product_line: str


@dataclass(frozen=True)
class PriceList:
    """The account's price list: its id (what ``price_list_id`` rules name) and the unit price
    of each product on it, by product id. Prices are exact (Decimal or int, never float), from
    0 to ``MAX_PRICE``, with at most 4 decimal places; anything else is refused here."""

    id: str
    prices: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checked = {
            product_id: exact_decimal(price, f"price of {product_id}", maximum=MAX_PRICE)
            for product_id, price in self.prices.items()
        }
        object.__setattr__(self, "prices", MappingProxyType(checked))

    def unit_price(self, product_id: str, line: int) -> Decimal:
        """The price of ``product_id``; ``PricingError("no_price")`` naming ``line`` if none."""
        try:
            return self.prices[product_id]
        except KeyError:
            raise PricingError(
                NO_PRICE,
                f"product {product_id} has no price on price list {self.id}",
                {"line": line, "product_id": product_id, "price_list_id": self.id},
            ) from None
