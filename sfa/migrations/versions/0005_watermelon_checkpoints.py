"""WatermelonDB checkpoints: each device's integer timestamps and the cursors they stand for

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:20:00
"""

import sqlalchemy as sa
from alembic import op

import sfa.columns

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_watermelon_checkpoints",
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("created_at", sfa.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_sync_watermelon_checkpoints_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "device_id", "timestamp", name=op.f("pk_sync_watermelon_checkpoints")
        ),
    )
    with op.batch_alter_table("sync_watermelon_checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_watermelon_checkpoints_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_watermelon_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_watermelon_checkpoints_created_at"))
    op.drop_table("sync_watermelon_checkpoints")
