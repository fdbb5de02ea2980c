"""Fixtures shared by the suite.

Storage-facing tests take the ``app`` fixture, which is parametrized over both backends: each
such test runs on SQLite and on PostgreSQL. PostgreSQL comes from ``SFA_TEST_POSTGRES_URL``
(default: the local server on 127.0.0.1:5432); where none is reachable those cases skip with
the reason. Each xdist worker migrates its own database once; every test then starts from an
empty schema (a copy of the migrated SQLite file, or TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sfa import create_app
from sfa.config import normalise_database_url
from sfa.db import Base, db
from sfa.migrate import upgrade
from tests.builders import BOOKKEEPING

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
TEST_SETTINGS = {
    "SECRET_KEY": "test-secret",
    "PASSWORD_MEMORY_KIB": 1024,  # tests hash often; production keeps the OWASP cost
    "PASSWORD_ITERATIONS": 1,
    "LOG_LEVEL": "WARNING",
    "LOG_JSON": True,
}


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def postgres_admin_url() -> str:
    return normalise_database_url(os.environ.get("SFA_TEST_POSTGRES_URL") or DEFAULT_POSTGRES)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test process's own on the test PostgreSQL server, migrated to head,
    dropped at the end (named by worker and process, so concurrent runs never collide)."""
    admin_url = postgres_admin_url()
    name = f"sfa_test_{_worker()}_{os.getpid()}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server, no driver, no rights: the PostgreSQL half skips
        pytest.skip(f"PostgreSQL not reachable at {make_url(admin_url).render_as_string()}: {exc}")
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    app = create_app({**TEST_SETTINGS, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        upgrade(db.engine)
        db.engine.dispose()
    return path


def _truncate_all(app: Flask) -> None:
    tables = ", ".join(
        f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name not in BOOKKEEPING
    )
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("sqlite_template")
    target = tmp_path / "sfa.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def settings() -> dict:
    """Per-test configuration overrides; a test may change it before asking for ``app``."""
    return {}


@pytest.fixture
def app(database_url: str, settings: dict) -> Iterator[Flask]:
    application = create_app({**TEST_SETTINGS, **settings, "DATABASE_URL": database_url})
    if database_url.startswith("postgresql"):
        _truncate_all(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    lane = application.extensions.get("sfa.idle_probe")
    if lane is not None:
        lane.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
