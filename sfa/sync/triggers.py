"""Database triggers that track changes to synced tables, for the migrations to install.

Every insert and update stamps ``sync_version``; every delete leaves a tombstone carrying the
scope of the deleted record; an account changing territory leaves an ``AccountMove``.

- PostgreSQL: ``sync_version`` is the writing transaction's id (``pg_current_xact_id()``).
  A pull's cursor is a ``pg_snapshot``; the next pull takes exactly the rows whose writing
  transactions that snapshot did not see (see ``sfa/sync/window.py``), so a transaction that
  commits late is never skipped, whatever the order of ids.
- SQLite: writers are serialised (``BEGIN IMMEDIATE``), so a clock row bumped inside the write
  is enough: versions grow in commit order.
"""

from __future__ import annotations

from dataclasses import dataclass

_ACCOUNT_TERRITORY = "(SELECT territory_id FROM accounts WHERE id = OLD.account_id)"


@dataclass(frozen=True)
class TrackedTable:
    table: str
    entity: str
    key: str = "id"
    territory: str = "NULL"  # SQL over OLD: the territory whose devices must hear of a delete
    account: str = "NULL"
    user: str = "NULL"


def _account_child(table: str) -> TrackedTable:
    return TrackedTable(table, table, territory=_ACCOUNT_TERRITORY, account="OLD.account_id")


# The tables migration 0002 tracks (it installs exactly these, whatever is added later).
TRACKED_0002 = (
    TrackedTable("territories", "territories", territory="OLD.id"),
    TrackedTable("accounts", "accounts", territory="OLD.territory_id", account="OLD.id"),
    _account_child("contacts"),
    TrackedTable("products", "products"),
    TrackedTable("price_lists", "price_lists"),
    TrackedTable("price_list_items", "price_list_items"),
    TrackedTable("stock_levels", "stock", key="product_id"),
    _account_child("orders"),
    _account_child("order_lines"),
    _account_child("visits"),
    TrackedTable("forecasts", "forecasts", user="OLD.user_id"),
    TrackedTable("quotas", "quotas", territory="OLD.territory_id"),
    TrackedTable("conflicts", "conflicts", territory="OLD.territory_id", user="OLD.user_id"),
)
TRACKED_0004 = (TrackedTable("pricing_rules", "pricing_rules"),)
TRACKED = TRACKED_0002 + TRACKED_0004

_PG_VERSION = "pg_current_xact_id()::text::bigint"
_SQLITE_BUMP = "UPDATE sync_clock SET value = value + 1 WHERE id = 1;"
_SQLITE_VERSION = "(SELECT value FROM sync_clock WHERE id = 1)"
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000'"


def table_statements(dialect: str, tables: tuple[TrackedTable, ...]) -> list[str]:
    """The DDL that tracks tables added after the engine was installed (the stamp function
    and the clock already exist)."""
    if dialect == "postgresql":
        return [statement for spec in tables for statement in _postgresql(spec)]
    return [statement for spec in tables for statement in _sqlite(spec)]


def remove_table_statements(dialect: str, tables: tuple[TrackedTable, ...]) -> list[str]:
    if dialect == "postgresql":
        return [
            statement
            for spec in tables
            for statement in (
                f"DROP TRIGGER IF EXISTS sfa_{spec.table}_version ON {spec.table}",
                f"DROP TRIGGER IF EXISTS sfa_{spec.table}_delete ON {spec.table}",
                f"DROP FUNCTION IF EXISTS sfa_{spec.table}_tombstone()",
            )
        ]
    return [
        f"DROP TRIGGER IF EXISTS sfa_{spec.table}_{op}"
        for spec in tables
        for op in ("insert", "update", "delete")
    ]


def install_statements(dialect: str, tables: tuple[TrackedTable, ...] = TRACKED_0002) -> list[str]:
    """The DDL that tracks ``tables`` (and account moves) on ``dialect``."""
    if dialect == "postgresql":
        statements = [_PG_STAMP_FUNCTION]
        for spec in tables:
            statements.extend(_postgresql(spec))
        statements.extend(_PG_MOVES)
        return statements
    statements = [
        "INSERT INTO sync_clock (id, value) SELECT 1, 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM sync_clock WHERE id = 1)"
    ]
    for spec in tables:
        statements.extend(_sqlite(spec))
    statements.append(_SQLITE_MOVES)
    return statements


