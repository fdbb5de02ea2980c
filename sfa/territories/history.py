"""Which territory owned an account on a given date, and recording a change of owner.

Every change of an account's territory goes through :func:`record_owners` with the date it
takes effect: the import (effective the business day it runs) and realignments (their
effective date). Rows are periods ``[valid_from, valid_to)``; a change closes the open period
and opens the next, so no past period is ever rewritten. An account's first owner is deemed
its owner since :data:`BEGINNING` (its orders from before it reached this server credit it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.orm import Session

from sfa.clock import business_date
from sfa.orders.models import Order
from sfa.territories.models import AccountTerritoryHistory as History

BEGINNING = date(1900, 1, 1)


def record_owners(
    session: Session,
    owners: Mapping[str, str],
    effective: date,
    source: str,
    now: datetime,
) -> int:
    """Record that each account in ``owners`` ({account id: territory id}) belongs to its
    territory from ``effective`` on: the open period of an account that changes hands is closed
    the day before, and the next opened. An account with no history yet (a new one) is owned
    since :data:`BEGINNING`. A second change effective the same day replaces that day's owner.
    Set-based, a thousand accounts per statement. Returns how many accounts changed hands."""
    changed = 0
    ids = sorted(owners)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        current = session.execute(
            select(History.id, History.account_id, History.territory_id, History.valid_from)
            .where(History.account_id.in_(chunk), History.valid_to.is_(None))
            .with_for_update()
        ).all()
        held = {row.account_id for row in current}
        moving = [row for row in current if row.territory_id != owners[row.account_id]]
        closing = [row for row in moving if row.valid_from < effective]
        same_day = [row for row in moving if row.valid_from >= effective]
        if closing:
            session.execute(
                update(History)
                .where(History.id.in_([row.id for row in closing]))
                .values(valid_to=effective)
            )
        if same_day:
            session.execute(
                update(History),
                [
                    {"id": row.id, "territory_id": owners[row.account_id], "source": source,
                     "recorded_at": now}
                    for row in same_day
                ],
            )  # fmt: skip
        fresh = [(row.account_id, effective) for row in closing]
        fresh += [(account, BEGINNING) for account in chunk if account not in held]
        if fresh:
            session.execute(
                insert(History),
                [
                    {"account_id": account, "territory_id": owners[account], "valid_from": since,
                     "source": source, "recorded_at": now}
                    for account, since in fresh
                ],
            )  # fmt: skip
        changed += len(moving) + (len(chunk) - len(held))
    return changed


_CHUNK = 1000


def owned_on(on: ColumnElement | date) -> ColumnElement:
    """The history rows in force on ``on`` (a date, or a SQL date expression)."""
    return and_(History.valid_from <= on, or_(History.valid_to.is_(None), History.valid_to > on))


def territory_on(session: Session, account_id: str, on: date) -> str | None:
    return session.scalar(
        select(History.territory_id).where(History.account_id == account_id, owned_on(on))
    )


def periods(session: Session, account_id: str) -> list[History]:
    return list(
        session.scalars(
            select(History).where(History.account_id == account_id).order_by(History.valid_from)
        )
    )


def credit_orders(session: Session, order_ids: Iterable[str], timezone: str) -> int:
    """Set each order's ``credited_territory_id``: the territory that owned its account on the
    order's date (``placed_at``, else ``submitted_at``, in the company's time zone)."""
    ids = sorted(set(order_ids))
    credited = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        orders = session.execute(
            select(Order.id, Order.account_id, Order.placed_at, Order.submitted_at).where(
                Order.id.in_(chunk)
            )
        ).all()
        spans: dict[str, list[tuple[date, date | None, str]]] = {}
        for account, since, until, territory in session.execute(
            select(
                History.account_id, History.valid_from, History.valid_to, History.territory_id
            ).where(History.account_id.in_({o.account_id for o in orders}))
        ):
            spans.setdefault(account, []).append((since, until, territory))
        changes = []
        for order in orders:
            moment = order.placed_at or order.submitted_at
            if moment is None:
                continue
            day = business_date(moment, timezone)
            owner = next(
                (t for since, until, t in spans.get(order.account_id, ())
                 if since <= day and (until is None or day < until)),
                None,
            )  # fmt: skip
            changes.append({"id": order.id, "credited_territory_id": owner})
        if changes:
            session.execute(update(Order), changes)
            credited += len(changes)
    return credited
