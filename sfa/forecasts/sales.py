"""Monthly sales per credited territory and product line (``SalesMonth``): attainment's and
the baselines' source, kept exact (decimals) and small enough to roll up in milliseconds.

An order counts where and when it is credited (``credited_territory_id``, ``credited_period``:
its account's owner and its month on the order's local date). A line's *booked* amount is its
net total once the ERP has accepted the order (scaled by the confirmed quantity when the ERP
changed it; nothing for a rejected line); its *invoiced* amount is the invoiced share of it.
Orders not yet accepted (draft, submitted, on hold, sent), rejected or cancelled book nothing.

:func:`refresh` recomputes the months an order change touched (the order services call it when
the ERP answers or an order is cancelled; a realignment calls it for the orders it credits
again); :func:`refresh` with no keys rebuilds everything (the demo, ``sfa forecasts
refresh-sales``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from sfa.catalog.models import Product
from sfa.forecasts.models import SalesMonth
from sfa.orders.models import Order, OrderLine

BOOKED_STATUSES = ("accepted", "partially_backordered", "shipped", "invoiced", "closed")
Key = tuple[str, str]  # (territory id, period)
_CHUNK = 500


def keys_of(session: Session, order_ids: Iterable[str]) -> set[Key]:
    """The (territory, month) pairs the orders are credited to."""
    ids = sorted(set(order_ids))
    found: set[Key] = set()
    for start in range(0, len(ids), _CHUNK):
        found |= {
            (territory, period)
            for territory, period in session.execute(
                select(Order.credited_territory_id, Order.credited_period).where(
                    Order.id.in_(ids[start : start + _CHUNK]),
                    Order.credited_territory_id.is_not(None),
                    Order.credited_period.is_not(None),
                )
            )
        }
    return found


def refresh(session: Session, keys: Iterable[Key] | None = None) -> int:
    """Recompute the sales of ``keys`` (every pair when None), in the caller's transaction.
    Returns the rows written."""
    if keys is None:
        session.execute(delete(SalesMonth))
        return _write(session, None)
    wanted = sorted(set(keys))
    written = 0
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        session.execute(
            delete(SalesMonth).where(tuple_(SalesMonth.territory_id, SalesMonth.period).in_(chunk))
        )
        written += _write(session, chunk)
    return written


def _write(session: Session, keys: list[Key] | None) -> int:
    query = (
        select(
            Order.credited_territory_id,
            Order.credited_period,
            Product.product_line,
            Order.id,
            OrderLine.line_total,
            OrderLine.quantity,
            OrderLine.confirmed_quantity,
            OrderLine.invoiced_quantity,
            OrderLine.line_status,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.status.in_(BOOKED_STATUSES),
            Order.credited_territory_id.is_not(None),
            Order.credited_period.is_not(None),
        )
    )
    if keys is not None:
        query = query.where(tuple_(Order.credited_territory_id, Order.credited_period).in_(keys))
    totals: dict[tuple[str, str, str], list] = {}
    for (
        territory,
        period,
        line,
        order,
        net,
        quantity,
        confirmed,
        invoiced,
        status,
    ) in session.execute(query).yield_per(5000):
        if status == "rejected" or not net or not quantity:
            continue
        booked = net if confirmed is None else net * confirmed / quantity
        billed = net * (invoiced or 0) / quantity
        entry = totals.setdefault((territory, period, line), [Decimal(0), Decimal(0), set()])
        entry[0] += booked
        entry[1] += billed
        entry[2].add(order)
    rows = [
        {
            "territory_id": territory, "period": period, "product_line": line,
            "booked_amount": booked, "invoiced_amount": billed, "orders": len(orders),
        }
        for (territory, period, line), (booked, billed, orders) in totals.items()
    ]  # fmt: skip
    for start in range(0, len(rows), 5000):
        session.execute(insert(SalesMonth), rows[start : start + 5000])
    return len(rows)
