"""The declarative base, the Flask-SQLAlchemy handle, and per-backend engine behaviour.

SQLite: WAL journal, ``synchronous=FULL`` (an acknowledged write survives power loss),
foreign keys on, a busy timeout, and transactions opened by us: ``BEGIN IMMEDIATE`` for
anything that may write, so writers queue up front instead of failing on lock upgrade, and
a plain deferred ``BEGIN`` for read-only work (see :func:`read_only`).

PostgreSQL: pool pre-ping, synchronous commit, and pools discarded in a forked child so a
gunicorn worker never shares a connection with its parent.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

_sqlite_begin: ContextVar[str] = ContextVar("sqlite_begin", default="BEGIN IMMEDIATE")
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()

T = TypeVar("T")


def engine_options(url: str, busy_timeout_ms: int) -> dict:
    """Engine keyword arguments for the backend named by ``url``."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": busy_timeout_ms / 1000, "check_same_thread": False}}
    return {
        "pool_pre_ping": True,
        "pool_size": 10,
        "max_overflow": 20,
        "connect_args": {"options": "-c synchronous_commit=on"},
    }


def configure_engine(engine: Engine, busy_timeout_ms: int) -> None:
    """Attach the per-backend connection behaviour described in the module docstring."""
    _engines.add(engine)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # noqa: ANN001
        connection.exec_driver_sql(_sqlite_begin.get())


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Within this block, SQLite transactions start deferred (readers never queue)."""
    token = _sqlite_begin.set("BEGIN")
    try:
        yield
    finally:
        _sqlite_begin.reset(token)


def begin_read_only() -> object:
    """Like :func:`read_only`, for callers that span request hooks; pass the result to
    :func:`end_read_only`."""
    return _sqlite_begin.set("BEGIN")


def end_read_only(token: object) -> None:
    _sqlite_begin.reset(token)  # type: ignore[arg-type]


def _dispose_after_fork() -> None:
    for engine in list(_engines):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_dispose_after_fork)

_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


def is_retryable(exc: BaseException) -> bool:
    """A transaction that lost a race and may simply be run again."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database table is locked" in text


def run_with_retry(session: Session, work: Callable[[], T], attempts: int = 6) -> T:
    """Run ``work`` (which commits) again after a serialization failure or deadlock.

    The session is rolled back between attempts; backoff is exponential with full jitter.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            session.rollback()
            if attempt == attempts or not is_retryable(exc):
                raise
            time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))
    raise AssertionError("unreachable")
