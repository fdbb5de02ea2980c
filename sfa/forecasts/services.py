"""The figures managers steer with: quota, reps' forecasts, managers' adjustments, sales and
baselines, rolled up for any part of the territory tree and any run of months (setting
quotas and adjustments is ``sfa.forecasts.planning``).

Scope: a manager works on the subtree under the territories they hold today; admins on the
whole tree; a territory outside the caller's scope does not exist for them (404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.errors import NotFound, ValidationFailed
from sfa.forecasts import baseline as stats
from sfa.forecasts.models import (
    FORECAST_CATEGORIES,
    Forecast,
    ForecastAdjustment,
    Quota,
    SalesMonth,
)
from sfa.forecasts.rollup import ZERO, roll_up
from sfa.territories.models import Territory, TerritoryAssignment, TerritoryClosure
from sfa.territories.services import assigned_territories, scope_territories

CUMULATIVE = (
    ("commit", ("commit",)),
    ("commit_best_case", ("commit", "best_case")),
    ("all", FORECAST_CATEGORIES),
)
MAX_MONTHS = 36
HISTORY_MONTHS = 36  # of sales behind a baseline


def months(first: str, last: str) -> list[str]:
    """``YYYY-MM`` from ``first`` to ``last`` inclusive (at most 36)."""
    try:
        y1, m1 = (int(x) for x in first.split("-"))
        y2, m2 = (int(x) for x in last.split("-"))
        start, end = date(y1, m1, 1), date(y2, m2, 1)
    except ValueError:
        raise ValidationFailed([{"path": "from", "message": "months are YYYY-MM"}]) from None
    count = (end.year - start.year) * 12 + end.month - start.month + 1
    if not 1 <= count <= MAX_MONTHS:
        raise ValidationFailed(
            [{"path": "to", "message": f"1 to {MAX_MONTHS} months, not before 'from'"}]
        )
    found = []
    year, month = start.year, start.month
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


# scope -----------------------------------------------------------------------------------


def visible_territory(session: Session, principal: Principal, territory_id: str, on: date):  # noqa: ANN201
    query = select(Territory).where(Territory.id == territory_id)
    scope = scope_territories(principal, on)
    if scope is not None:
        query = query.where(Territory.id.in_(scope))
    territory = session.scalar(query)
    if territory is None:
        raise NotFound("no such territory", details={"territory_id": territory_id})
    return territory


def home_territories(session: Session, principal: Principal, on: date) -> list[Territory]:
    """Where the caller's view starts: the territories they hold (admins: the roots)."""
    if principal.is_back_office:
        query = select(Territory).where(Territory.parent_id.is_(None))
    else:
        query = select(Territory).where(
            Territory.id.in_(assigned_territories(principal.user_id, on))
        )
    return list(session.scalars(query.order_by(Territory.code)))


def subtree(session: Session, root: str) -> dict[str, str | None]:
    """{territory: parent} for the subtree under ``root`` (the root's parent as None)."""
    rows = session.execute(
        select(Territory.id, Territory.parent_id)
        .join(TerritoryClosure, TerritoryClosure.descendant_id == Territory.id)
        .where(TerritoryClosure.ancestor_id == root)
    ).all()
    return {node: (None if node == root else parent) for node, parent in rows}


# figures -----------------------------------------------------------------------------------


@dataclass
class Figures:
    """A territory's figures over the chosen months (and product line)."""

    quota: Decimal = ZERO
    forecast: dict[str, Decimal] = field(default_factory=dict)  # raw, per category
    adjusted: dict[str, Decimal] = field(default_factory=dict)  # managers' adjustments applied
    booked: Decimal = ZERO
    invoiced: Decimal = ZERO

    def as_row(self) -> dict[str, Any]:
        cumulative = {
            name: sum((self.adjusted.get(c, ZERO) for c in parts), ZERO)
            for name, parts in CUMULATIVE
        }
        return {
            "quota": self.quota,
            "forecast": {c: self.forecast.get(c, ZERO) for c in FORECAST_CATEGORIES},
            "forecast_adjusted": {c: self.adjusted.get(c, ZERO) for c in FORECAST_CATEGORIES},
            "forecast_cumulative": cumulative,
            "attainment": {"booked": self.booked, "invoiced": self.invoiced},
            "attainment_percent": (
                (self.booked * 100 / self.quota).quantize(Decimal("0.1")) if self.quota else None
            ),
            "gap": self.quota - self.booked,
        }


