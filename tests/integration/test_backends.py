"""Per-backend engine behaviour: durability settings, SQLite write locking, PostgreSQL retries,
and pools discarded in forked workers."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import DBAPIError

from sfa.auth import users as user_admin
from sfa.db import db, read_only, run_with_retry
from sfa.territories.models import Territory
from tests.builders import headers_for, load

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
postgresql_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@sqlite_only
def test_sqlite_acknowledged_writes_are_durable(app):
    with app.app_context():
        pragma = {
            name: db.session.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 30000,
    }


def _other_writer(app) -> sqlite3.Connection:
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    return sqlite3.connect(path, timeout=0, isolation_level=None)


@sqlite_only
def test_sqlite_write_transactions_take_the_write_lock_up_front(app):
    other = _other_writer(app)
    with app.app_context():
        db.session.execute(select(Territory.id)).all()  # first statement opens BEGIN IMMEDIATE
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        db.session.rollback()
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")


@sqlite_only
def test_sqlite_read_only_work_never_blocks_a_writer(app):
    other = _other_writer(app)
    with app.app_context(), read_only():
        db.session.execute(select(Territory.id)).all()
        other.execute("BEGIN IMMEDIATE")  # would raise "database is locked" if we held it
        other.execute("ROLLBACK")
        db.session.rollback()


@postgresql_only
def test_postgresql_commits_synchronously_and_pings_its_pool(app):
    with app.app_context():
        assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"
        assert db.engine.pool._pre_ping


@postgresql_only
def test_postgresql_serialization_failures_are_retried(app):
    load(app)
    attempts = []
    with app.app_context():
        rival = db.engine.connect()

        def rename():
            attempts.append(len(attempts) + 1)
            db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            db.session.execute(select(Territory.name).where(Territory.code == "CO")).one()
            if len(attempts) == 1:  # a concurrent transaction commits after our snapshot
                rival.execute(update(Territory).where(Territory.code == "CO").values(name="X"))
                rival.commit()
            db.session.execute(
                update(Territory).where(Territory.code == "CO").values(name="Colombia SAS")
            )
            db.session.commit()
            return "renamed"

        assert run_with_retry(db.session, rename) == "renamed"
        rival.close()
        assert attempts == [1, 2]
        name = db.session.scalar(select(Territory.name).where(Territory.code == "CO"))
        assert name == "Colombia SAS"


def test_errors_that_are_not_races_are_not_retried(app):
    attempts = []
    with app.app_context():

        def broken():
            attempts.append(1)
            db.session.execute(text("SELECT * FROM no_such_table"))

        with pytest.raises(DBAPIError, match="no_such_table"):
            run_with_retry(db.session, broken)
    assert attempts == [1]


def test_a_forked_worker_never_reuses_its_parents_connections(app):
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()  # the parent's connection goes back to the pool
        assert db.engine.pool.checkedin() == 1
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: a fresh pool, and it can still talk to the database
            try:
                fresh = db.engine.pool.checkedin() == 0
                value = db.session.execute(text("SELECT 41 + 1")).scalar()
                os.write(write_end, f"{fresh},{value}".encode())
            finally:
                os._exit(0)
        os.close(write_end)
        os.waitpid(pid, 0)
        assert os.read(read_end, 100).decode() == "True,42"
        assert db.session.execute(text("SELECT 1")).scalar() == 1


@postgresql_only
def test_a_write_route_that_loses_a_serialization_race_is_run_again(app, client, monkeypatch):
    """Two admins rename the same user at once in SERIALIZABLE transactions: both succeed."""
    load(app)
    headers = headers_for(client, "admin@example.com")
    with app.app_context():
        user_id = db.session.scalar(text("SELECT id FROM users WHERE email = 'erp@example.com'"))

        @event.listens_for(db.engine, "begin")
        def serializable(connection):
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")

    both_have_read = threading.Barrier(2)
    reads = []
    real_get_user = user_admin.get_user

    def get_user_then_wait(session, uid):  # fault injection: force the two reads to overlap
        user = real_get_user(session, uid)
        reads.append(uid)
        if len(reads) <= 2:
            both_have_read.wait(timeout=5)
        return user

    monkeypatch.setattr(user_admin, "get_user", get_user_then_wait)
    statuses = []

    def rename(name):
        with app.test_client() as own:
            response = own.patch(
                f"/api/v1/admin/users/{user_id}", json={"name": name}, headers=headers
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=rename, args=(n,)) for n in ("ERP one", "ERP two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    assert len(reads) == 3  # the loser ran again after its serialization failure
