"""territories: realignment models and rules, account territory history, the audit trail

Assignment rules and manual placements grouped in territory models (drafted, scheduled,
activated), accounts' postal code and "exclude from realignment" flag, the effective-dated
history of which territory owned each account (backfilled: today's owner since the
beginning), each order's credited territory (backfilled: its account's), and the
append-only audit log (guarded by triggers).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 11:52:56.248392
"""

import sqlalchemy as sa
from alembic import op

import sfa.columns
from sfa.audit import AUDIT_GUARD_REMOVAL, AUDIT_GUARD_STATEMENTS
from sfa.territories.history import BEGINNING

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sfa.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_log_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "territory_models",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sfa.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sfa.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("moved_accounts", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_territory_models_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_models")),
    )
    with op.batch_alter_table("territory_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_territory_models_status"), ["status"], unique=False)

    op.create_table(
        "account_territory_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("territory_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sfa.columns.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from",
            name=op.f("ck_account_territory_history_valid_period"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_territory_history_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_account_territory_history_territory_id_territories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_territory_history")),
    )
    with op.batch_alter_table("account_territory_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_account_territory_history_account_from", ["account_id", "valid_from"], unique=False
        )
        batch_op.create_index(
            "ix_account_territory_history_territory", ["territory_id", "valid_from"], unique=False
        )

    op.create_table(
        "territory_assignment_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("territory_id", sa.String(length=36), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("condition", sa.JSON(), nullable=False),
        sa.Column("created_at", sfa.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["territory_models.id"],
            name=op.f("fk_territory_assignment_rules_model_id_territory_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_territory_assignment_rules_territory_id_territories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_assignment_rules")),
    )
    with op.batch_alter_table("territory_assignment_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_territory_assignment_rules_model_id"), ["model_id"], unique=False
        )

    op.create_table(
        "territory_manual_assignments",
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("territory_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_territory_manual_assignments_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["territory_models.id"],
            name=op.f("fk_territory_manual_assignments_model_id_territory_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_territory_manual_assignments_territory_id_territories"),
        ),
        sa.PrimaryKeyConstraint(
            "model_id", "account_id", name=op.f("pk_territory_manual_assignments")
        ),
    )
    # plain ALTER TABLE: a batch would recreate the table on SQLite and drop its triggers
    op.add_column("accounts", sa.Column("postal_code", sa.String(length=20), nullable=True))
    op.add_column(
        "accounts",
        sa.Column(
            "exclude_from_realignment", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    op.execute(
        sa.text(
            "INSERT INTO account_territory_history "
            "(account_id, territory_id, valid_from, valid_to, source, recorded_at) "
            "SELECT id, territory_id, :beginning, NULL, 'backfill', CURRENT_TIMESTAMP "
            "FROM accounts"
        ).bindparams(sa.bindparam("beginning", BEGINNING, type_=sa.Date()))
    )
    # orders are credited to the territory that owned the account on their date; until now
    # every account has had one owner, so that is its territory
    op.add_column("orders", sa.Column("credited_territory_id", sa.String(length=36), nullable=True))
    op.create_index(
        op.f("ix_orders_credited_territory_id"), "orders", ["credited_territory_id"], unique=False
    )
    op.execute(
        "UPDATE orders SET credited_territory_id = "
        "(SELECT territory_id FROM accounts WHERE accounts.id = orders.account_id) "
        "WHERE status <> 'draft'"
    )
    dialect = op.get_bind().dialect.name
    for statement in AUDIT_GUARD_STATEMENTS[dialect]:
        op.execute(statement)


def downgrade() -> None:
    for statement in AUDIT_GUARD_REMOVAL[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_index(op.f("ix_orders_credited_territory_id"), table_name="orders")
    with op.batch_alter_table("orders", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("credited_territory_id")
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("exclude_from_realignment")
        batch_op.drop_column("postal_code")

    op.drop_table("territory_manual_assignments")
    with op.batch_alter_table("territory_assignment_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_territory_assignment_rules_model_id"))

    op.drop_table("territory_assignment_rules")
    with op.batch_alter_table("account_territory_history", schema=None) as batch_op:
        batch_op.drop_index("ix_account_territory_history_territory")
        batch_op.drop_index("ix_account_territory_history_account_from")

    op.drop_table("account_territory_history")
    with op.batch_alter_table("territory_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_territory_models_status"))

    op.drop_table("territory_models")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_entity")
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