def remove_statements(dialect: str, tables: tuple[TrackedTable, ...] = TRACKED_0002) -> list[str]:
    if dialect == "postgresql":
        statements = [
            "DROP TRIGGER IF EXISTS sfa_accounts_move ON accounts",
            "DROP FUNCTION IF EXISTS sfa_account_move()",
        ]
        for spec in tables:
            statements += [
                f"DROP TRIGGER IF EXISTS sfa_{spec.table}_version ON {spec.table}",
                f"DROP TRIGGER IF EXISTS sfa_{spec.table}_delete ON {spec.table}",
                f"DROP FUNCTION IF EXISTS sfa_{spec.table}_tombstone()",
            ]
        return [*statements, "DROP FUNCTION IF EXISTS sfa_stamp_sync_version()"]
    statements = ["DROP TRIGGER IF EXISTS sfa_accounts_move"]
    for spec in tables:
        statements += [
            f"DROP TRIGGER IF EXISTS sfa_{spec.table}_{op}" for op in ("insert", "update", "delete")
        ]
    return statements


_PG_STAMP_FUNCTION = f"""
CREATE OR REPLACE FUNCTION sfa_stamp_sync_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sync_version := {_PG_VERSION};
    RETURN NEW;
END $$"""


def _tombstone_values(spec: TrackedTable, version: str, now: str) -> str:
    return (
        "INSERT INTO sync_tombstones "
        "(entity, record_id, territory_id, account_id, user_id, sync_version, deleted_at) "
        f"VALUES ('{spec.entity}', OLD.{spec.key}, {spec.territory}, {spec.account}, "
        f"{spec.user}, {version}, {now});"
    )


def _postgresql(spec: TrackedTable) -> list[str]:
    return [
        f"CREATE TRIGGER sfa_{spec.table}_version BEFORE INSERT OR UPDATE ON {spec.table} "
        "FOR EACH ROW EXECUTE FUNCTION sfa_stamp_sync_version()",
        f"""CREATE OR REPLACE FUNCTION sfa_{spec.table}_tombstone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    {_tombstone_values(spec, _PG_VERSION, "now()")}
    RETURN OLD;
END $$""",
        f"CREATE TRIGGER sfa_{spec.table}_delete AFTER DELETE ON {spec.table} "
        f"FOR EACH ROW EXECUTE FUNCTION sfa_{spec.table}_tombstone()",
    ]


_PG_MOVES = [
    f"""CREATE OR REPLACE FUNCTION sfa_account_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_account_moves
        (account_id, from_territory_id, to_territory_id, sync_version, moved_at)
    VALUES (NEW.id, OLD.territory_id, NEW.territory_id, {_PG_VERSION}, now());
    RETURN NEW;
END $$""",
    "CREATE TRIGGER sfa_accounts_move AFTER UPDATE OF territory_id ON accounts FOR EACH ROW "
    "WHEN (OLD.territory_id IS DISTINCT FROM NEW.territory_id) "
    "EXECUTE FUNCTION sfa_account_move()",
]


def _sqlite(spec: TrackedTable) -> list[str]:
    stamp = (
        f"{_SQLITE_BUMP} UPDATE {spec.table} SET sync_version = {_SQLITE_VERSION} "
        "WHERE rowid = NEW.rowid;"
    )
    return [
        f"CREATE TRIGGER sfa_{spec.table}_insert AFTER INSERT ON {spec.table} BEGIN {stamp} END",
        # the stamp's own UPDATE changes sync_version, so it does not fire this again
        f"CREATE TRIGGER sfa_{spec.table}_update AFTER UPDATE ON {spec.table} "
        f"WHEN NEW.sync_version IS OLD.sync_version BEGIN {stamp} END",
        f"CREATE TRIGGER sfa_{spec.table}_delete AFTER DELETE ON {spec.table} BEGIN "
        f"{_SQLITE_BUMP} {_tombstone_values(spec, _SQLITE_VERSION, _SQLITE_NOW)} END",
    ]


