"""signing keys and labels

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 01:30:00

Access keys for request signing (AK/SK): verifying an HMAC needs the secret itself, so unlike API
keys it is stored, encrypted with a key derived from the server secret. Labels: a tenant's named,
coloured case labels.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("access_key", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_signing_keys_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_signing_keys_user_id_users")),
        sa.PrimaryKeyConstraint("access_key", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "labels",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_labels_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_labels_tenant_name"),
    )


def downgrade() -> None:
    op.drop_table("labels")
    op.drop_table("signing_keys")
