"""What else a manager watches for a subtree: the statistical baseline of its sales, each rep's
forecast accuracy, reps who have not synced, and conflicts awaiting review."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sfa.auth.models import Device, User
from sfa.auth.principal import Principal
from sfa.forecasts import baseline as stats
from sfa.forecasts.models import Forecast, SalesMonth
from sfa.forecasts.services import (
    HISTORY_MONTHS,
    month_before,
    months,
    subtree,
    visible_territory,
)
from sfa.sync.models import Conflict, DeviceSyncStatus
from sfa.territories.models import TerritoryAssignment


def _monthly_sales(
    session: Session, nodes: list[str], periods: list[str], product_line: str | None
) -> dict[str, Decimal]:
    query = (
        select(SalesMonth.period, func.sum(SalesMonth.booked_amount))
        .where(SalesMonth.territory_id.in_(nodes), SalesMonth.period.in_(periods))
        .group_by(SalesMonth.period)
    )
    if product_line is not None:
        query = query.where(SalesMonth.product_line == product_line)
    return {period: Decimal(total or 0) for period, total in session.execute(query)}


def baseline_for(
    session: Session, principal: Principal, territory_id: str, window: list[str],
    product_line: str | None, today: date,
) -> dict[str, Any]:  # fmt: skip
    """The baseline of the subtree's booked sales for the months of ``window``, from up to 36
    months of history before it (the months after the last complete one are forecast), with
    each model's backtest accuracy and which one is shown (the MASE gate)."""
    root = visible_territory(session, principal, territory_id, today)
    nodes = list(subtree(session, root.id))
    current = f"{today:%Y-%m}"
    end = min(month_before(window[0], 1), month_before(current, 1))
    history = months(month_before(end, HISTORY_MONTHS - 1), end)
    sales = _monthly_sales(session, nodes, history, product_line)
    first = next((i for i, p in enumerate(history) if sales.get(p)), None)
    series = [float(sales.get(p, 0)) for p in history[first:]] if first is not None else []
    body: dict[str, Any] = {"territory_id": root.id, "history": history[first or 0 :],
                            "product_line": product_line}  # fmt: skip
    ahead = len(months(month_before(end, -1), window[-1]))
    try:
        found = stats.baseline(series, horizon=ahead)
    except ValueError as exc:
        return {**body, "model": None, "reason": str(exc), "forecast": [], "candidates": {}}
    forecast = found.forecast[ahead - len(window) :]
    return {
        **body,
        "model": found.chosen,
        "forecast": [{"period": p, "amount": round(v, 2)} for p, v in zip(window, forecast,
                                                                         strict=True)],
        "candidates": {
            name: {**_accuracy(test.accuracy),
                   "tracking_flag": stats.tracking_flag(test.accuracy)}
            for name, test in found.candidates.items()
        },
    }  # fmt: skip


def _accuracy(accuracy: stats.Accuracy) -> dict[str, Any]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    return {
        "wape": rounded(accuracy.wape),
        "mase": rounded(accuracy.mase),
        "bias": rounded(accuracy.bias),
        "tracking_signal": rounded(accuracy.tracking_signal),
        "points": accuracy.points,
    }


def _reps(session: Session, nodes: list[str], on: date) -> list[tuple[str, str, str]]:
    """(user id, name, territory) of the reps owning a territory of the subtree on ``on``."""
    rows = session.execute(
        select(User.id, User.name, TerritoryAssignment.territory_id)
        .join(TerritoryAssignment, TerritoryAssignment.user_id == User.id)
        .where(
            TerritoryAssignment.territory_id.in_(nodes),
            TerritoryAssignment.role == "owner",
            TerritoryAssignment.valid_from <= on,
            (TerritoryAssignment.valid_to.is_(None)) | (TerritoryAssignment.valid_to >= on),
            User.active,
        )
        .order_by(User.name)
    ).all()
    return [(user, name, territory) for user, name, territory in rows]


def forecast_accuracy(
    session: Session, principal: Principal, territory_id: str, window: list[str], today: date
) -> list[dict[str, Any]]:
    """Per rep, over the window's finished months: their submitted commit forecast against what
    their territory booked (WAPE and bias)."""
    root = visible_territory(session, principal, territory_id, today)
    nodes = list(subtree(session, root.id))
    done = [p for p in window if p < f"{today:%Y-%m}"]
    reps = _reps(session, nodes, today)
    committed: dict[tuple[str, str], Decimal] = {
        (user, period): Decimal(total or 0)
        for user, period, total in session.execute(
            select(Forecast.user_id, Forecast.period, func.sum(Forecast.amount))
            .where(Forecast.user_id.in_([user for user, _, _ in reps]),
                   Forecast.status == "submitted", Forecast.category == "commit",
                   Forecast.period.in_(done))
            .group_by(Forecast.user_id, Forecast.period)
        )
    }  # fmt: skip
    booked: dict[tuple[str, str], Decimal] = {
        (territory, period): Decimal(total or 0)
        for territory, period, total in session.execute(
            select(SalesMonth.territory_id, SalesMonth.period, func.sum(SalesMonth.booked_amount))
            .where(SalesMonth.territory_id.in_({t for _, _, t in reps}),
                   SalesMonth.period.in_(done))
            .group_by(SalesMonth.territory_id, SalesMonth.period)
        )
    }  # fmt: skip
    found = []
    for user, name, territory in reps:
        pairs = [
            (committed[(user, p)], booked.get((territory, p), Decimal(0)))
            for p in done
            if (user, p) in committed
        ]
        total = sum((a for _, a in pairs), Decimal(0))
        error = sum((abs(f - a) for f, a in pairs), Decimal(0))
        signed = sum((f - a for f, a in pairs), Decimal(0))
        found.append({
            "user_id": user, "name": name, "territory_id": territory, "months": len(pairs),
            "wape": None if not total else float(round(error / total, 4)),
            "bias": None if not total else float(round(signed / total, 4)),
        })  # fmt: skip
    return found


def sync_compliance(
    session: Session, principal: Principal, territory_id: str, days: int, now: datetime,
    today: date,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every rep of the subtree with their last sync; ``late`` when none in ``days`` days."""
    root = visible_territory(session, principal, territory_id, today)
    nodes = list(subtree(session, root.id))
    cutoff = now - timedelta(days=days)
    reps = _reps(session, nodes, today)
    last_syncs = {
        user: max((t for t in (pulled, pushed) if t is not None), default=None)
        for user, pulled, pushed in session.execute(
            select(
                Device.user_id,
                func.max(DeviceSyncStatus.last_pull_at),
                func.max(DeviceSyncStatus.last_push_at),
            )
            .join(Device, Device.id == DeviceSyncStatus.device_id)
            .where(Device.user_id.in_([user for user, _, _ in reps]))
            .group_by(Device.user_id)
        )
    }  # a push or a pull: the device reached the server
    found = []
    for user, name, territory in reps:
        last = last_syncs.get(user)
        found.append({"user_id": user, "name": name, "territory_id": territory,
                      "last_sync_at": last, "late": last is None or last < cutoff})  # fmt: skip
    return found


def open_conflicts(
    session: Session, principal: Principal, territory_id: str, today: date, limit: int = 100
) -> list[Conflict]:
    root = visible_territory(session, principal, territory_id, today)
    nodes = list(subtree(session, root.id))
    return list(
        session.scalars(
            select(Conflict)
            .where(Conflict.status == "open", Conflict.territory_id.in_(nodes))
            .order_by(Conflict.created_at.desc())
            .limit(limit)
        )
    )
