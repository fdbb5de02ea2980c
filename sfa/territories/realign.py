"""Realignment: territory models drafted, reviewed with a dry run, and activated on a date.

A model holds assignment rules and manual placements (``sfa.territories.assignment`` says
how they place accounts). :func:`dry_run` computes what activating it would do, changing
nothing. :func:`activate` does exactly that, in the caller's one transaction: the accounts
change territory (database triggers record the moves, so devices follow on their next sync
with move-in and move-out), each change enters the accounts' territory history effective on
the model's date, orders already placed on or after that date are credited to their new
territory, and the model becomes the active one. Scheduled models are activated by
:func:`run_due` once their date has come (``sfa realign run-due``, or ``sfa serve``'s own
scheduler). Effective dates are never in the past: history is not rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sfa import audit
from sfa.accounts.models import Account
from sfa.clock import start_of
from sfa.errors import Conflict, NotFound, ValidationFailed
from sfa.forecasts import sales
from sfa.orders.models import Order
from sfa.territories.assignment import (
    FIELDS,
    Assigner,
    ConditionError,
    compile_condition,
    normalized_values,
)
from sfa.territories.assignment import Rule as PlacementRule
from sfa.territories.assignment import Territory as Node
from sfa.territories.history import record_owners
from sfa.territories.models import (
    AssignmentRule,
    ManualAssignment,
    Territory,
    TerritoryModel,
)

EDITABLE = ("draft",)


@dataclass
class Diff:
    """What activating a model would do: each account that changes territory, and those it
    leaves where they are for a reason."""

    moves: dict[str, tuple[str, str]] = field(default_factory=dict)  # account: (from, to)
    unmatched: list[str] = field(default_factory=list)  # no rule holds: stays put
    excluded: list[str] = field(default_factory=list)  # flagged: stays put
    manual: int = 0  # placed by hand (moving or not)
    accounts: int = 0

    def by_territory(self) -> dict[str, dict[str, list[str]]]:
        found: dict[str, dict[str, list[str]]] = {}
        for account, (before, after) in sorted(self.moves.items()):
            found.setdefault(before, {"added": [], "removed": []})["removed"].append(account)
            found.setdefault(after, {"added": [], "removed": []})["added"].append(account)
        return dict(sorted(found.items()))

    def summary(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "moving": len(self.moves),
            "unmatched": len(self.unmatched),
            "excluded": len(self.excluded),
            "manual": self.manual,
            "territories": {
                territory: {"added": len(c["added"]), "removed": len(c["removed"])}
                for territory, c in self.by_territory().items()
            },
        }


def get_model(session: Session, model_id: str, *, lock: bool = False) -> TerritoryModel:
    model = session.get(TerritoryModel, model_id, with_for_update=lock or None)
    if model is None:
        raise NotFound("no such territory model", details={"model_id": model_id})
    return model


def models(session: Session) -> list[TerritoryModel]:
    """Every model, newest first."""
    return list(session.scalars(select(TerritoryModel).order_by(TerritoryModel.created_at.desc())))


def rules_of(session: Session, model_id: str) -> list[AssignmentRule]:
    model = get_model(session, model_id)
    return list(
        session.scalars(
            select(AssignmentRule)
            .where(AssignmentRule.model_id == model.id)
            .order_by(AssignmentRule.created_at, AssignmentRule.id)
        )
    )


def placements_of(session: Session, model_id: str) -> list[ManualAssignment]:
    model = get_model(session, model_id)
    return list(
        session.scalars(
            select(ManualAssignment)
            .where(ManualAssignment.model_id == model.id)
            .order_by(ManualAssignment.account_id)
        )
    )


def _editable(model: TerritoryModel) -> None:
    if model.status not in EDITABLE:
        raise Conflict(
            f"the model is {model.status}; only a draft can change",
            code="invalid_state",
            details={"status": model.status},
        )


def create_model(
    session: Session, name: str, actor: str | None, now: datetime, *, copy_active: bool = True
) -> TerritoryModel:
    """A new draft; by default it starts as a copy of the active model's rules and manual
    placements, so planning begins from what is in force."""
    model = TerritoryModel(name=name, status="draft", created_by=actor, created_at=now)
    session.add(model)
    session.flush()
    active = session.scalar(select(TerritoryModel).where(TerritoryModel.status == "active"))
    if copy_active and active is not None:
        for rule in session.scalars(
            select(AssignmentRule).where(AssignmentRule.model_id == active.id)
        ):
            session.add(
                AssignmentRule(
                    model_id=model.id, territory_id=rule.territory_id, priority=rule.priority,
                    condition=rule.condition, created_at=now,
                )
            )  # fmt: skip
        for placed in session.scalars(
            select(ManualAssignment).where(ManualAssignment.model_id == active.id)
        ):
            session.add(
                ManualAssignment(
                    model_id=model.id, account_id=placed.account_id,
                    territory_id=placed.territory_id, reason=placed.reason,
                )
            )  # fmt: skip
    audit.record(session, actor, "territory_model", model.id, "created", None,
                 {"name": name, "copied_from": active.id if active and copy_active else None},
                 at=now)  # fmt: skip
    return model


def _leaf(session: Session, territory_id: str) -> Territory:
    territory = session.get(Territory, territory_id)
    if territory is None:
        raise ValidationFailed([{"path": "territory_id", "message": "unknown territory"}])
    return territory


def add_rule(
    session: Session,
    model_id: str,
    territory_id: str,
    priority: int,
    condition: Any,
    actor: str | None,
    now: datetime,
) -> AssignmentRule:
    model = get_model(session, model_id, lock=True)
    _editable(model)
    _leaf(session, territory_id)
    try:
        compile_condition(condition)
    except ConditionError as exc:
        raise ValidationFailed(exc.errors) from None
    rule = AssignmentRule(
        model_id=model.id, territory_id=territory_id, priority=priority, condition=condition,
        created_at=now,
    )  # fmt: skip
    session.add(rule)
    session.flush()
    audit.record(session, actor, "assignment_rule", rule.id, "created", None,
                 _rule_view(rule), at=now)  # fmt: skip
    return rule


def remove_rule(
    session: Session, model_id: str, rule_id: str, actor: str | None, now: datetime
) -> None:
    model = get_model(session, model_id, lock=True)
    _editable(model)
    rule = session.get(AssignmentRule, rule_id)
    if rule is None or rule.model_id != model.id:
        raise NotFound("no such rule in this model", details={"rule_id": rule_id})
    audit.record(session, actor, "assignment_rule", rule.id, "deleted", _rule_view(rule), None,
                 at=now)  # fmt: skip
    session.delete(rule)


def place(
    session: Session,
    model_id: str,
    account_id: str,
    territory_id: str | None,
    reason: str | None,
    actor: str | None,
    now: datetime,
) -> None:
    """Place an account by hand in a model (``territory_id`` None: remove the placement)."""
    model = get_model(session, model_id, lock=True)
    _editable(model)
    if session.get(Account, account_id) is None:
        raise NotFound("no such account", details={"account_id": account_id})
    current = session.get(ManualAssignment, (model.id, account_id))
    before = {"territory_id": current.territory_id, "reason": current.reason} if current else None
    if territory_id is None:
        if current is not None:
            session.delete(current)
    else:
        _leaf(session, territory_id)
        if current is None:
            current = ManualAssignment(model_id=model.id, account_id=account_id)
            session.add(current)
        current.territory_id, current.reason = territory_id, reason
    after = {"territory_id": territory_id, "reason": reason} if territory_id else None
    audit.record(session, actor, "manual_assignment", f"{model.id}:{account_id}", "set",
                 before, after, at=now)  # fmt: skip


def set_excluded(
    session: Session, account_id: str, excluded: bool, actor: str | None, now: datetime
) -> Account:
    account = session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise NotFound("no such account", details={"account_id": account_id})
    if account.exclude_from_realignment != excluded:
        audit.record(session, actor, "account", account.id, "exclude_from_realignment",
                     {"exclude_from_realignment": account.exclude_from_realignment},
                     {"exclude_from_realignment": excluded}, at=now)  # fmt: skip
        account.exclude_from_realignment = excluded
    return account


def dry_run(session: Session, model_id: str) -> Diff:
    """What activating the model would do now. Reads, never writes."""
    model = get_model(session, model_id)
    territories = [
        Node(id_, parent, code)
        for id_, parent, code in session.execute(
            select(Territory.id, Territory.parent_id, Territory.code).where(Territory.active)
        )
    ]
    rules = [
        PlacementRule(rule.id, rule.territory_id, rule.priority, rule.condition)
        for rule in session.scalars(
            select(AssignmentRule).where(AssignmentRule.model_id == model.id)
        )
    ]
    assigner = Assigner(territories, rules)
    manual = dict(
        session.execute(
            select(ManualAssignment.account_id, ManualAssignment.territory_id).where(
                ManualAssignment.model_id == model.id
            )
        ).all()
    )
    diff = Diff(manual=len(manual))
    columns = [Account.id, Account.territory_id, Account.exclude_from_realignment]
    columns += [getattr(Account, name) for name in FIELDS]
    for account, current, excluded, *values in session.execute(
        select(*columns).order_by(Account.id)
    ).all():
        diff.accounts += 1
        if excluded:
            diff.excluded.append(account)
            continue
        target = manual.get(account) or assigner.place(normalized_values(values))
        if target is None:
            diff.unmatched.append(account)
        elif target != current:
            diff.moves[account] = (current, target)
    return diff


def schedule(
    session: Session, model_id: str, effective: date, actor: str | None, today: date,
    now: datetime,
) -> TerritoryModel:  # fmt: skip
    model = get_model(session, model_id, lock=True)
    if model.status not in ("draft", "scheduled"):
        raise Conflict(f"the model is {model.status}", code="invalid_state",
                       details={"status": model.status})  # fmt: skip
    if effective < today:
        raise ValidationFailed(
            [{"path": "effective_date", "message": "today or later: history is not rewritten"}]
        )
    other = session.scalar(
        select(TerritoryModel.id).where(
            TerritoryModel.status == "scheduled", TerritoryModel.id != model.id
        )
    )
    if other is not None:
        raise Conflict("another model is already scheduled; cancel it first",
                       code="already_scheduled", details={"model_id": other})  # fmt: skip
    before = {"status": model.status, "effective_date": model.effective_date}
    model.status, model.effective_date = "scheduled", effective
    audit.record(session, actor, "territory_model", model.id, "scheduled", before,
                 {"status": "scheduled", "effective_date": effective}, at=now)  # fmt: skip
    return model


def cancel(session: Session, model_id: str, actor: str | None, now: datetime) -> TerritoryModel:
    model = get_model(session, model_id, lock=True)
    if model.status not in ("draft", "scheduled"):
        raise Conflict(f"the model is {model.status}", code="invalid_state",
                       details={"status": model.status})  # fmt: skip
    before = {"status": model.status}
    model.status = "cancelled"
    audit.record(session, actor, "territory_model", model.id, "cancelled", before,
                 {"status": "cancelled"}, at=now)  # fmt: skip
    return model


def activate(
    session: Session,
    model_id: str,
    actor: str | None,
    today: date,
    now: datetime,
    timezone: str,
) -> Diff:
    """Make the model the one in force, effective on its scheduled date (today when it was not
    scheduled). Everything happens in the caller's transaction: commit it, or roll it back and
    nothing happened."""
    # every model row locked: two activations run one after the other, never interleaved
    session.execute(select(TerritoryModel.id).with_for_update())
    model = get_model(session, model_id, lock=True)
    if model.status not in ("draft", "scheduled"):
        raise Conflict(f"the model is {model.status}", code="invalid_state",
                       details={"status": model.status})  # fmt: skip
    effective = model.effective_date or today
    if effective > today:
        raise Conflict(
            f"the model takes effect on {effective.isoformat()}; it is activated that day",
            code="not_yet_effective",
            details={"effective_date": effective.isoformat()},
        )
    before = {"status": model.status, "effective_date": model.effective_date}
    diff = dry_run(session, model.id)
    owners = {account: to for account, (_, to) in diff.moves.items()}
    _move_accounts(session, owners, now)
    record_owners(session, owners, effective, f"model:{model.id}", now)
    _credit_again(session, owners, start_of(effective, timezone))
    for previous in session.scalars(
        select(TerritoryModel).where(TerritoryModel.status == "active")
    ):
        previous.status = "superseded"
    model.status, model.effective_date = "active", effective
    model.activated_at, model.moved_accounts = now, len(owners)
    audit.record(
        session, actor, "territory_model", model.id, "activated",
        {**before, "territories": {a: old for a, (old, _) in sorted(diff.moves.items())}},
        {"status": "active", "effective_date": effective,
         "territories": dict(sorted(owners.items()))},
        at=now,
    )  # fmt: skip
    return diff


def _move_accounts(session: Session, owners: dict[str, str], now: datetime) -> None:
    """The accounts change territory: a new revision each, and the database triggers record
    the moves and carry the children's territory along."""
    ids = sorted(owners)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        revisions = dict(
            session.execute(select(Account.id, Account.revision).where(Account.id.in_(chunk))).all()
        )
        session.execute(
            update(Account),
            [
                {"id": account, "territory_id": owners[account], "updated_at": now,
                 "revision": revisions[account] + 1}
                for account in chunk
            ],
        )  # fmt: skip


