"""webhooks, and an event log order no late commit can fall behind

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 01:40:00

Webhook endpoints, messages, deliveries (one per message and endpoint) and their attempts.

`ticket_events.txid`: on PostgreSQL, ids come from a sequence when a row is inserted, not when its
transaction commits, so a reader that has seen id 11 may later find id 10 committed. Each event
now records its transaction's id; readers (the webhooks' fan-out, the event stream) take events in
(txid, id) order and only those whose transaction is older than every transaction still running
(`pg_snapshot_xmin`), and no event can then appear behind what they have read. SQLite commits one
writer at a time, so ids are already in commit order and txid stays 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Existing rows get 0 (all committed); on PostgreSQL new rows then take their transaction's id.
    op.add_column("ticket_events", sa.Column("txid", sa.BigInteger(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE ticket_events ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint)"
        )
    op.create_index("ix_ticket_events_feed", "ticket_events", ["txid", "id"])
    op.create_table(
        "event_feed_cursors",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False, index=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_until", Stamp, nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(200), nullable=True),
        sa.Column("failing_since", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "webhook_messages",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_index("ix_webhook_messages_tenant_created", "webhook_messages", ["tenant_id", "created_at"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column(
            "message_id",
            sa.String(40),
            sa.ForeignKey("webhook_messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "endpoint_id",
            sa.String(40),
            sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Stamp, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("finished_at", Stamp, nullable=True),
        sa.UniqueConstraint("message_id", "endpoint_id", name="uq_webhook_deliveries_message_endpoint"),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id", "id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column(
            "delivery_id", Id, sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_messages")
    op.drop_table("webhook_endpoints")
    op.drop_table("event_feed_cursors")
    op.drop_index("ix_ticket_events_feed", "ticket_events")
    with op.batch_alter_table("ticket_events") as batch_op:
        batch_op.drop_column("txid")
