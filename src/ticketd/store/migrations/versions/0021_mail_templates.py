"""mail templates and announced statuses

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 01:00:00

A tenant's own wording of mail out (core/mail/templates.py), and which status changes each channel
announces to requesters.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("mail_channels") as batch:
        batch.add_column(sa.Column("announce", sa.JSON(), nullable=False, server_default='["solved"]'))
    op.create_table(
        "mail_templates",
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mail_templates")
    with op.batch_alter_table("mail_channels") as batch:
        batch.drop_column("announce")
