"""Weekly snapshots of the forecasts, and the difference between two of them.

A snapshot keeps, per territory, month, product line and category, the reps' submitted
forecasts there and the adjustment in force, so any subtree's figures as they stood can be
rolled up again later, exactly as the live ones are (``sfa.forecasts.rollup``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.errors import NotFound
from sfa.forecasts.models import (
    FORECAST_CATEGORIES,
    Forecast,
    ForecastAdjustment,
    ForecastSnapshot,
    ForecastSnapshotRow,
)
from sfa.forecasts.rollup import ZERO, roll_up
from sfa.forecasts.services import _owners, subtree, visible_territory
from sfa.territories.models import Territory


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def take(session: Session, actor: str | None, today: date, now: datetime) -> ForecastSnapshot:
    """Snapshot every forecast now (the caller commits)."""
    snapshot = ForecastSnapshot(taken_at=now, week=week_of(today), taken_by=actor)
    session.add(snapshot)
    session.flush()
    periods = sorted(set(session.scalars(select(Forecast.period).distinct())))
    nodes = list(session.scalars(select(Territory.id)))
    owners = _owners(session, nodes, periods) if periods else {}
    rows: dict[tuple[str, str, str, str], list] = {}
    for user, period, line, category, amount in session.execute(
        select(Forecast.user_id, Forecast.period, Forecast.product_line, Forecast.category,
               func.sum(Forecast.amount))
        .where(Forecast.status == "submitted")
        .group_by(Forecast.user_id, Forecast.period, Forecast.product_line, Forecast.category)
    ):  # fmt: skip
        territory = owners.get((user, period))
        if territory is not None:
            entry = rows.setdefault((territory, period, line, category), [ZERO, None])
            entry[0] += Decimal(amount or 0)
    for row in session.scalars(
        select(ForecastAdjustment)
        .where(ForecastAdjustment.reset_at.is_(None))
        .order_by(ForecastAdjustment.created_at, ForecastAdjustment.id)
    ):  # the latest in force wins
        key = (row.territory_id, row.period, row.product_line, row.category)
        rows.setdefault(key, [ZERO, None])[1] = row.amount
    values = [
        {"snapshot_id": snapshot.id, "territory_id": t, "period": p, "product_line": ln,
         "category": c, "forecast": forecast, "adjusted": adjusted}
        for (t, p, ln, c), (forecast, adjusted) in rows.items()
    ]  # fmt: skip
    for start in range(0, len(values), 5000):
        session.execute(insert(ForecastSnapshotRow), values[start : start + 5000])
    return snapshot


def take_if_due(session: Session, today: date, now: datetime) -> ForecastSnapshot | None:
    """The weekly snapshot, when this week has none yet."""
    week = week_of(today)
    if session.scalar(select(ForecastSnapshot.id).where(ForecastSnapshot.week == week)):
        return None
    return take(session, None, today, now)


def _figures(
    session: Session, snapshot_id: str, parents: dict[str, str | None], periods: list[str],
    product_line: str | None,
) -> dict[str, dict[str, Decimal]]:  # fmt: skip
    """{territory: {category: adjusted forecast}} as the snapshot had them."""
    query = select(ForecastSnapshotRow).where(
        ForecastSnapshotRow.snapshot_id == snapshot_id,
        ForecastSnapshotRow.territory_id.in_(list(parents)),
        ForecastSnapshotRow.period.in_(periods),
    )
    if product_line is not None:
        query = query.where(ForecastSnapshotRow.product_line == product_line)
    by_key: dict[tuple[str, str, str], tuple[dict, dict]] = {}
    for row in session.scalars(query):
        own, overrides = by_key.setdefault((row.period, row.product_line, row.category), ({}, {}))
        own[row.territory_id] = row.forecast
        if row.adjusted is not None:
            overrides[row.territory_id] = row.adjusted
    found = {node: {c: ZERO for c in FORECAST_CATEGORIES} for node in parents}
    for (_, _, category), (own, overrides) in by_key.items():
        for node, value in roll_up(parents, own, overrides).items():
            found[node][category] += value
    return found


def diff(
    session: Session, principal: Principal, territory_id: str, before_id: str, after_id: str,
    periods: list[str], product_line: str | None, today: date,
) -> dict[str, Any]:  # fmt: skip
    """The adjusted forecast of the territory and each child in two snapshots, and the change."""
    root = visible_territory(session, principal, territory_id, today)
    chosen = select(ForecastSnapshot).where(ForecastSnapshot.id.in_([before_id, after_id]))
    snapshots = {snapshot.id: snapshot for snapshot in session.scalars(chosen)}
    for wanted in (before_id, after_id):
        if wanted not in snapshots:
            raise NotFound("no such snapshot", details={"snapshot_id": wanted})
    parents = subtree(session, root.id)
    before = _figures(session, before_id, parents, periods, product_line)
    after = _figures(session, after_id, parents, periods, product_line)
    children = session.scalars(
        select(Territory)
        .where(Territory.parent_id == root.id, Territory.id.in_(list(parents)))
        .order_by(Territory.code)
    )
    shown = [root, *children]
    return {
        "before": {"id": before_id, "taken_at": snapshots[before_id].taken_at},
        "after": {"id": after_id, "taken_at": snapshots[after_id].taken_at},
        "periods": periods,
        "rows": [
            {"territory_id": t.id, "code": t.code, "name": t.name,
             "before": before[t.id], "after": after[t.id],
             "change": {c: after[t.id][c] - before[t.id][c] for c in FORECAST_CATEGORIES}}
            for t in shown
        ],
    }  # fmt: skip


def listing(session: Session, limit: int = 60) -> list[ForecastSnapshot]:
    return list(
        session.scalars(
            select(ForecastSnapshot).order_by(ForecastSnapshot.taken_at.desc()).limit(limit)
        )
    )
