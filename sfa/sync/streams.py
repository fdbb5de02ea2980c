"""What one pull delivers, as ordered streams of SQL: per entity, its upserts then its removals.

Scope is followed without a full resync. The cursor names the scope the device was synced for
(``prev``); the pull computes the current one (``now``). A device *had* an account if the
account's territory at the time of the cursor was in ``prev`` (that territory is the ``from``
of the account's first move in the window, or its current territory if it did not move); it
*should have* it if its territory now is in ``now``. Accounts it should have but did not are
caught up in full, with all their children, changed or not; accounts it had but should not
are removed with all their children.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, Text, cast, false, func, literal_column, or_, select, union
from sqlalchemy.sql.elements import ColumnElement

from sfa.accounts.models import Account
from sfa.orders.models import Order
from sfa.sync.entities import (
    ACCOUNT,
    ENTITIES,
    GLOBAL,
    TERRITORY,
    USER,
    SyncedEntity,
    record_columns_sql,
    record_shaper,
)
from sfa.sync.models import AccountMove, Tombstone
from sfa.sync.window import ChangeWindow, WindowChanges

_accounts = Account.__table__
_orders = Order.__table__
SETTLED_STATUSES = ("invoiced", "closed", "rejected", "cancelled")
_moves = AccountMove.__table__
_tombstones = Tombstone.__table__


@dataclass(frozen=True)
class PullScope:
    now: list[str]
    prev: list[str] | None  # None on a first sync

    @property
    def added(self) -> list[str]:
        return sorted(set(self.now) - set(self.prev or ()))

    @property
    def removed(self) -> list[str]:
        return sorted(set(self.prev or ()) - set(self.now))

    @property
    def either(self) -> list[str]:
        return sorted(set(self.now) | set(self.prev or ()))


@dataclass(frozen=True)
class Stream:
    entity: SyncedEntity
    kind: str  # "upserts" | "removals"
    page: Callable[[str | None, int], Select]  # (after key, limit) -> ordered select
    # a selected row -> what the page carries (its first column is always the key)
    shape: Callable[[Any], Any] = operator.itemgetter(0)
    # whether the stream can find anything, given what changed in a delta window
    needed: Callable[[WindowChanges], bool] = lambda _changes: True


class PullPlan:
    """The streams of one pull for one user, given its window and scope."""

    def __init__(
        self,
        window: ChangeWindow,
        scope: PullScope,
        user_id: str,
        orders_since: datetime | None = None,
        *,
        arrivals: bool = False,
        json_text: bool = True,
    ) -> None:
        self.window = window
        self.scope = scope
        self.user_id = user_id
        # Deliver the records that entered the scope (caught up in full, changed or not) in
        # streams of their own, of kind "arrivals", apart from the changed ones: for clients
        # that must tell a new record from an update (WatermelonDB's "created").
        self.arrivals = arrivals
        # PostgreSQL: records come as their JSON text (orjson fragments), built by the database;
        # False: as dicts, on every backend, for callers that reshape them
        self.json_text = json_text and window.backend == "pg"
        # Order history a device receives when an account first reaches it: orders placed
        # since then, and open ones (None: all). Later changes to any order still arrive.
        self.orders_since = orders_since

    def streams(self) -> list[Stream]:
        """Every stream of the pull, in order (a continuation counts its position in this
        list). Their SQL is built when a page first reads them."""
        found = []
        for entity in ENTITIES:
            read = self._upserts_as_json if self.json_text else self._upserts
            shape = _json_text if self.json_text else record_shaper(entity)
            if self._splits(entity):
                found.append(
                    Stream(
                        entity, "upserts", read(entity, "changed"), shape, self._may_change(entity)
                    )
                )
                found.append(
                    Stream(
                        entity,
                        "arrivals",
                        read(entity, "arrivals"),
                        shape,
                        self._may_arrive(entity),
                    )
                )
            else:
                found.append(
                    Stream(entity, "upserts", read(entity), shape, self._may_upsert(entity))
                )
            if not self.window.is_initial:
                removals = self._removals(entity)
                found.append(Stream(entity, "removals", removals, needed=self._may_remove(entity)))
        return found

    # which streams can find anything in a delta ----------------------------------------------

    def _follows_accounts(self, entity: SyncedEntity) -> bool:
        return entity.name == "accounts" or entity.scope == ACCOUNT

    def _may_upsert(self, entity: SyncedEntity) -> Callable[[WindowChanges], bool]:
        """A record is delivered when it changed in the window, or when it entered the scope
        (its territory was added, or its account moved in)."""
        catches_up = (self._follows_accounts(entity) or entity.scope == TERRITORY) and bool(
            self.scope.added
        )

        def needed(changes: WindowChanges) -> bool:
            if catches_up or entity.table.name in changes.tables:
                return True
            return self._follows_accounts(entity) and changes.moved

        return needed

    def _splits(self, entity: SyncedEntity) -> bool:
        """Whether this entity's arrivals get a stream of their own in this pull."""
        return (
            self.arrivals
            and not self.window.is_initial
            and (self._follows_accounts(entity) or entity.scope == TERRITORY)
        )

    def _may_change(self, entity: SyncedEntity) -> Callable[[WindowChanges], bool]:
        def needed(changes: WindowChanges) -> bool:
            return entity.table.name in changes.tables

        return needed

    def _may_arrive(self, entity: SyncedEntity) -> Callable[[WindowChanges], bool]:
        catches_up = bool(self.scope.added)

        def needed(changes: WindowChanges) -> bool:
            return catches_up or (self._follows_accounts(entity) and changes.moved)

        return needed

    def _may_remove(self, entity: SyncedEntity) -> Callable[[WindowChanges], bool]:
        """A record is removed when it was deleted in the window, or when it left the scope
        (its territory was removed, or its account moved out)."""
        drops = (self._follows_accounts(entity) or entity.scope == TERRITORY) and bool(
            self.scope.removed
        )

        def needed(changes: WindowChanges) -> bool:
            if drops or entity.name in changes.tombstoned:
                return True
            return self._follows_accounts(entity) and changes.moved

        return needed

    # upserts -------------------------------------------------------------------------------

    def _upserts(
        self, entity: SyncedEntity, part: str = "all"
    ) -> Callable[[str | None, int], Select]:
        table = entity.table
        key = table.c[entity.key]
        columns = [table.c[name] for name in entity.record_columns()]

        def page(after: str | None, limit: int) -> Select:
            query = select(*columns).where(self._upsert_condition(entity, part))
            if after is not None:
                query = query.where(key > after)
            return query.order_by(key).limit(limit)

        return page

    def _upserts_as_json(
        self, entity: SyncedEntity, part: str = "all"
    ) -> Callable[[str | None, int], Select]:
        """PostgreSQL: the records come as their JSON text, built by the database (a full
        pull spends most of its time turning rows into JSON; the server does it in C)."""
        table = entity.table
        key = table.c[entity.key]

        def page(after: str | None, limit: int) -> Select:
            query = select(*record_columns_sql(entity)).where(self._upsert_condition(entity, part))
            if after is not None:
                query = query.where(key > after)
            record = query.order_by(key).limit(limit).subquery("record")
            as_json = cast(func.row_to_json(literal_column(record.name)), Text)
            return select(record.c.id, as_json).order_by(record.c.id)

        return page

    def _upsert_condition(self, entity: SyncedEntity, part: str = "all") -> ColumnElement:
        """Which records an upsert stream delivers: ``part`` is "all", or, when arrivals are
        split off, "changed" (changed in the window, and not arrived) or "arrivals"."""
        table = entity.table
        changed = self.window.contains(table.c.sync_version)
        if entity.scope == GLOBAL:
            return changed
        if entity.scope == USER:
            return (table.c.user_id == self.user_id) & changed
        if entity.scope == ACCOUNT:  # children carry their account's territory
            in_scope = table.c.territory_id.in_(self.scope.now)
            caught_up = table.c.account_id.in_(self._caught_up())
        else:
            column = table.c[entity.scope_column]
            in_scope = column.in_(self.scope.now)
            caught_up = (
                table.c.id.in_(self._caught_up())
                if entity.name == "accounts"
                else column.in_(self.scope.added)
            )
        kept = self._kept_history(entity)
        if self.window.is_initial:
            return in_scope & changed if kept is None else in_scope & changed & kept
        if kept is not None:  # a moved-in account's orders changed too (their territory did):
            changed = changed & ~caught_up  # they count as caught up, history rule and all
            caught_up = caught_up & kept
        key = table.c[entity.key]
        if part == "changed":
            return in_scope & key.in_(select(key).where(changed)) & ~caught_up
        if part == "arrivals":
            return in_scope & key.in_(select(key).where(caught_up))
        # two index-friendly halves instead of one OR, which would scan the whole table
        wanted = _either(select(key).where(changed), select(key).where(caught_up))
        return in_scope & key.in_(wanted)

    def _kept_history(self, entity: SyncedEntity) -> ColumnElement | None:
        """For orders and their lines delivered because an account reached the device: only
        the recent or still open ones (a device need not carry years of invoices)."""
        if self.orders_since is None or entity.name not in ("orders", "order_lines"):
            return None
        recent = or_(
            _orders.c.placed_at.is_(None),
            _orders.c.placed_at >= self.orders_since,
            _orders.c.status.not_in(SETTLED_STATUSES),
        )
        if entity.name == "orders":
            return recent
        return entity.table.c.order_id.in_(select(_orders.c.id).where(recent))

    def _first_moves(self):  # noqa: ANN202
        first = (
            select(func.min(_moves.c.id))
            .where(self.window.contains(_moves.c.sync_version))
            .group_by(_moves.c.account_id)
        )
        return (
            select(_moves.c.account_id, _moves.c.from_territory_id)
            .where(_moves.c.id.in_(first))
            .subquery("first_moves")
        )

    def _caught_up(self) -> Select:
        """Accounts the device should have now but did not have at its cursor."""
        if self.window.is_initial:
            return select(_accounts.c.id).where(false())
        moves = self._first_moves()
        moved_in = (
            select(moves.c.account_id)
            .join(_accounts, _accounts.c.id == moves.c.account_id)
            .where(
                _accounts.c.territory_id.in_(self.scope.now),
                moves.c.from_territory_id.not_in(self.scope.prev or []),
            )
        )
        if not self.scope.added:
            return moved_in
        entered = select(_accounts.c.id).where(_accounts.c.territory_id.in_(self.scope.added))
        return _either(moved_in, entered)

    def _left(self) -> Select:
        """Accounts the device had at its cursor but should not have now."""
        moves = self._first_moves()
        moved_out = (
            select(moves.c.account_id)
            .join(_accounts, _accounts.c.id == moves.c.account_id)
            .where(
                moves.c.from_territory_id.in_(self.scope.prev or []),
                _accounts.c.territory_id.not_in(self.scope.now),
            )
        )
        if not self.scope.removed:
            return moved_out
        dropped = select(_accounts.c.id).where(_accounts.c.territory_id.in_(self.scope.removed))
        return _either(moved_out, dropped)

    # removals ------------------------------------------------------------------------------

    def _removals(self, entity: SyncedEntity) -> Callable[[str | None, int], Select]:
        def page(after: str | None, limit: int) -> Select:
            record_id = self._removed_ids(entity).c[0]
            query = select(record_id)
            if after is not None:
                query = query.where(record_id > after)
            return query.order_by(record_id).limit(limit)

        return page

    def _removed_ids(self, entity: SyncedEntity):  # noqa: ANN202
        sources = [self._tombstones(entity)]
        table = entity.table
        if entity.name == "accounts":
            sources.append(self._left())
        elif entity.scope == ACCOUNT:
            sources.append(select(table.c.id).where(table.c.account_id.in_(self._left())))
        elif entity.scope == TERRITORY and self.scope.removed:
            column = table.c[entity.scope_column]
            sources.append(select(table.c.id).where(column.in_(self.scope.removed)))
        if len(sources) > 1:
            return union(*sources).subquery("removed")
        return sources[0].subquery("removed")

    def _tombstones(self, entity: SyncedEntity) -> Select:
        t = _tombstones.c
        query = select(t.record_id.label("id")).where(
            t.entity == entity.name, self.window.contains(t.sync_version)
        )
        if entity.scope == USER:
            return query.where(t.user_id == self.user_id)
        if entity.scope in (TERRITORY, ACCOUNT):
            near = [t.territory_id.in_(self.scope.either), t.territory_id.is_(None)]
            if entity.scope == ACCOUNT:  # deleted after its account moved out of the scope
                near.append(t.account_id.in_(self._moved_through()))
            return query.where(or_(*near))
        return query

    def _moved_through(self) -> Select:
        """Accounts that moved in the window from or to a territory of the scope, then or now:
        a child deleted after such a move was held by the device, wherever it was deleted."""
        either = self.scope.either
        return select(_moves.c.account_id).where(
            self.window.contains(_moves.c.sync_version),
            or_(_moves.c.from_territory_id.in_(either), _moves.c.to_territory_id.in_(either)),
        )


def _json_text(row: Any) -> orjson.Fragment:
    return orjson.Fragment(row[1])


def _either(*queries: Select) -> Select:
    """The distinct ids any of ``queries`` select, as a plain SELECT (SQLite refuses a compound
    SELECT nested inside another)."""
    if len(queries) == 1:
        return queries[0]
    merged = union(*queries).subquery()
    return select(merged.c[0])
