"""tenant limits

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:00:00

Each tenant's own rate limits and quota per API face. In the store, so every process and host
applies the same ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tenant_limits",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("face", sa.String(length=32), nullable=False),
        sa.Column("credential_limit", sa.String(length=64), nullable=True),
        sa.Column("ip_limit", sa.String(length=64), nullable=True),
        sa.Column("service_hours", sa.String(length=16), nullable=True),
        sa.Column("daily_allowance", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_limits_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "face", name=op.f("pk_tenant_limits")),
    )


def downgrade() -> None:
    op.drop_table("tenant_limits")