def figures(
    session: Session, root: str, periods: list[str], product_line: str | None
) -> tuple[dict[str, str | None], dict[str, Figures]]:
    """Every territory of ``root``'s subtree with its rolled-up figures."""
    parents = subtree(session, root)
    nodes = list(parents)
    result = {node: Figures() for node in nodes}

    def lined(query, column):  # noqa: ANN001, ANN202
        return query if product_line is None else query.where(column == product_line)

    # quotas: a territory's own quota stands for its subtree; else its children's add up
    for node, value in _quotas(session, parents, periods, product_line).items():
        result[node].quota = value

    # reps' submitted forecasts, in the territory each rep owned that month
    owners = _owners(session, nodes, periods)
    reps = {user for user, _ in owners}
    per_category: dict[str, dict[str, Decimal]] = {c: {} for c in FORECAST_CATEGORIES}
    for user, period, category, amount in session.execute(
        lined(
            select(Forecast.user_id, Forecast.period, Forecast.category, func.sum(Forecast.amount))
            .where(Forecast.status == "submitted", Forecast.period.in_(periods),
                   Forecast.user_id.in_(reps)),
            Forecast.product_line,
        ).group_by(Forecast.user_id, Forecast.period, Forecast.category)
    ):  # fmt: skip
        territory = owners.get((user, period))
        if territory is not None:
            bucket = per_category[category]
            bucket[territory] = bucket.get(territory, ZERO) + Decimal(amount or 0)
    for category, own in per_category.items():
        for node, value in roll_up(parents, own).items():
            result[node].forecast[category] = value
            result[node].adjusted[category] = value

    # managers' adjustments: at the territory adjusted, they replace the subtree's figure (for
    # that month, line and category)
    adjustments = current_adjustments(session, nodes, periods, product_line)
    if adjustments:
        keys = {(period, line, category) for _, period, line, category in adjustments}
        raw: dict[tuple[str, str, str], dict[str, Decimal]] = {key: {} for key in keys}
        for user, period, line, category, amount in session.execute(
            select(Forecast.user_id, Forecast.period, Forecast.product_line, Forecast.category,
                   func.sum(Forecast.amount))
            .where(Forecast.status == "submitted", Forecast.user_id.in_(reps),
                   tuple_(Forecast.period, Forecast.product_line, Forecast.category).in_(keys))
            .group_by(Forecast.user_id, Forecast.period, Forecast.product_line, Forecast.category)
        ):  # fmt: skip
            territory = owners.get((user, period))
            if territory is not None:
                own = raw[(period, line, category)]
                own[territory] = own.get(territory, ZERO) + Decimal(amount or 0)
        for (territory, period, line, category), amount in adjustments.items():
            own = raw[(period, line, category)]
            before, after = roll_up(parents, own), roll_up(parents, own, {territory: amount})
            for node in nodes:
                if after[node] != before[node]:
                    result[node].adjusted[category] += after[node] - before[node]

    # sales credited to each territory
    booked: dict[str, Decimal] = {}
    invoiced: dict[str, Decimal] = {}
    for territory, b, i in session.execute(
        lined(
            select(
                SalesMonth.territory_id,
                func.sum(SalesMonth.booked_amount),
                func.sum(SalesMonth.invoiced_amount),
            ).where(SalesMonth.territory_id.in_(nodes), SalesMonth.period.in_(periods)),
            SalesMonth.product_line,
        ).group_by(SalesMonth.territory_id)
    ):
        booked[territory], invoiced[territory] = Decimal(b or 0), Decimal(i or 0)
    for node, value in roll_up(parents, booked).items():
        result[node].booked = value
    for node, value in roll_up(parents, invoiced).items():
        result[node].invoiced = value
    return parents, result


