"""a mail channel's IMAP mailbox

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 00:50:00

The mailbox a channel's mail is fetched from, and where fetching has got to (UIDVALIDITY and the
last UID taken, committed with what was made of each message: core/mail/imap.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("mail_channels") as batch:
        batch.add_column(sa.Column("imap_host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("imap_port", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("imap_security", sa.String(16), nullable=True))
        batch.add_column(sa.Column("imap_user", sa.String(320), nullable=True))
        batch.add_column(sa.Column("imap_password_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("imap_folder", sa.String(255), nullable=False, server_default="INBOX"))
        batch.add_column(sa.Column("imap_after", sa.String(16), nullable=False, server_default="seen"))
        batch.add_column(sa.Column("imap_move_to", sa.String(255), nullable=True))
        batch.add_column(
            sa.Column("imap_interval_seconds", sa.Integer(), nullable=False, server_default="60")
        )
        batch.add_column(sa.Column("imap_uidvalidity", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("imap_last_uid", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("imap_error", sa.String(500), nullable=True))
        batch.add_column(sa.Column("imap_checked_at", Stamp, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_channels") as batch:
        for name in (
            "imap_checked_at",
            "imap_error",
            "imap_last_uid",
            "imap_uidvalidity",
            "imap_interval_seconds",
            "imap_move_to",
            "imap_after",
            "imap_folder",
            "imap_password_sealed",
            "imap_user",
            "imap_security",
            "imap_port",
            "imap_host",
        ):
            batch.drop_column(name)
