"""public status pages

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 02:40:00

A tenant's status page (published or not), its components, and its incidents and scheduled
maintenances with their dated updates (core/status_page.py; faces/status/).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "status_pages",
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )
    op.create_table(
        "status_components",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )
    op.create_table(
        "status_incidents",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("impact", sa.String(16), nullable=False),
        sa.Column("component_ids", sa.JSON(), nullable=False),
        sa.Column("scheduled_for", Stamp, nullable=True),
        sa.Column("scheduled_until", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("started_at", Stamp, nullable=True),
        sa.Column("monitoring_at", Stamp, nullable=True),
        sa.Column("resolved_at", Stamp, nullable=True),
    )
    op.create_index("ix_status_incidents_tenant_created", "status_incidents", ["tenant_id", "created_at"])
    op.create_table(
        "status_incident_updates",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column(
            "incident_id",
            sa.String(24),
            sa.ForeignKey("status_incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("affected_components", sa.JSON(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_index(
        "ix_status_incident_updates_incident", "status_incident_updates", ["incident_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("status_incident_updates")
    op.drop_table("status_incidents")
    op.drop_table("status_components")
    op.drop_table("status_pages")
