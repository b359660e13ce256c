"""api key lookup index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 01:55:00

Every authenticated request reads its key's row. Through this covering index that is one B-tree
descent instead of two (the primary key's index, then the table).
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_api_keys_verify",
        "api_keys",
        ["id", "tenant_id", "user_id", "secret_digest", "scopes", "expires_at", "revoked_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_api_keys_verify", table_name="api_keys")