def _quotas(
    session: Session, parents: dict[str, str | None], periods: list[str], line: str | None
) -> dict[str, Decimal]:
    """Each territory's quota over the months (and line): the override roll-up, per month
    and line. It is linear in the amounts once the set of territories holding quotas is
    fixed, so months and lines held by the same territories roll up together; usually every
    key is held by the same territories, and two aggregate queries settle it."""
    nodes = list(parents)
    where = [Quota.territory_id.in_(nodes), Quota.period.in_(periods)]
    if line is not None:
        where.append(Quota.product_line == line)
    held = session.execute(
        select(Quota.territory_id, func.count(), func.sum(Quota.amount))
        .where(*where)
        .group_by(Quota.territory_id)
    ).all()
    if not held:
        return roll_up(parents, {})
    keys = session.scalar(
        select(func.count()).select_from(
            select(Quota.period, Quota.product_line).where(*where).distinct().subquery()
        )
    )
    if all(count == keys for _, count, _ in held):  # the same holders for every key
        return roll_up(parents, {}, {t: Decimal(total) for t, _, total in held})
    by_key: dict[tuple[str, str], dict[str, Decimal]] = {}
    for territory, period, product_line, amount in session.execute(
        select(Quota.territory_id, Quota.period, Quota.product_line, Quota.amount).where(*where)
    ):
        by_key.setdefault((period, product_line), {})[territory] = amount
    by_holders: dict[frozenset[str], dict[str, Decimal]] = {}
    for key_held in by_key.values():
        summed = by_holders.setdefault(frozenset(key_held), {})
        for territory, amount in key_held.items():
            summed[territory] = summed.get(territory, ZERO) + amount
    total = {node: ZERO for node in nodes}
    for summed in by_holders.values():
        for node, value in roll_up(parents, {}, summed).items():
            total[node] += value
    return total


def _owners(session: Session, nodes: list[str], periods: list[str]) -> dict[tuple[str, str], str]:
    """{(rep, month): the territory of the subtree the rep owned that month}: the one held on
    the month's first day, else one held at some point of the month (a rep who joined
    mid-month forecasts for it too)."""
    found: dict[tuple[str, str], str] = {}
    rows = session.execute(
        select(
            TerritoryAssignment.user_id, TerritoryAssignment.territory_id,
            TerritoryAssignment.valid_from, TerritoryAssignment.valid_to,
        ).where(TerritoryAssignment.territory_id.in_(nodes), TerritoryAssignment.role == "owner")
    ).all()  # fmt: skip
    for period in periods:
        first = date(int(period[:4]), int(period[5:]), 1)
        last = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
        held = [(user, territory, since) for user, territory, since, until in rows
                if since <= last and (until is None or until >= first)]  # fmt: skip
        for user, territory, _ in sorted(held, key=lambda row: row[2] > first):
            found.setdefault((user, period), territory)
    return found


def summary(
    session: Session, principal: Principal, territory_id: str, periods: list[str],
    product_line: str | None, today: date,
) -> dict[str, Any]:  # fmt: skip
    """The chosen territory and each of its children, with quota, forecast by category (raw,
    adjusted, cumulative), attainment and gap over ``periods``."""
    root = visible_territory(session, principal, territory_id, today)
    parents, found = figures(session, root.id, periods, product_line)
    children = sorted(
        session.scalars(select(Territory).where(Territory.parent_id == root.id)),
        key=lambda t: t.code,
    )

    shown = [root.id, *(child.id for child in children if child.id in parents)]
    baselines = baselines_by_territory(session, parents, shown, periods, product_line, today)

    def row(territory: Territory) -> dict[str, Any]:
        return {"territory_id": territory.id, "code": territory.code, "name": territory.name,
                "type": territory.type, **found[territory.id].as_row(),
                "baseline": baselines.get(territory.id)}  # fmt: skip

    return {
        "territory": row(root),
        "children": [row(child) for child in children if child.id in parents],
        "periods": periods,
        "product_line": product_line,
    }


