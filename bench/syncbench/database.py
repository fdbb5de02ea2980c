"""The benchmark database: created fresh on PostgreSQL, loaded once through the CLI's import."""

from __future__ import annotations

import time

import psycopg
from sqlalchemy.engine import make_url

from sfa import create_app
from sfa.cli.data import run_import
from sfa.db import db
from sfa.migrate import upgrade
from syncbench.dataset import ACCOUNTS, ADMIN


class BenchDatabase:
    """The database named by ``url``. It belongs to the benchmark: it is dropped and created
    again, so it refuses a database that holds anything but an earlier run's data."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if not parsed.drivername.startswith("postgresql"):
            raise SystemExit("the sync benchmark runs on PostgreSQL: give a postgresql:// URL")
        self.name = parsed.database
        self.url = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.server_url = (
            parsed.set(drivername="postgresql", database="postgres")
        ).render_as_string(hide_password=False)

    def holds_bench_data(self) -> bool | None:
        """True: an earlier run's data; False: something else; None: no such database/tables."""
        try:
            with psycopg.connect(self.url, connect_timeout=5) as conn:
                accounts = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
                admin = conn.execute("SELECT 1 FROM users WHERE email = %s", (ADMIN.email,))
                return accounts == ACCOUNTS and admin.fetchone() is not None
        except psycopg.errors.UndefinedTable:
            return None
        except psycopg.OperationalError as exc:
            if f'database "{self.name}" does not exist' in str(exc):
                return None
            raise

    def is_empty(self) -> bool:
        with psycopg.connect(self.url, connect_timeout=5) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()[0]
            return tables == 0

    def recreate(self) -> None:
        state = self.holds_bench_data()
        if state is False or (state is None and self._exists() and not self.is_empty()):
            raise SystemExit(
                f"database {self.name!r} holds data that is not the benchmark's; "
                "give --database-url a database the benchmark may drop"
            )
        self.drop()
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def load(self, data: bytes, secret: str) -> float:
        """Migrate, import the document the CLI's way, and analyse; returns the seconds taken."""
        started = time.perf_counter()
        app = create_app({"DATABASE_URL": self.url, "SECRET_KEY": secret, "LOG_LEVEL": "WARNING"})
        with app.app_context():
            upgrade(db.engine)
        run_import(app, data, show_progress=False)
        with app.app_context():
            db.engine.dispose()
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        return time.perf_counter() - started

    def _exists(self) -> bool:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.name,))
            return found.fetchone() is not None
