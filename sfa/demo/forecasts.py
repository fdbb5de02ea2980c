"""The demo field force's forecasts: every rep's commit, best case and pipeline per product
line for the last three months, this month and the next two, drawn from what their territory
sold in the same month a year before (so the dashboard has forecast against quota against
actuals, and a per-rep accuracy to read). Finished and current months are submitted; the
next two are drafts still on the reps' phones."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.auth.models import User
from sfa.columns import new_id
from sfa.forecasts.models import Forecast, SalesMonth
from sfa.forecasts.services import month_before
from sfa.territories.models import TerritoryAssignment

CENT = Decimal("0.01")


def load_forecasts(session: Session, today: date, now: datetime, seed: int = 2026) -> int:
    """Insert the demo's forecasts (nothing when there are forecasts already); returns how
    many. Does not commit."""
    if session.scalar(select(Forecast.id).limit(1)) is not None:
        return 0
    rng = random.Random(seed)
    current = f"{today:%Y-%m}"
    periods = [month_before(current, -n) for n in range(-3, 3)]
    reps = session.execute(
        select(User.id, TerritoryAssignment.territory_id)
        .join(TerritoryAssignment, TerritoryAssignment.user_id == User.id)
        .where(User.role == "rep", User.active, TerritoryAssignment.role == "owner")
        .order_by(User.email)
    ).all()
    per_territory: dict[str, int] = {}
    for _, territory in reps:
        per_territory[territory] = per_territory.get(territory, 0) + 1
    last_year = {
        (territory, period, line): amount
        for territory, period, line, amount in session.execute(
            select(SalesMonth.territory_id, SalesMonth.period, SalesMonth.product_line,
                   SalesMonth.booked_amount)
            .where(SalesMonth.period.in_([month_before(p, 12) for p in periods]))
        )
    }  # fmt: skip
    rows = []
    for user, territory in reps:
        lines = sorted({line for (t, _, line) in last_year if t == territory})
        for period in periods:
            for line in lines:
                base = last_year.get((territory, month_before(period, 12), line), Decimal(0))
                if not base:
                    continue
                share = base / per_territory[territory]
                commit = (share * Decimal(str(rng.uniform(0.85, 1.15)))).quantize(CENT)
                submitted = period <= current
                for category, factor in (("commit", 1), ("best_case", 0.18), ("pipeline", 0.1)):
                    amount = (
                        commit if factor == 1 else (commit * Decimal(str(factor))).quantize(CENT)
                    )
                    rows.append(Forecast(
                        id=new_id(), user_id=user, period=period, product_line=line,
                        category=category, amount=amount, notes=None,
                        status="submitted" if submitted else "draft",
                        submitted_at=now if submitted else None, created_at=now,
                        revision=1, field_stamps={},
                    ))  # fmt: skip
    session.add_all(rows)
    return len(rows)
