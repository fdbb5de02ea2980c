"""account children carry their account's territory

Contacts, orders, order lines and visits get ``territory_id``, kept equal to their account's
by triggers, and an index on (territory_id, id): a pull page of a territory's children becomes
an index range instead of a join of accounts over the whole table.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from sfa.sync.triggers import (
    ACCOUNT_CHILDREN,
    remove_territory_copy_statements,
    territory_copy_statements,
)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for child in ACCOUNT_CHILDREN:
        with op.batch_alter_table(child, schema=None) as batch_op:
            batch_op.add_column(sa.Column("territory_id", sa.String(length=36), nullable=True))
            batch_op.create_index(
                f"ix_{child}_territory_id_id", ["territory_id", "id"], unique=False
            )
        op.execute(
            f"UPDATE {child} SET territory_id = "
            f"(SELECT territory_id FROM accounts WHERE accounts.id = {child}.account_id)"
        )
    for statement in territory_copy_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in remove_territory_copy_statements(dialect):
        op.execute(statement)
    for child in ACCOUNT_CHILDREN:  # SQLite: ALTER TABLE DROP COLUMN, never a rebuild
        with op.batch_alter_table(child, schema=None, recreate="never") as batch_op:
            batch_op.drop_index(f"ix_{child}_territory_id_id")
            batch_op.drop_column("territory_id")