def monthly(
    session: Session, principal: Principal, territory_id: str, periods: list[str],
    product_line: str | None, today: date,
) -> dict[str, Any]:  # fmt: skip
    """The chosen territory's figures month by month (for quota vs forecast vs actual)."""
    root = visible_territory(session, principal, territory_id, today)
    series = []
    for period in periods:
        _, found = figures(session, root.id, [period], product_line)
        series.append({"period": period, **found[root.id].as_row()})
    return {"territory_id": root.id, "code": root.code, "months": series}


def month_before(period: str, count: int) -> str:
    """The ``YYYY-MM`` ``count`` months before ``period`` (after it, for a negative count)."""
    year, month = int(period[:4]), int(period[5:])
    index = year * 12 + month - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def baselines_by_territory(
    session: Session, parents: dict[str, str | None], shown: list[str], window: list[str],
    product_line: str | None, today: date,
) -> dict[str, Decimal | None]:  # fmt: skip
    """The baseline (the model the MASE gate shows) summed over ``window``, for each territory
    in ``shown`` (a territory and its children: one query for the whole subtree's history)."""
    current = f"{today:%Y-%m}"
    end = min(month_before(window[0], 1), month_before(current, 1))
    history = months(month_before(end, HISTORY_MONTHS - 1), end)
    ahead = len(months(month_before(end, -1), window[-1]))
    query = (
        select(SalesMonth.territory_id, SalesMonth.period, func.sum(SalesMonth.booked_amount))
        .where(SalesMonth.territory_id.in_(list(parents)), SalesMonth.period.in_(history))
        .group_by(SalesMonth.territory_id, SalesMonth.period)
    )
    if product_line is not None:
        query = query.where(SalesMonth.product_line == product_line)
    by_period: dict[str, dict[str, Decimal]] = {}
    for territory, period, total in session.execute(query):
        by_period.setdefault(period, {})[territory] = Decimal(total or 0)
    rolled = {period: roll_up(parents, own) for period, own in by_period.items()}
    found: dict[str, Decimal | None] = {}
    for node in shown:
        series = [float(rolled[p][node]) if p in rolled else 0.0 for p in history]
        first = next((i for i, v in enumerate(series) if v), None)
        try:
            result = (
                stats.baseline(series[first or 0 :], horizon=ahead) if first is not None else None
            )
        except ValueError:
            result = None
        found[node] = (
            None if result is None
            else Decimal(str(round(sum(result.forecast[ahead - len(window) :]), 2)))
        )  # fmt: skip
    return found


# adjustments in force (what the figures apply) ----------------------------------------------


def current_adjustments(
    session: Session, nodes: list[str], periods: list[str], product_line: str | None
) -> dict[tuple[str, str, str, str], Decimal]:
    """{(territory, month, line, category): amount} of the adjustments in force."""
    query = (
        select(ForecastAdjustment)
        .where(
            ForecastAdjustment.territory_id.in_(nodes),
            ForecastAdjustment.period.in_(periods),
            ForecastAdjustment.reset_at.is_(None),
        )
        .order_by(ForecastAdjustment.created_at, ForecastAdjustment.id)
    )
    if product_line is not None:
        query = query.where(ForecastAdjustment.product_line == product_line)
    found = {}
    for row in session.scalars(query):  # the latest wins
        found[(row.territory_id, row.period, row.product_line, row.category)] = row.amount
    return found
