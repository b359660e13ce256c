"""operation parts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 02:10:00

An operation's uploaded input, in the store (not on one host's disk), so a worker on any host can
run it and a worker that takes over after a crash reads the same bytes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "operation_parts",
        sa.Column("operation_id", Id, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name=op.f("fk_operation_parts_operation_id_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operation_id", "seq", name=op.f("pk_operation_parts")),
    )


def downgrade() -> None:
    op.drop_table("operation_parts")
