"""A priced order as it travels, and what differs between the device's and the server's.

The device sends what it showed (``to_wire`` of its own pricing); the server prices the order
again and records ``compare``'s differences. Amounts stay ``Decimal``: encode them as JSON
numbers and decode them with ``parse_float=Decimal``, never through floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any

from mobile_protocol.pricing.errors import INVALID_AMOUNT, INVALID_DEVICE_VIEW, PricingError
from mobile_protocol.pricing.orders import PricedLine, PricedOrder

LINE_FIELDS = tuple(field.name for field in fields(PricedLine))
TOTAL_FIELDS = ("gross_amount", "discount_amount", "net_amount")


def to_wire(priced: PricedOrder) -> dict[str, Any]:
    """``{"lines": [{<PricedLine fields>}], "gross_amount", "discount_amount",
    "net_amount"}``: JSON-ready except that amounts and percents are ``Decimal``."""
    wire: dict[str, Any] = {"lines": [asdict(line) for line in priced.lines]}
    wire.update((name, getattr(priced, name)) for name in TOTAL_FIELDS)
    return wire


@dataclass(frozen=True)
class Difference:
    """One value the device showed that the server computed otherwise. ``line`` is the line's
    index (``None`` for an order total); ``field`` is ``"line"`` when one side has a line the
    other lacks (the values are then the line, or ``None``)."""

    line: int | None
    product_id: str | None
    field: str
    device: Any
    server: Any


def compare(device_view: Mapping[str, Any], server_priced: PricedOrder) -> list[Difference]:
    """Every difference between ``device_view`` (shaped like ``to_wire``'s output, numbers as
    int or Decimal) and ``server_priced``: lines first, by index, then the totals. A field the
    device left out differs with ``device=None``. Numbers compare by value (``12.5`` equals
    ``12.50``). An empty list: the device showed what the server computed."""
    if not isinstance(device_view, Mapping) or not isinstance(device_view.get("lines"), list):
        raise PricingError(INVALID_DEVICE_VIEW, "the device view needs a list of lines")
    server = to_wire(server_priced)
    device_lines, server_lines = device_view["lines"], server["lines"]
    differences = []
    for index in range(max(len(device_lines), len(server_lines))):
        device_line = device_lines[index] if index < len(device_lines) else None
        server_line = server_lines[index] if index < len(server_lines) else None
        differences.extend(_line_differences(index, device_line, server_line))
    differences.extend(
        Difference(None, None, name, device_view.get(name), server[name])
        for name in TOTAL_FIELDS
        if not _same(device_view.get(name), server[name])
    )
    return differences


def _line_differences(
    index: int, device: Mapping[str, Any] | None, server: dict[str, Any] | None
) -> list[Difference]:
    if device is not None and not isinstance(device, Mapping):
        raise PricingError(INVALID_DEVICE_VIEW, f"line {index} of the device view is no object")
    if device is None or server is None:
        product_id = (server or device or {}).get("product_id")
        return [Difference(index, product_id, "line", device, server)]
    return [
        Difference(index, server["product_id"], name, device.get(name), server[name])
        for name in LINE_FIELDS
        if not _same(device.get(name), server[name])
    ]


def _same(device: object, server: object) -> bool:
    if isinstance(device, float):
        raise PricingError(INVALID_AMOUNT, "the device view has a float; decode it as Decimal")
    if _is_number(device) and _is_number(server):
        return device == server
    return type(device) is type(server) and device == server


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)
