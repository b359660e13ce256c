"""Every ticket's status fields in one compact array, kept current from SQLite's own commit signal.

Status lookups are polled hard, by random id; here a lookup reads one record of StatusRecords
(status_records.py) instead of running a statement.

Staying current without a statement on every request:

- SQLite's `PRAGMA data_version` moves with every commit of another connection, of this process or
  another (store/commit_signal.py). The mirror asks it at most once a millisecond, and this
  process's own commits nudge it at once (the engine's commit event, see FastReader.follow), so a
  commit of this process is seen by the next lookup and one of another process within a
  millisecond (asking on every lookup would cost 1.5 µs of a lookup's 50).
- Triggers (migration 0009) append the id of every ticket updated or deleted to `ticket_changes`,
  whatever wrote it. When the store has moved, the mirror reads, in one snapshot, the tickets of
  the entries after the last one it applied and the tickets above the highest id it holds (ids
  are allocated above the highest, so that is every new one; when the highest is deleted its id
  can come again, which is why the highest is read afresh each time).
- The worker prunes the log (store/ticket_changes.py). A mirror that finds entries it never
  applied gone reloads in full. Once a second it reads the log whatever the signal says, so
  nothing could stay stale for longer.

`generation` changes with every such read: FastReader keeps credential rows read in the same
generation instead of reading them again (no commit since means no change).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from typing import NoReturn

from ticketd.store.commit_signal import CommitSignal
from ticketd.store.engine import configure_sqlite_connection
from ticketd.store.errors import MirrorOff
from ticketd.store.rows import TicketStatusRow
from ticketd.store.status_records import StatusRecords, TooLarge
from ticketd.store.ticket_changes import HIGHEST_CHANGE_SQL

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0
# How often another process's commits are looked for (this process's are seen at once).
CHECK_EVERY_SECONDS = 0.001
FETCH_ROWS = 10_000
# Further behind than this, one pass over the index is cheaper than applying the entries.
RELOAD_BEYOND = 200_000

ALL_SQL = (
    "SELECT id, tenant_id, requester_id, status, version, updated_at"
    " FROM tickets INDEXED BY ix_tickets_status_lookup"
)
CHANGED_SQL = (
    "SELECT c.seq, c.ticket_id, t.tenant_id, t.requester_id, t.status, t.version, t.updated_at"
    " FROM ticket_changes c LEFT JOIN tickets t ON t.id = c.ticket_id WHERE c.seq > ? ORDER BY c.seq"
)
NEW_SQL = ALL_SQL + " WHERE id > ?"
HIGHEST_ID_SQL = "SELECT max(id) FROM tickets"


class StatusMirror:
    def __init__(self, path: str, max_bytes: int, check_every_seconds: float = CHECK_EVERY_SECONDS) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._commits = CommitSignal(path, RECHECK_SECONDS, check_every_seconds)
        self._records = StatusRecords(0)
        self._loaded = False
        self._applied = 0
        self._highest_id = 0
        self.generation = 0
        self.off = max_bytes <= 0

    def lookup(self, ticket_id: int) -> tuple[int, TicketStatusRow | None]:
        """The generation and the ticket's status fields as the SQL lookup reads them, or None if
        there is no such ticket. Raises MirrorOff."""
        with self._lock:
            if self.off:
                raise MirrorOff
            if self._connection is None:
                self._start()
            elif self._commits.changed():
                self._catch_up()
            return self.generation, self._records.get(ticket_id)

    def committed(self) -> None:
        """This process committed: the next lookup catches up without waiting. (Any thread.)"""
        self._commits.nudge()

    def warm(self) -> None:
        """Load now rather than on the first lookup (server start-up)."""
        with contextlib.suppress(MirrorOff):
            self.lookup(0)

    def close(self) -> None:
        with self._lock:
            self._drop()
            self.off = True

    # Everything below runs under the lock.

    def _start(self) -> None:
        try:
            self._connection = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=30
            )
            configure_sqlite_connection(self._connection)
            self._connection.execute(HIGHEST_CHANGE_SQL).fetchone()  # a store with the change log
        except (OSError, ValueError, sqlite3.Error) as exc:
            self._turn_off(f"cannot read the store ({exc})")  # closes the connection too
        self._commits.changed()  # the look the load below makes
        self._catch_up()  # not loaded yet: loads

    def _catch_up(self) -> None:
        connection = self._connection
        assert connection is not None
        try:
            self._read_changes(connection)
        except BaseException:
            self._commits.nudge()  # a failed read is made again on the next lookup
            raise
        self.generation += 1

    def _read_changes(self, connection: sqlite3.Connection) -> None:
        connection.execute("BEGIN")  # one snapshot for the statements below
        try:
            highest = self._highest(connection)
            behind = highest - self._applied
            if not self._loaded or behind > RELOAD_BEYOND:
                self._load(connection, highest)
            else:
                changes = connection.execute(CHANGED_SQL, (self._applied,)).fetchall() if behind else []
                if len(changes) != behind:
                    # Entries this mirror never applied were pruned: start afresh.
                    self._load(connection, highest)
                else:
                    for change in changes:
                        self._put(change[1], change[2:])
                    self._applied = highest
                    self._put_rows(connection.execute(NEW_SQL, (self._highest_id,)))
                    self._highest_id = self._highest_ticket_id(connection)
        finally:
            if not self.off:
                connection.execute("COMMIT")

    def _load(self, connection: sqlite3.Connection, highest: int) -> None:
        started = time.perf_counter()
        highest_id = self._highest_ticket_id(connection)
        # Until the pass ends the copy is incomplete; a pass that fails is made again.
        self._loaded = False
        self._records = StatusRecords(0)  # the old copy goes before the new one is built
        try:
            self._records = StatusRecords(self._max_bytes, highest_id)
        except TooLarge as exc:
            self._turn_off(str(exc))
        self._put_rows(connection.execute(ALL_SQL))
        self._applied, self._highest_id, self._loaded = highest, highest_id, True
        log.info("status mirror: %d ticket ids loaded in %.2f s", highest_id, time.perf_counter() - started)

    def _put_rows(self, cursor: sqlite3.Cursor) -> None:
        while rows := cursor.fetchmany(FETCH_ROWS):
            for row in rows:
                self._put(row[0], row[1:])

    @staticmethod
    def _highest_ticket_id(connection: sqlite3.Connection) -> int:
        return int(connection.execute(HIGHEST_ID_SQL).fetchone()[0] or 0)

    def _put(self, ticket_id: int, row: tuple[object, ...]) -> None:
        try:
            self._records.put(ticket_id, row)
        except TooLarge as exc:
            self._turn_off(str(exc))

    @staticmethod
    def _highest(connection: sqlite3.Connection) -> int:
        row = connection.execute(HIGHEST_CHANGE_SQL).fetchone()
        return int(row[0]) if row else 0

    def _turn_off(self, reason: str) -> NoReturn:
        log.warning("status mirror off, lookups read the store: %s", reason)
        self._drop()
        self.off = True
        raise MirrorOff(reason)

    def _drop(self) -> None:
        # Only SQLite's own connections to close: SQLite keeps this process's locks on the store's
        # files however its connections come and go.
        self._commits.close()
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
        self._connection = None
        self._records = StatusRecords(0)
