"""mail channels and messages

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 00:30:00

A tenant's mail channels (the addresses customers write to) and the messages taken in or sent,
by Message-ID: replies thread to tickets through them, and a message delivered twice is taken
once (core/mail/).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_channels",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("address", sa.String(320), nullable=False, unique=True),
        sa.Column("unknown_senders", sa.String(16), nullable=False),
        sa.Column("acknowledge", sa.Boolean(), nullable=False),
        sa.Column("on_closed", sa.String(16), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_index("ix_mail_channels_tenant_id", "mail_channels", ["tenant_id"])
    op.create_table(
        "mail_messages",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel_id", Id, sa.ForeignKey("mail_channels.id", ondelete="SET NULL"), nullable=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True),
        sa.Column("comment_id", Id, sa.ForeignKey("comments.id", ondelete="SET NULL"), nullable=True),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.UniqueConstraint("tenant_id", "message_id", name="uq_mail_messages_tenant_message_id"),
    )
    op.create_index("ix_mail_messages_sender", "mail_messages", ["tenant_id", "sender", "created_at"])


def downgrade() -> None:
    op.drop_table("mail_messages")
    op.drop_table("mail_channels")
