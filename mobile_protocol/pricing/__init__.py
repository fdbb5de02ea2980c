"""Order pricing shared by the device and the server: the same rules, the same code, exact
money. The spec is ``mobile_protocol/PRICING.md``; the test vectors every client must pass are
``mobile_protocol/pricing_vectors.json``.

Typical use::

    rules = [parse_rule(raw) for raw in synced_rules]
    priced = price_order(order, price_list, products, rules)
    to_wire(priced)                    # what the device shows and sends
    compare(device_view, priced)       # on the server: what the device showed otherwise
"""

from mobile_protocol.pricing.catalogue import PriceList, Product
from mobile_protocol.pricing.errors import PricingError
from mobile_protocol.pricing.orders import Order, OrderLine, PricedLine, PricedOrder, price_order
from mobile_protocol.pricing.rule_parser import parse_rule, rule_from_record
from mobile_protocol.pricing.rules import (
    BonusRule,
    DiscountRule,
    Rule,
    VolumeBand,
    VolumeBandRule,
)
from mobile_protocol.pricing.wire import Difference, compare, to_wire

__all__ = [
    "BonusRule",
    "Difference",
    "DiscountRule",
    "Order",
    "OrderLine",
    "PriceList",
    "PricedLine",
    "PricedOrder",
    "PricingError",
    "Product",
    "Rule",
    "VolumeBand",
    "VolumeBandRule",
    "compare",
    "parse_rule",
    "price_order",
    "rule_from_record",
    "to_wire",
]
