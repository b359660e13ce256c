"""access tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 01:25:00

Opaque bearer tokens issued to programs (OAuth 2.0 client credentials), stored as SHA-256 digests
so any process can verify and any process can revoke them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("face", sa.String(length=32), nullable=False),
        sa.Column("api_key_id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("scope", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_access_tokens_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_access_tokens_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_access_tokens")),
    )
    op.create_index("ix_access_tokens_api_key", "access_tokens", ["api_key_id"])


def downgrade() -> None:
    op.drop_index("ix_access_tokens_api_key", table_name="access_tokens")
    op.drop_table("access_tokens")
