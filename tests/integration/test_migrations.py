"""The migrations build exactly the schema the models declare, and the latest one reverses."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text, update

from sfa.accounts.models import Account, Contact
from sfa.db import Base, db
from sfa.migrate import alembic_config, upgrade
from sfa.territories.models import Territory
from tests.builders import load


def test_the_migrated_schema_is_the_models_schema(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_the_latest_migrations_reverse_and_reapply(app):
    load(app)
    with app.app_context():
        config = alembic_config()
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        upgrade(db.engine)
        territories = db.session.execute(
            select(Contact.territory_id, Account.territory_id).join(Account)
        ).all()
    assert territories and all(mine == theirs for mine, theirs in territories)


def test_children_follow_their_accounts_territory(app):
    """Set by the database on insert, on a change of account and when the account moves, so
    no write path (import, push, admin) can leave it stale."""
    load(app)
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.code == "A-CO-ANT-01-1"))
        bogota = db.session.scalar(select(Territory.id).where(Territory.code == "CO-BOG-01"))
        contact = Contact(account_id=account.id, name="Dra. Nueva")
        db.session.add(contact)
        db.session.commit()
        assert _territory(contact.id) == account.territory_id
        db.session.execute(
            update(Account).where(Account.id == account.id).values(territory_id=bogota)
        )
        db.session.commit()
        assert _territory(contact.id) == bogota
        other = db.session.scalar(select(Account).where(Account.code == "A-CO-ANT-01-2"))
        db.session.execute(
            update(Contact).where(Contact.id == contact.id).values(account_id=other.id)
        )
        db.session.commit()
        assert _territory(contact.id) == other.territory_id


def _territory(contact_id: str) -> str:
    return db.session.execute(
        text("SELECT territory_id FROM contacts WHERE id = :id"), {"id": contact_id}
    ).scalar_one()
