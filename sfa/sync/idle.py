"""The idle pull: one statement answers a device whose cursor is already current.

Most pulls find nothing new: a device syncs several times a day, its territories change a few
times. The full pull path (:mod:`sfa.sync.pull`) spends a repeatable-read transaction and
five statements on such a pull: the caller's token, the territories in scope, the cursor's scope
snapshot, the current bound and the change probe. Here they are one statement, read outside any
transaction (a single statement sees one snapshot), on the driver's connection with the
statement compiled once.

It only ever answers "nothing changed", and only when every check of the full path passes: a
valid access token of an active user on a device that is not revoked, a role the route allows,
the same scope as the cursor's, a scope snapshot used within the last day (the full path
refreshes older ones), a bound that is not behind the cursor, and no change in between. In any
other case it steps aside and the full path answers, so errors and deltas have one source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, create_engine, text
from sqlalchemy.engine import Engine

from sfa.auth.principal import BACK_OFFICE_ROLES, Principal
from sfa.columns import UTCDateTime
from sfa.db import configure_engine
from sfa.sync.cursor import Cursor
from sfa.sync.scope import SNAPSHOT_TOUCH_AFTER, scope_hash
from sfa.sync.window import CURRENT_BOUND_SQL, is_from_the_future, probe_sql, snapshot_xmin

_AGGREGATE = {"pg": "string_agg({}, ',')", "sqlite": "group_concat({}, ',')"}
_LOWER = {"pg": "CAST(:lower AS pg_snapshot)", "sqlite": ":lower"}


def _statement_sql(backend: str) -> str:
    """The caller, its scope today, and whether its cursor is current, in one row.

    The scope mirrors :func:`sfa.territories.services.scope_territories`: back-office roles see
    every territory, others the subtrees under the territories assigned to them on ``:today``
    (tests compare this path with the full one across assignment boundaries)."""
    back_office = ", ".join(f"'{role}'" for role in sorted(BACK_OFFICE_ROLES))
    every_territory = _AGGREGATE[backend].format("id")
    assigned_subtrees = _AGGREGATE[backend].format("c.descendant_id")
    sql = f"""
WITH b AS (SELECT {_LOWER[backend]} AS lo, {CURRENT_BOUND_SQL[backend]} AS hi)
SELECT u.id, u.role, u.name, d.id,
  (t.kind = 'access' AND t.revoked_at IS NULL AND d.revoked_at IS NULL AND u.active
   AND t.expires_at > :now) AS valid,
  CASE WHEN u.role IN ({back_office})
    THEN (SELECT {every_territory} FROM territories)
    ELSE (SELECT {assigned_subtrees} FROM territory_closure c
          WHERE c.ancestor_id IN (
            SELECT a.territory_id FROM territory_assignments a
            WHERE a.user_id = u.id AND a.valid_from <= :today
              AND (a.valid_to IS NULL OR a.valid_to >= :today)))
  END AS scope,
  EXISTS (SELECT 1 FROM sync_scopes s WHERE s.hash = :scope AND s.last_used_at >= :fresh_since)
    AS scope_fresh,
  CAST(b.hi AS text) AS upper,
  ({probe_sql(backend, "b.lo", "b.hi")}) AS changed
FROM b, auth_tokens t
JOIN devices d ON d.id = t.device_id
JOIN users u ON u.id = d.user_id
WHERE t.token_hash = :digest
"""
    # the driver caches the parsing of statements up to 4 kB: keep it under
    return " ".join(sql.split())


@dataclass(frozen=True)
class Idle:
    """The pull is idle: who asked, and the bound its new cursor carries."""

    principal: Principal
    upper: str


class IdleProbe:
    """The one-statement check, compiled for one engine."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        self.engine = engine
        self.backend = "sqlite" if dialect.name == "sqlite" else "pg"
        self._pool = engine
        if self.backend == "pg":
            # its own small pool, without the pre-ping round trip: a connection that went
            # stale fails the statement, and the full path (which pings) answers instead
            self._pool = create_engine(
                engine.url,
                pool_size=4,
                max_overflow=8,
                connect_args={"options": "-c synchronous_commit=on"},
            )
            configure_engine(self._pool, 0)  # discarded in forked children like the main one
        compiled = text(_statement_sql(self.backend)).compile(dialect=dialect)
        self.sql = compiled.string
        self.positions = compiled.positiontup if dialect.positional else None
        self._as_datetime = UTCDateTime().bind_processor(dialect) or (lambda value: value)
        self._as_date = Date().bind_processor(dialect) or (lambda value: value)

    def dispose(self) -> None:
        if self._pool is not self.engine:
            self._pool.dispose()

    def check(
        self, token_digest: str, cursor: Cursor, *, today: date, now: datetime
    ) -> Idle | None:
        """An :class:`Idle` when the device's pull would deliver nothing, else None."""
        params = {
            "digest": token_digest,
            "now": self._as_datetime(now),
            "today": self._as_date(today),
            "scope": cursor.scope,
            "fresh_since": self._as_datetime(now - SNAPSHOT_TOUCH_AFTER),
        }
        if self.backend == "sqlite":
            params["lower"] = int(cursor.bound)
        else:
            params["lower"], params["xmin"] = cursor.bound, snapshot_xmin(cursor.bound)
        row = self._fetch(params)
        if row is None:
            return None
        user_id, role, name, device_id, valid, scope, scope_fresh, upper, changed = row
        if not valid or not scope_fresh or changed:
            return None
        territory_ids = sorted(set(scope.split(","))) if scope else []
        if scope_hash(territory_ids) != cursor.scope:
            return None
        if upper != cursor.bound and is_from_the_future(self.backend, cursor.bound, upper):
            return None
        return Idle(Principal(user_id=user_id, role=role, name=name, device_id=device_id), upper)

    def _fetch(self, params: dict[str, Any]) -> tuple | None:
        connection = self._pool.raw_connection()
        driver = connection.driver_connection
        try:
            if self.backend == "pg":
                driver.autocommit = True  # one statement, one snapshot: no transaction needed
            cursor = connection.cursor()
            try:
                if self.positions is None:
                    cursor.execute(self.sql, params)
                else:
                    cursor.execute(self.sql, [params[name] for name in self.positions])
                return cursor.fetchone()
            finally:
                cursor.close()
        except self.engine.dialect.loaded_dbapi.Error:
            connection.invalidate()  # the full path, with its own connection, will answer
            return None
        finally:
            if self.backend == "pg" and connection.is_valid:
                driver.autocommit = False
            connection.close()
