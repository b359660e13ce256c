"""store changes log with notifications (PostgreSQL)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 23:00:00

On PostgreSQL every server process keeps the tickets' status fields and the credentials' rows in
memory (store/postgres_mirror.py), so no status lookup waits on a database round trip. These
triggers append what changed to `store_changes`, whoever wrote it (the API, a worker, the CLI, a
process on another host), and notify the channel `ticketd_changes` when the transaction commits, so
every process reads the entries after the last it applied within milliseconds.

Tickets: statement-level triggers with transition tables, one set-based insert a statement, so a
bulk import of 10,000 rows writes its entries in one go rather than firing 10,000 times. The
credentials (users, API keys, AK/SK pairs) change seldom: a trigger a row.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NOTIFY = "PERFORM pg_notify('ticketd_changes', '');"
# entity: t ticket (row_id), u user (row_id), k API key (row_key), s AK/SK pair (row_key)
CREDENTIALS = (
    ("users", "u", "id", "row_id"),
    ("api_keys", "k", "id", "row_key"),
    ("signing_keys", "s", "access_key", "row_key"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE store_changes (seq BIGSERIAL PRIMARY KEY, entity CHAR(1) NOT NULL,"
        " row_id BIGINT, row_key TEXT)"
    )
    for event, table in (("insert", "new_rows"), ("update", "new_rows"), ("delete", "old_rows")):
        op.execute(
            f"CREATE FUNCTION store_changes_tickets_{event}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN INSERT INTO store_changes (entity, row_id) SELECT 't', id FROM {table};"
            f" {NOTIFY} RETURN NULL; END $$"
        )
        transition = "NEW TABLE AS new_rows" if table == "new_rows" else "OLD TABLE AS old_rows"
        op.execute(
            f"CREATE TRIGGER store_changes_tickets_{event} AFTER {event.upper()} ON tickets"
            f" REFERENCING {transition} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION store_changes_tickets_{event}()"
        )
    for table, entity, key, column in CREDENTIALS:
        op.execute(
            f"CREATE FUNCTION store_changes_{table}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN INSERT INTO store_changes (entity, {column})"
            f" VALUES ('{entity}', CASE WHEN TG_OP = 'DELETE' THEN OLD.{key} ELSE NEW.{key} END);"
            f" {NOTIFY} RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER store_changes_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION store_changes_{table}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER store_changes_tickets_{event} ON tickets")
        op.execute(f"DROP FUNCTION store_changes_tickets_{event}()")
    for table, *_ in CREDENTIALS:
        op.execute(f"DROP TRIGGER store_changes_{table} ON {table}")
        op.execute(f"DROP FUNCTION store_changes_{table}()")
    op.execute("DROP TABLE store_changes")
