"""The log of changed ticket ids that keeps every process's status mirror current (SQLite only).

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


def prune_ticket_changes(db: Session, kept: int = CHANGES_KEPT) -> int:
    """Drop all but the newest `kept` entries. Returns how many went; 0 on stores without the log."""
    if db.get_bind().dialect.name != "sqlite":
        return 0
    result = db.execute(text(PRUNE_SQL), {"kept": kept})
    return int(result.rowcount)  # type: ignore[attr-defined]
