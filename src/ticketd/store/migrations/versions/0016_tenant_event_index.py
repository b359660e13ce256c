"""the event log by tenant

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 20:40:00

An event stream's replay (`Last-Event-ID`) reads one tenant's events after a position, in feed
order, and finds where its bounded window begins: both seek this index instead of reading every
tenant's events (core/event_feed.py).
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ticket_events_tenant_feed", "ticket_events", ["tenant_id", "txid", "id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_events_tenant_feed", table_name="ticket_events")
