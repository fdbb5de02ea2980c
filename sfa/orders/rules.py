"""Order rules with no database: the checks an order must pass at submission, which status
changes people may make, and the status the ERP's acknowledgements add up to."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# What a manager may do, and from which statuses
CANCELLABLE = frozenset(
    {"draft", "submitted", "on_hold", "sent_to_erp", "accepted", "partially_backordered"}
)
RELEASABLE = frozenset({"on_hold"})
# After these the ERP has the order: cancelling it must tell the ERP
KNOWN_TO_ERP = frozenset({"sent_to_erp", "accepted", "partially_backordered"})


@dataclass(frozen=True)
class Hold:
    """A reason an order waits for a manager instead of going to the ERP."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


@dataclass(frozen=True)
class LineFacts:
    line_id: str
    sku: str
    units: int  # every unit that leaves the warehouse: ordered plus free on top
    product_active: bool
    available: int | None  # units available to promise; None: the ERP reported none


@dataclass(frozen=True)
class OrderFacts:
    total: Decimal
    credit_limit: Decimal | None  # None: no limit
    outstanding: Decimal  # unpaid invoices
    open_orders: Decimal  # other orders taken and not invoiced yet
    min_order_value: Decimal
    lines: tuple[LineFacts, ...]


def holds(facts: OrderFacts) -> list[Hold]:
    """Every check the order fails, in a stable order (empty: it may go to the ERP)."""
    found: list[Hold] = []
    if facts.credit_limit is not None:
        exposure = facts.outstanding + facts.open_orders + facts.total
        if exposure > facts.credit_limit:
            found.append(
                Hold(
                    "credit_limit",
                    "the order takes the account over its credit limit",
                    {
                        "credit_limit": facts.credit_limit,
                        "outstanding": facts.outstanding,
                        "open_orders": facts.open_orders,
                        "order_total": facts.total,
                        "over_by": exposure - facts.credit_limit,
                    },
                )
            )
    if facts.total < facts.min_order_value:
        found.append(
            Hold(
                "below_minimum",
                "the order is below the minimum order value",
                {"minimum": facts.min_order_value, "order_total": facts.total},
            )
        )
    inactive = [line.sku for line in facts.lines if not line.product_active]
    if inactive:
        found.append(
            Hold("inactive_product", "some products are no longer sold", {"skus": inactive})
        )
    short = _short_lines(facts.lines)
    if short:
        found.append(
            Hold("insufficient_stock", "not enough stock for some lines", {"lines": short})
        )
    return found


def _short_lines(lines: tuple[LineFacts, ...]) -> list[dict[str, Any]]:
    """Lines whose product lacks stock, counting every line of the same product together."""
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.units
    short, seen = [], set()
    for line in lines:
        if line.sku in seen:
            continue
        seen.add(line.sku)
        available = line.available or 0
        if wanted[line.sku] > available:
            short.append({"sku": line.sku, "wanted": wanted[line.sku], "available": available})
    return short


# What the ERP said, added up ----------------------------------------------------------------


@dataclass(frozen=True)
class LineAck:
    status: str  # pending, accepted, backordered, quantity_changed, price_changed, rejected
    quantity: int
    confirmed: int | None
    backordered: int
    shipped: int
    invoiced: int


def status_from_erp(
    current: str,
    *,
    accepted: bool,
    rejected: bool,
    closed: bool,
    lines: list[LineAck],
) -> str:
    """The order's status from everything the ERP has said so far, whatever order it said it
    in: a shipment implies acceptance, an invoice implies shipment, and quantities only grow.
    ``current`` is kept while the ERP has said nothing (or the order was cancelled here)."""
    if current == "cancelled":
        return current
    shipped = any(line.shipped > 0 for line in lines)
    invoiced = any(line.invoiced > 0 for line in lines)
    if closed and (invoiced or shipped or accepted):
        return "closed"
    if invoiced:
        return "invoiced"
    if shipped:
        return "shipped"
    if rejected:
        return "rejected"
    if accepted or any(line.status != "pending" for line in lines):
        live = [line for line in lines if line.status != "rejected"]
        if not live:
            return "rejected"
        if any(line.backordered > 0 or line.status == "backordered" for line in live):
            return "partially_backordered"
        return "accepted"
    return current
