"""console sessions

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 05:10:00

A signed-in console user's session: only a digest of its cookie is stored, with the credential
version it was opened under (a changed password or a disabled user ends it), its expiry, and when
it was ended by signing out (core/console_sessions.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("digest", sa.LargeBinary(32), primary_key=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("credential_version", sa.Integer(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("expires_at", Stamp, nullable=False, index=True),
        sa.Column("ended_at", Stamp, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("console_sessions")