_SQLITE_MOVES = (
    "CREATE TRIGGER sfa_accounts_move AFTER UPDATE OF territory_id ON accounts "
    "WHEN OLD.territory_id IS NOT NEW.territory_id BEGIN "
    f"{_SQLITE_BUMP} INSERT INTO sync_account_moves "
    "(account_id, from_territory_id, to_territory_id, sync_version, moved_at) "
    f"VALUES (NEW.id, OLD.territory_id, NEW.territory_id, {_SQLITE_VERSION}, {_SQLITE_NOW}); END"
)


# Account children carry their account's territory (migration 0003) --------------------------

ACCOUNT_CHILDREN = ("contacts", "orders", "order_lines", "visits")
_TERRITORY_OF_NEW = "(SELECT territory_id FROM accounts WHERE id = NEW.account_id)"


def territory_copy_statements(dialect: str) -> list[str]:
    """The DDL that keeps ``territory_id`` of every account child equal to its account's:
    set when the child is written (or changes account), rewritten when the account moves.
    The rewrite stamps the children's ``sync_version`` like any change."""
    children = ACCOUNT_CHILDREN
    if dialect == "postgresql":
        statements = [
            """CREATE OR REPLACE FUNCTION sfa_copy_account_territory() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.territory_id := (SELECT territory_id FROM accounts WHERE id = NEW.account_id);
    RETURN NEW;
END $$""",
            "CREATE OR REPLACE FUNCTION sfa_move_account_children() RETURNS trigger "
            "LANGUAGE plpgsql AS $$\nBEGIN\n"
            + "".join(
                f"    UPDATE {child} SET territory_id = NEW.territory_id "
                "WHERE account_id = NEW.id;\n"
                for child in children
            )
            + "    RETURN NEW;\nEND $$",
            "CREATE TRIGGER sfa_accounts_children AFTER UPDATE OF territory_id ON accounts "
            "FOR EACH ROW WHEN (OLD.territory_id IS DISTINCT FROM NEW.territory_id) "
            "EXECUTE FUNCTION sfa_move_account_children()",
        ]
        for child in children:
            statements.append(
                f"CREATE TRIGGER sfa_{child}_territory BEFORE INSERT OR UPDATE OF account_id "
                f"ON {child} FOR EACH ROW EXECUTE FUNCTION sfa_copy_account_territory()"
            )
        return statements
    statements = [
        "CREATE TRIGGER sfa_accounts_children AFTER UPDATE OF territory_id ON accounts "
        "WHEN OLD.territory_id IS NOT NEW.territory_id BEGIN "
        + " ".join(
            f"UPDATE {child} SET territory_id = NEW.territory_id WHERE account_id = NEW.id;"
            for child in children
        )
        + " END"
    ]
    for child in children:
        copy = f"UPDATE {child} SET territory_id = {_TERRITORY_OF_NEW} WHERE rowid = NEW.rowid;"
        statements += [
            f"CREATE TRIGGER sfa_{child}_territory_insert AFTER INSERT ON {child} BEGIN {copy} END",
            f"CREATE TRIGGER sfa_{child}_territory_update AFTER UPDATE OF account_id "
            f"ON {child} BEGIN {copy} END",
        ]
    return statements


def remove_territory_copy_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS sfa_accounts_children ON accounts",
            *(
                f"DROP TRIGGER IF EXISTS sfa_{child}_territory ON {child}"
                for child in ACCOUNT_CHILDREN
            ),
            "DROP FUNCTION IF EXISTS sfa_move_account_children()",
            "DROP FUNCTION IF EXISTS sfa_copy_account_territory()",
        ]
    return [
        "DROP TRIGGER IF EXISTS sfa_accounts_children",
        *(
            f"DROP TRIGGER IF EXISTS sfa_{child}_territory_{when}"
            for child in ACCOUNT_CHILDREN
            for when in ("insert", "update")
        ),
    ]
