"""Alembic environment. ``sfa init-db`` passes its own connection in ``config.attributes``;
the ``alembic`` command line builds one from ``SFA_DATABASE_URL``."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from sfa import models  # noqa: F401  (complete metadata)
from sfa.config import normalise_database_url
from sfa.db import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = os.environ.get("SFA_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as connection:
        _run(connection)


run_online()
