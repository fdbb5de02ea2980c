"""Tree queries and the scope of what a user may see."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Select, delete, insert, or_, select
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.errors import NotFound
from sfa.territories.models import Territory, TerritoryAssignment, TerritoryClosure
from sfa.territories.rules import closure_pairs


def rebuild_closure(session: Session) -> None:
    """Recompute the closure table from the parent links (does not commit)."""
    parents = dict(session.execute(select(Territory.id, Territory.parent_id)).all())
    session.execute(delete(TerritoryClosure))
    rows = [
        {"ancestor_id": a, "descendant_id": d, "depth": depth}
        for a, d, depth in closure_pairs(parents)
    ]
    if rows:
        session.execute(insert(TerritoryClosure), rows)


def subtree_ids(territory_ids: Iterable[str]) -> Select:
    """Every territory at or below the given ones, as a subquery of ids."""
    return select(TerritoryClosure.descendant_id).where(
        TerritoryClosure.ancestor_id.in_(list(territory_ids))
    )


def assigned_territories(user_id: str, on: date) -> Select:
    return select(TerritoryAssignment.territory_id).where(
        TerritoryAssignment.user_id == user_id,
        TerritoryAssignment.valid_from <= on,
        or_(TerritoryAssignment.valid_to.is_(None), TerritoryAssignment.valid_to >= on),
    )


def scope_territories(principal: Principal, on: date) -> Select | None:
    """The ids of the territories whose data ``principal`` may see on ``on``, as a subquery;
    None means everything (admins and the ERP). A rep or manager sees the subtree under each
    territory assigned to them that day."""
    if principal.is_back_office:
        return None
    return select(TerritoryClosure.descendant_id).where(
        TerritoryClosure.ancestor_id.in_(assigned_territories(principal.user_id, on))
    )


def list_territories(session: Session, principal: Principal, on: date) -> list[Territory]:
    query = select(Territory).order_by(Territory.code)
    scope = scope_territories(principal, on)
    if scope is not None:
        query = query.where(Territory.id.in_(scope))
    return list(session.scalars(query))


def get_territory(session: Session, principal: Principal, territory_id: str, on: date) -> Territory:
    query = select(Territory).where(Territory.id == territory_id)
    scope = scope_territories(principal, on)
    if scope is not None:
        query = query.where(Territory.id.in_(scope))
    territory = session.scalar(query)
    if territory is None:
        raise NotFound("no such territory", details={"territory_id": territory_id})
    return territory
