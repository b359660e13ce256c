"""a text index of tickets: SQLite's kept by the worker off the write path, PostgreSQL's trigram GIN

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 05:30:00

A text filter (`q` on the API, the console's queue) matches tickets whose subject or content
contains a string. Without an index that reads every ticket: 4.5 s over a million on SQLite. An
FTS5 table with the trigram tokenizer finds substrings of three characters or more in
milliseconds; its text is the tickets' own (external content: nothing stored twice).

Indexing a ticket costs about 27 µs in a batch and five times that a row from a trigger, which
would make an import several times slower. So new tickets are indexed by the worker in batches
(store/text_index.py), and a search reads the index for the tickets it covers
(`ticket_text_progress.indexed_through`) and the few newer ones row by row. A change of subject
or content, or a delete, of an indexed ticket is applied by trigger at once (one row, once).

PostgreSQL: GIN trigram indexes (pg_trgm) on subject and content, which ILIKE '%...%' uses by
itself; GIN's pending list batches their upkeep as the worker does SQLite's. Where the extension
is not available they are left out, and searches read the table as before.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

INDEXED = "(SELECT indexed_through FROM ticket_text_progress)"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        available = bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if available.scalar() is not None:
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            op.execute("CREATE INDEX ix_tickets_subject_trgm ON tickets USING gin (subject gin_trgm_ops)")
            op.execute("CREATE INDEX ix_tickets_content_trgm ON tickets USING gin (content gin_trgm_ops)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE tickets_text USING fts5(subject, content,"
        " content='tickets', content_rowid='id', tokenize='trigram')"
    )
    op.execute("CREATE TABLE ticket_text_progress (indexed_through INTEGER NOT NULL)")
    op.execute("INSERT INTO ticket_text_progress (indexed_through) VALUES (0)")
    op.execute(
        "CREATE TRIGGER tickets_text_update AFTER UPDATE OF subject, content ON tickets"
        f" WHEN old.id <= {INDEXED} BEGIN"
        " INSERT INTO tickets_text (tickets_text, rowid, subject, content)"
        " VALUES ('delete', old.id, old.subject, old.content);"
        " INSERT INTO tickets_text (rowid, subject, content) VALUES (new.id, new.subject, new.content);"
        " END"
    )
    op.execute(
        f"CREATE TRIGGER tickets_text_delete AFTER DELETE ON tickets WHEN old.id <= {INDEXED} BEGIN"
        " INSERT INTO tickets_text (tickets_text, rowid, subject, content)"
        " VALUES ('delete', old.id, old.subject, old.content);"
        " END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_tickets_subject_trgm")
        op.execute("DROP INDEX IF EXISTS ix_tickets_content_trgm")
        return
    for trigger in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS tickets_text_{trigger}")
    op.execute("DROP TABLE IF EXISTS ticket_text_progress")
    op.execute("DROP TABLE IF EXISTS tickets_text")
