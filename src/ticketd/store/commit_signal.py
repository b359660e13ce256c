"""Whether anything may have changed in the store since the last look, for loops that poll it.

SQLite's `PRAGMA data_version` answers a different number once any other connection, of this
process or another, has committed (https://www.sqlite.org/pragma.html#pragma_data_version). A loop
that polls the store on the embedded default (the webhooks' dispatcher, ten times a second) asks
it on a connection of its own, a few microseconds, and reads the store only when it moved, or once
`recheck_seconds` have passed whatever it says, for what becomes due with time alone (a retry's
hour, an expired lease). Every poll it spares is a thread that does not take the interpreter from
the requests being served.

(Not the wal-index header that the status mirror maps: a second open file on the `-shm` file is a
second file descriptor whose close would drop this process's SQLite locks on it; see
status_mirror.py.)

On PostgreSQL, or before the SQLite file exists, every look goes to the store.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


class CommitSignal:
    def __init__(self, sqlite_path: str | None, recheck_seconds: float) -> None:
        self._path = sqlite_path
        self._recheck_seconds = recheck_seconds
        self._connection: sqlite3.Connection | None = None
        self._seen: int | None = None
        self._looked_at = float("-inf")

    def worth_a_look(self) -> bool:
        """True when the store may hold something the last look did not see; the look is then
        taken as made (call this just before reading, so that no commit falls between)."""
        version = self._data_version()
        now = time.monotonic()
        if version is not None and version == self._seen and now - self._looked_at < self._recheck_seconds:
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
