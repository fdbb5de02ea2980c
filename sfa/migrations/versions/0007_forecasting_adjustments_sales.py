"""forecasting: managers' adjustments, monthly sales, snapshots, each order's credited month

Orders get the month they are credited to (their local date's; backfilled from placed_at in
the default time zone), and the monthly sales table is built from the orders already there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:19:00.553106
"""

from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import sfa.columns
from sfa.clock import DEFAULT_TIMEZONE

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_months",
        sa.Column("territory_id", sa.String(length=36), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("product_line", sa.String(length=64), nullable=False),
        sa.Column("booked_amount", sfa.columns.Amount(precision=20, scale=4), nullable=False),
        sa.Column("invoiced_amount", sfa.columns.Amount(precision=20, scale=4), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "territory_id", "period", "product_line", name=op.f("pk_sales_months")
        ),
    )
    op.create_table(
        "forecast_adjustments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("territory_id", sa.String(length=36), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("product_line", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("amount", sfa.columns.Amount(precision=20, scale=4), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sfa.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reset_at", sfa.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reset_by", sa.String(length=36), nullable=True),
        sa.Column("reset_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_forecast_adjustments_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["reset_by"], ["users.id"], name=op.f("fk_forecast_adjustments_reset_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_forecast_adjustments_territory_id_territories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_adjustments")),
    )
    with op.batch_alter_table("forecast_adjustments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_forecast_adjustments_key", ["territory_id", "period", "product_line"], unique=False
        )

    op.create_table(
        "forecast_snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("taken_at", sfa.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("taken_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_snapshots")),
    )
    with op.batch_alter_table("forecast_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forecast_snapshots_taken_at"), ["taken_at"])
        batch_op.create_index(batch_op.f("ix_forecast_snapshots_week"), ["week"])
    op.create_table(
        "forecast_snapshot_rows",
        sa.Column("snapshot_id", sa.String(length=36), nullable=False),
        sa.Column("territory_id", sa.String(length=36), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("product_line", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("forecast", sfa.columns.Amount(precision=20, scale=4), nullable=False),
        sa.Column("adjusted", sfa.columns.Amount(precision=20, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["forecast_snapshots.id"],
            name=op.f("fk_forecast_snapshot_rows_snapshot_id_forecast_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "snapshot_id", "territory_id", "period", "product_line", "category",
            name=op.f("pk_forecast_snapshot_rows"),
        ),
    )  # fmt: skip
    # plain ALTER TABLE: a batch would recreate the table on SQLite and drop its triggers
    op.add_column("orders", sa.Column("credited_period", sa.String(length=7), nullable=True))
    _backfill_credited_periods()
    _build_sales()


def _backfill_credited_periods() -> None:
    connection = op.get_bind()
    zone = ZoneInfo(DEFAULT_TIMEZONE)
    rows = connection.execute(
        sa.text(
            "SELECT id, placed_at, submitted_at FROM orders WHERE credited_territory_id IS NOT NULL"
        )
    ).all()
    updates = []
    for order_id, placed, submitted in rows:
        moment = placed or submitted
        if moment is None:
            continue
        if isinstance(moment, str):  # SQLite hands back text
            moment = sa.DateTime().result_processor(connection.dialect, None)(moment)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        updates.append({"id": order_id, "period": f"{moment.astimezone(zone):%Y-%m}"})
    if updates:
        connection.execute(
            sa.text("UPDATE orders SET credited_period = :period WHERE id = :id"), updates
        )


def _build_sales() -> None:
    """The monthly sales of the orders already there (the code of this revision's time)."""
    from sfa.forecasts import sales

    session = Session(bind=op.get_bind())
    sales.refresh(session)
    session.flush()


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("credited_period")

    with op.batch_alter_table("forecast_adjustments", schema=None) as batch_op:
        batch_op.drop_index("ix_forecast_adjustments_key")

    op.drop_table("forecast_snapshot_rows")
    with op.batch_alter_table("forecast_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecast_snapshots_week"))
        batch_op.drop_index(batch_op.f("ix_forecast_snapshots_taken_at"))
    op.drop_table("forecast_snapshots")
    op.drop_table("forecast_adjustments")
    op.drop_table("sales_months")
