"""ticket ids are never reused (SQLite)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 20:00:00

SQLite gives a new row the highest id plus one, so deleting the newest ticket freed its id for the
next one, possibly another tenant's: its history and its ETag would have answered for the new
ticket. ticketd allocates ticket ids itself on SQLite (store/bulk.allocate_ids), above the highest
ever allocated, which this table keeps. Seeded above every id any row still refers to.
PostgreSQL's sequences never hand an id out twice and need none of this.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE id_high_water (name VARCHAR(32) PRIMARY KEY, value INTEGER NOT NULL)")
    op.execute(
        "INSERT INTO id_high_water (name, value) SELECT 'tickets', max(coalesce(max_id, 0)) FROM ("
        " SELECT max(id) AS max_id FROM tickets"
        " UNION ALL SELECT max(ticket_id) FROM ticket_events"
        " UNION ALL SELECT max(ticket_id) FROM comments"
        " UNION ALL SELECT max(ticket_id) FROM ticket_changes)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE id_high_water")
