"""Whether anything may have changed in the store since the last look, without asking it.

In WAL mode SQLite publishes each commit, by any connection of any process, in the wal-index
header: the first 48 bytes of the `-shm` file (https://www.sqlite.org/walformat.html; the status
mirror watches the same bytes, see status_mirror.py). A loop that polls the store on the embedded
default (the webhooks' dispatcher, ten times a second) compares them instead, and reads the store
only when they moved, or once `recheck_seconds` have passed whatever they say: what becomes due
with time alone (a retry's hour, an expired lease), or a `-shm` file made anew, is still seen.
Every poll it spares is a thread that does not take the interpreter from the requests being served.

On PostgreSQL, or a SQLite store without a `-shm` file to map, every look goes to the store.
"""

from __future__ import annotations

import mmap
import time
from pathlib import Path

WAL_INDEX_HEADER_BYTES = 48


class CommitSignal:
    def __init__(self, sqlite_path: str | None, recheck_seconds: float) -> None:
        self._path = sqlite_path
        self._recheck_seconds = recheck_seconds
        self._map: mmap.mmap | None = None
        self._seen: bytes | None = None
        self._looked_at = float("-inf")

    def worth_a_look(self) -> bool:
        """True when the store may hold something the last look did not see; the look is then
        taken as made (call this just before reading, so that no commit falls between)."""
        header = self._header()
        now = time.monotonic()
        if header is not None and header == self._seen and now - self._looked_at < self._recheck_seconds:
            return False
        self._seen, self._looked_at = header, now
        return True

    def _header(self) -> bytes | None:
        if self._path is None:
            return None
        if self._map is None:
            try:
                with Path(self._path + "-shm").open("rb") as shm:
                    self._map = mmap.mmap(shm.fileno(), WAL_INDEX_HEADER_BYTES, prot=mmap.PROT_READ)
            except (OSError, ValueError):
                return None  # no wal-index yet (nothing has opened the store): look every time
        return self._map[:WAL_INDEX_HEADER_BYTES]
