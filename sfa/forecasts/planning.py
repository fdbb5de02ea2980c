"""Planning for managers: quotas (never one's own) and adjustments of the reps' forecasts,
each audited. ``sfa.forecasts.services`` computes the figures they feed.

Nobody sets the quota of a territory they hold themselves: a manager sets those below, their
own comes from above (an admin, or their own manager)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa import audit
from sfa.auth.principal import Principal
from sfa.errors import Forbidden, NotFound, ValidationFailed
from sfa.forecasts.models import ForecastAdjustment, Quota
from sfa.forecasts.services import months, visible_territory
from sfa.territories.services import assigned_territories

# quotas -----------------------------------------------------------------------------------


def _may_set_quota(session: Session, principal: Principal, territory_id: str, today: date) -> None:
    visible_territory(session, principal, territory_id, today)
    if principal.is_back_office:
        return
    if principal.role != "manager":
        raise Forbidden("only managers and admins set quotas", details={"role": principal.role})
    held = set(session.scalars(assigned_territories(principal.user_id, today)))
    if territory_id in held:
        raise Forbidden(
            "nobody sets their own quota: it is set from above",
            code="own_quota",
            details={"territory_id": territory_id},
        )


def set_quota(
    session: Session, principal: Principal, territory_id: str, period: str, product_line: str,
    amount: Decimal, units: int | None, today: date, now: datetime,
) -> Quota:  # fmt: skip
    _may_set_quota(session, principal, territory_id, today)
    months(period, period)
    quota = session.scalar(
        select(Quota).where(
            Quota.territory_id == territory_id, Quota.period == period,
            Quota.product_line == product_line,
        ).with_for_update()
    )  # fmt: skip
    before = None if quota is None else {"amount": quota.amount, "units": quota.units}
    if quota is None:
        quota = Quota(territory_id=territory_id, period=period, product_line=product_line,
                      amount=amount, units=units, updated_at=now)  # fmt: skip
        session.add(quota)
    else:
        quota.amount, quota.units, quota.updated_at = amount, units, now
    session.flush()
    audit.record(session, principal.user_id, "quota", quota.id, "set", before,
                 {"territory_id": territory_id, "period": period, "product_line": product_line,
                  "amount": amount, "units": units}, at=now)  # fmt: skip
    return quota


def spread_annual_quota(
    session: Session, principal: Principal, territory_id: str, year: int, product_line: str,
    annual: Decimal, distribution: list[Decimal], today: date, now: datetime,
) -> list[Quota]:  # fmt: skip
    """Twelve monthly quotas from an annual one and a distribution of 12 percentages summing
    to exactly 100; cents are rounded and the remainder goes to December, so they add up."""
    if len(distribution) != 12 or sum(distribution) != 100 or min(distribution) < 0:
        raise ValidationFailed(
            [{"path": "distribution", "message": "12 percentages, none negative, summing to 100"}]
        )
    cent = Decimal("0.01")
    parts = [(annual * share / 100).quantize(cent) for share in distribution]
    parts[-1] += annual - sum(parts)
    return [
        set_quota(
            session,
            principal,
            territory_id,
            f"{year:04d}-{n + 1:02d}",
            product_line,
            amount,
            None,
            today,
            now,
        )  # fmt: skip
        for n, amount in enumerate(parts)
    ]


# adjustments ------------------------------------------------------------------------------


def adjust(
    session: Session, principal: Principal, territory_id: str, period: str, product_line: str,
    category: str, amount: Decimal, note: str, today: date, now: datetime,
) -> ForecastAdjustment:  # fmt: skip
    visible_territory(session, principal, territory_id, today)
    if principal.role not in ("manager", "admin"):
        raise Forbidden("only managers and admins adjust forecasts")
    months(period, period)
    if not note.strip():
        raise ValidationFailed([{"path": "note", "message": "say why"}])
    row = ForecastAdjustment(
        territory_id=territory_id, period=period, product_line=product_line, category=category,
        amount=amount, note=note, created_by=principal.user_id, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, principal.user_id, "forecast_adjustment", row.id, "adjusted", None,
                 {"territory_id": territory_id, "period": period, "product_line": product_line,
                  "category": category, "amount": amount, "note": note}, at=now)  # fmt: skip
    return row


def reset_adjustment(
    session: Session, principal: Principal, adjustment_id: str, reason: str, today: date,
    now: datetime,
) -> ForecastAdjustment:  # fmt: skip
    row = session.get(ForecastAdjustment, adjustment_id, with_for_update=True)
    if row is None:
        raise NotFound("no such adjustment", details={"adjustment_id": adjustment_id})
    visible_territory(session, principal, row.territory_id, today)
    if principal.role not in ("manager", "admin"):
        raise Forbidden("only managers and admins reset adjustments")
    if not reason.strip():
        raise ValidationFailed([{"path": "reason", "message": "say why"}])
    if row.reset_at is None:
        row.reset_at, row.reset_by, row.reset_reason = now, principal.user_id, reason
        audit.record(session, principal.user_id, "forecast_adjustment", row.id, "reset",
                     {"amount": row.amount}, {"reason": reason}, at=now)  # fmt: skip
    return row


def adjustment_history(
    session: Session, principal: Principal, territory_id: str, periods: list[str], today: date
) -> list[ForecastAdjustment]:
    visible_territory(session, principal, territory_id, today)
    return list(
        session.scalars(
            select(ForecastAdjustment)
            .where(
                ForecastAdjustment.territory_id == territory_id,
                ForecastAdjustment.period.in_(periods),
            )
            .order_by(ForecastAdjustment.created_at.desc(), ForecastAdjustment.id.desc())
        )
    )
