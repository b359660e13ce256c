"""ticket changes log (SQLite)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 14:00:00

On the embedded store every process keeps its tickets' status fields in memory (see
store/status_mirror.py). These triggers append the id of every ticket updated or deleted to
`ticket_changes`, whoever writes it (the API, the worker, the CLI, another process), so a process
can bring its copy up to date by reading the entries after the last one it applied. New tickets
need no entry: their ids are above every id the copy holds (a trigger per insert halved the
speed of bulk loads). AUTOINCREMENT: sequence numbers are never reused, so a reader can tell
pruned entries from none.
PostgreSQL serves lookups from its own index and needs none of this.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STATUS_COLUMNS = "tenant_id, requester_id, status, version, updated_at"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE ticket_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id INTEGER NOT NULL)"
    )
    op.execute(
        f"CREATE TRIGGER ticket_changes_on_update AFTER UPDATE OF {STATUS_COLUMNS} ON tickets"
        " BEGIN INSERT INTO ticket_changes (ticket_id) VALUES (new.id); END"
    )
    op.execute(
        "CREATE TRIGGER ticket_changes_on_delete AFTER DELETE ON tickets"
        " BEGIN INSERT INTO ticket_changes (ticket_id) VALUES (old.id); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for event in ("update", "delete"):
        op.execute(f"DROP TRIGGER ticket_changes_on_{event}")
    op.execute("DROP TABLE ticket_changes")