def _credit_again(session: Session, owners: dict[str, str], since: datetime) -> None:
    """Orders of moved accounts placed on or after the effective date (activation ran later
    that day, or a day late) are credited to the new territory; earlier ones never change.
    Their sales move with them: the months they leave and join are recomputed."""
    ids = sorted(owners)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        recent = session.execute(
            select(
                Order.id, Order.account_id, Order.credited_territory_id, Order.credited_period
            ).where(
                Order.account_id.in_(chunk),
                Order.credited_territory_id.is_not(None),
                Order.placed_at >= since,
            )
        ).all()
        if not recent:
            continue
        session.execute(
            update(Order),
            [
                {"id": order, "credited_territory_id": owners[account]}
                for order, account, _, _ in recent
            ],
        )
        touched = {(territory, period) for _, _, territory, period in recent}
        touched |= {(owners[account], period) for _, account, _, period in recent}
        sales.refresh(session, {key for key in touched if key[1] is not None})


def run_due(
    session: Session, today: date, now: datetime, timezone: str
) -> list[tuple[TerritoryModel, Diff]]:
    """Activate every scheduled model whose date has come, oldest first, each in its own
    committed transaction. Returns what was activated."""
    done = []
    due = session.scalars(
        select(TerritoryModel.id)
        .where(TerritoryModel.status == "scheduled", TerritoryModel.effective_date <= today)
        .order_by(TerritoryModel.effective_date, TerritoryModel.created_at)
    ).all()
    for model_id in due:
        try:
            diff = activate(session, model_id, None, today, now, timezone)
        except Conflict:  # activated or cancelled meanwhile by someone else
            session.rollback()
            continue
        session.commit()
        done.append((get_model(session, model_id), diff))
    return done


_CHUNK = 1000


def _rule_view(rule: AssignmentRule) -> dict[str, Any]:
    return {
        "model_id": rule.model_id,
        "territory_id": rule.territory_id,
        "priority": rule.priority,
        "condition": rule.condition,
    }
