"""The log of changes that keeps every process's status mirror current.

Triggers write it (migration 0009); StatusMirror reads it; the worker prunes it. Pruning is safe at
any moment: a mirror further behind than what is kept finds entries missing and reloads in full.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# The newest entries kept: a mirror this far behind catches up entry by entry.
CHANGES_KEPT = 100_000
HIGHEST_CHANGE_SQL = "SELECT seq FROM sqlite_sequence WHERE name = 'ticket_changes'"
PRUNE_SQL = "DELETE FROM ticket_changes WHERE seq <= (SELECT max(seq) FROM ticket_changes) - :kept"


POSTGRES_PRUNE_SQL = "DELETE FROM store_changes WHERE seq <= (SELECT max(seq) FROM store_changes) - :kept"


def prune_ticket_changes(db: Session, kept: int = CHANGES_KEPT) -> int:
    """Drop all but the newest `kept` entries of the change log (SQLite's `ticket_changes`,
    PostgreSQL's `store_changes`: see postgres_mirror.py). Returns how many went."""
    sql = PRUNE_SQL if db.get_bind().dialect.name == "sqlite" else POSTGRES_PRUNE_SQL
    result = db.execute(text(sql), {"kept": kept})
    return int(result.rowcount)  # type: ignore[attr-defined]
