"""attachments

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 23:50:00

Files on tickets and comments (core/attachments.py). The bytes are blobs, one per tenant and
SHA-256, kept in parts of a megabyte so they stream in and out; an attachment names its blob.
A tenant may have its own storage quota for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("attachment_quota_bytes", sa.BigInteger(), nullable=True))
    op.create_table(
        "attachment_blobs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.UniqueConstraint("tenant_id", "sha256", name="uq_attachment_blobs_tenant_sha256"),
    )
    op.create_table(
        "attachment_parts",
        sa.Column("blob_id", Id, sa.ForeignKey("attachment_blobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "attachments",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=True),
        sa.Column("comment_id", Id, sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=True),
        sa.Column("blob_id", Id, sa.ForeignKey("attachment_blobs.id"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("created_by", Id, sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_attachments_ticket", "attachments", ["ticket_id", "id"])
    op.create_index("ix_attachments_tenant_blob", "attachments", ["tenant_id", "blob_id"])
    op.create_index("ix_attachments_unclaimed", "attachments", ["ticket_id", "created_at"])


def downgrade() -> None:
    op.drop_table("attachments")
    op.drop_table("attachment_parts")
    op.drop_table("attachment_blobs")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("attachment_quota_bytes")
