"""Changing the territory tree: add a territory, move a whole subtree, keep the closure table
right without rebuilding it (a move touches only the moved subtree's rows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.orm import Session

from sfa import audit
from sfa.errors import Conflict, NotFound, ValidationFailed
from sfa.territories.models import TERRITORY_TYPES, Territory, TerritoryClosure

Closure = TerritoryClosure


def add_territory(
    session: Session,
    code: str,
    name: str,
    kind: str,
    parent_id: str | None,
    actor: str | None,
    now: datetime,
) -> Territory:
    if kind not in TERRITORY_TYPES:
        raise ValidationFailed(
            [{"path": "type", "message": f"one of {', '.join(TERRITORY_TYPES)}"}]
        )
    if session.scalar(select(Territory.id).where(Territory.code == code)) is not None:
        raise Conflict("a territory with this code exists", code="territory_exists",
                       details={"code": code})  # fmt: skip
    if parent_id is not None and session.get(Territory, parent_id) is None:
        raise ValidationFailed([{"path": "parent_id", "message": "unknown territory"}])
    territory = Territory(code=code, name=name, type=kind, parent_id=parent_id, created_at=now,
                          updated_at=now)  # fmt: skip
    session.add(territory)
    session.flush()
    rows = [{"ancestor_id": territory.id, "descendant_id": territory.id, "depth": 0}]
    if parent_id is not None:
        rows += [
            {"ancestor_id": ancestor, "descendant_id": territory.id, "depth": depth + 1}
            for ancestor, depth in session.execute(
                select(Closure.ancestor_id, Closure.depth).where(Closure.descendant_id == parent_id)
            )
        ]
    session.execute(insert(Closure), rows)
    created = {"code": code, "name": name, "type": kind, "parent_id": parent_id}
    audit.record(session, actor, "territory", territory.id, "created", None, created, at=now)
    return territory


def move_subtree(
    session: Session, territory_id: str, new_parent_id: str | None, actor: str | None,
    now: datetime,
) -> Territory:  # fmt: skip
    """Hang the territory, with everything below it, under ``new_parent_id`` (None: a root).
    Refused when the new parent lies inside the subtree (a cycle)."""
    territory = session.get(Territory, territory_id, with_for_update=True)
    if territory is None:
        raise NotFound("no such territory", details={"territory_id": territory_id})
    old_parent = territory.parent_id
    if new_parent_id == old_parent:
        return territory
    if new_parent_id is not None:
        if session.get(Territory, new_parent_id) is None:
            raise ValidationFailed([{"path": "parent_id", "message": "unknown territory"}])
        inside = session.scalar(
            select(Closure.depth).where(
                Closure.ancestor_id == territory_id, Closure.descendant_id == new_parent_id
            )
        )
        if inside is not None:
            raise ValidationFailed(
                [{"path": "parent_id", "message": "a territory cannot move under itself"}]
            )
    below = session.execute(
        select(Closure.descendant_id, Closure.depth).where(Closure.ancestor_id == territory_id)
    ).all()
    subtree = [descendant for descendant, _ in below]
    # detach: forget every link from above the territory into its subtree
    above = select(Closure.ancestor_id).where(
        Closure.descendant_id == territory_id, Closure.depth > 0
    )
    session.execute(
        delete(Closure)
        .where(and_(Closure.descendant_id.in_(subtree), Closure.ancestor_id.in_(above)))
        .execution_options(synchronize_session=False)
    )
    # attach: every ancestor of the new parent (itself included) above every subtree node
    if new_parent_id is not None:
        ancestors = session.execute(
            select(Closure.ancestor_id, Closure.depth).where(Closure.descendant_id == new_parent_id)
        ).all()
        session.execute(
            insert(Closure),
            [
                {"ancestor_id": ancestor, "descendant_id": descendant,
                 "depth": up + down + 1}
                for ancestor, up in ancestors
                for descendant, down in below
            ],
        )  # fmt: skip
    territory.parent_id, territory.updated_at = new_parent_id, now
    audit.record(session, actor, "territory", territory.id, "moved",
                 {"parent_id": old_parent}, {"parent_id": new_parent_id}, at=now)  # fmt: skip
    return territory
