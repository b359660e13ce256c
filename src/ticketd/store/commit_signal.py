"""Whether anything may have changed in the store since the last look, for what polls it: the status
mirror on every lookup, the webhooks' dispatcher ten times a second.

SQLite's `PRAGMA data_version` answers a different number once any other connection, of this
process or another, has committed (https://www.sqlite.org/pragma.html#pragma_data_version). It is
asked on a connection of the signal's own, in about 1.5 µs. A poller that asks more often than it
needs to (the status lookups, thousands a second) asks SQLite at most once every `check_every`
seconds and is told at once of this process's own commits (`nudge`, from the engine's commit event),
so a commit of another process is seen at most `check_every` later, and one of this process at once.
Whatever the answer, the look is due once `recheck_seconds` have passed since the last, for what
becomes due with time alone (a retry's hour, an expired lease) and as a bound on any miss.

Through SQLite's own interface only: the signal opens no file of the store itself (a second
descriptor of the `-shm` file would drop this process's SQLite locks on it when closed).

On PostgreSQL, or before the SQLite file exists, every look goes to the store.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


class CommitSignal:
    def __init__(
        self, sqlite_path: str | None, recheck_seconds: float, check_every_seconds: float = 0.0
    ) -> None:
        self._path = sqlite_path
        self._recheck_seconds = recheck_seconds
        self._check_every_seconds = check_every_seconds
        self._connection: sqlite3.Connection | None = None
        self._seen: int | None = None
        self._looked_at = float("-inf")
        self._checked_at = float("-inf")
        self._nudged = False

    def nudge(self) -> None:
        """This process committed: the next `changed` says so without asking SQLite. (Any thread.)"""
        self._nudged = True

    def changed(self) -> bool:
        """True when the store may hold something the last look did not see; the look is then
        taken as made (call this just before reading, so that no commit falls between)."""
        now = time.monotonic()
        nudged = self._nudged
        if not nudged and (
            now - self._checked_at < self._check_every_seconds
            and now - self._looked_at < self._recheck_seconds
        ):
            return False
        self._nudged = False
        self._checked_at = now
        version = self._data_version()
        if (
            not nudged
            and version is not None
            and version == self._seen
            and now - self._looked_at < self._recheck_seconds
        ):
            return False
        self._seen, self._looked_at = version, now
        return True

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _data_version(self) -> int | None:
        if self._path is None:
            return None
        try:
            if self._connection is None:
                if not Path(self._path).exists():
                    return None  # nothing to watch yet (and connecting would make the file)
                self._connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            row = self._connection.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            self.close()
            return None  # asked again next time; meanwhile every look goes to the store
        return int(row[0])
