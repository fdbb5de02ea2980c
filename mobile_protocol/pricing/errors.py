"""Why an order (or a rule) cannot be priced, as a stable code the caller can branch on."""

from __future__ import annotations

from typing import Any

NO_PRICE = "no_price"
"""A line's product is known but the price list has no price for it."""
UNKNOWN_PRODUCT = "unknown_product"
"""A line names a product that is not in the catalogue given to the pricer."""
INVALID_QUANTITY = "invalid_quantity"
"""A quantity that is not a whole number from 1 to ``MAX_QUANTITY``."""
INVALID_AMOUNT = "invalid_amount"
"""Money or a percent given as a float, as a non-number, negative, or with too many places."""
INVALID_DATE = "invalid_date"
"""An order date that is not a calendar date (a datetime is refused: which day would it be?)."""
INVALID_RULE = "invalid_rule"
"""A synced rule that breaks ``schemas/pricing-rule.json`` or PRICING.md."""
DUPLICATE_RULE = "duplicate_rule"
"""Two rules share an id, so "ties are broken by id" would not decide."""
INVALID_DEVICE_VIEW = "invalid_device_view"
"""What the device says it showed is not shaped like ``to_wire``'s output."""


class PricingError(Exception):
    """Pricing refused its input. ``code`` is one of the constants above and never changes
    meaning; ``details`` says where (``line``, ``product_id``, ``rule_id``, ``errors``).

    The server puts an order whose pricing fails on hold instead of failing the request."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}
