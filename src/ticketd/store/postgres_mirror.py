"""On PostgreSQL: the tickets' status fields and every credential's row in this process's memory, kept
current from the change log, so no status lookup waits on a database round trip on the event loop.

What is held: every ticket's status record (status_records.py, 24 bytes a ticket), every API key
with its user's role and state, every user's token state, every AK/SK pair. What keeps it current:

- Triggers (migration 0011) append each changed row's key to `store_changes` and notify the
  channel `ticketd_changes` when the transaction commits, whichever process on whichever host
  wrote it. A thread of this process LISTENs on its own connection and, on each notification (and
  at least once a second), reads the entries after the last it applied and reads those rows again.
- A commit made by this process brings its mirrors up to date before the commit returns (a hook
  on every session: `_catch_up_live`), so a client that changes something and reads it back
  through the same process sees its change, and a key revoked here is refused here at once.
- Sequence numbers are handed out when a row is written, not when its transaction commits, so an
  entry can appear after a later one has been read. The numbers skipped are remembered for a
  minute and asked for again (a rolled-back transaction leaves them empty for good).
- A mirror that cannot confirm it is current for `STALE_SECONDS` (the database or the network to
  it is down) refuses to answer: StoreError, which every face answers as 503. Serving on would let
  a key revoked on another host keep working here.

Lookups take no lock: records are written whole under the GIL, and dictionaries are replaced or
updated one entry at a time. Catching up is serialised by a lock between the listening thread and
the threads that commit.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import weakref
from typing import Any

from ticketd.settings import Settings
from ticketd.store.engine import after_every_write_commit, libpq_arguments
from ticketd.store.errors import MirrorOff, StoreError
from ticketd.store.rows import KeyRow, SigningKeyRow, TicketStatusRow, UserRow
from ticketd.store.status_records import StatusRecords, TooLarge
from ticketd.telemetry.metrics import MIRROR_LAG, MIRROR_RELOADS

log = logging.getLogger(__name__)

CHANNEL = "ticketd_changes"
RECHECK_SECONDS = 1.0
STALE_SECONDS = 5.0
GAP_SECONDS = 60.0
GAPS_KEPT = 10_000
# Further behind than this, loading everything again is cheaper than applying the entries.
RELOAD_BEYOND = 200_000
FETCH_ROWS = 10_000

TICKET_SQL = "SELECT id, tenant_id, requester_id, status, version, updated_at FROM tickets"
KEY_SQL = (
    "SELECT k.id, k.tenant_id, k.user_id, k.secret_digest, k.scopes, k.expires_at, k.revoked_at,"
    " u.role, u.disabled FROM api_keys k JOIN users u ON u.id = k.user_id"
)
USER_SQL = "SELECT u.id, u.tenant_id, u.role, u.disabled, u.credential_version FROM users u"
SIGNING_SQL = (
    "SELECT s.access_key, s.tenant_id, s.user_id, s.secret_sealed, s.revoked_at, u.role, u.disabled,"
    " u.tenant_id FROM signing_keys s JOIN users u ON u.id = s.user_id"
)
RECENT_SQL = "SELECT seq FROM store_changes WHERE seq > %s"
CHANGES_SQL = (
    "SELECT seq, entity, row_id, row_key FROM store_changes WHERE seq > %s OR seq = ANY(%s) ORDER BY seq"
)


class MirrorUnavailable(StoreError):
    """The mirror cannot vouch for what it holds (not loaded, or the store unreachable too long):
    answered as the store being away."""


class MirrorTooLarge(Exception):
    """The tickets do not fit TICKETD_STATUS_MIRROR_MB: lookups read the store instead."""


class PostgresMirror:
    def __init__(self, settings: Settings) -> None:
        self._arguments = libpq_arguments(settings)
        self._max_bytes = settings.status_mirror_mb * 1_048_576
        self._records = StatusRecords(0)
        self._keys: dict[str, KeyRow] = {}
        self._users: dict[int, UserRow] = {}
        self._signing: dict[str, SigningKeyRow] = {}
        self._catch_up_lock = threading.Lock()
        self._connection: Any = None
        self._high = 0
        self._gaps: dict[int, float] = {}
        self._loaded = False
        self.too_large = False
        self._started = False
        # When the mirror last knew itself current (monotonic seconds); 0: never.
        self.confirmed_at = 0.0
        self.reloads = 0
        self.last_error = ""
        # Seconds from a commit's notification to its rows applied here, the last measured.
        self.lag_seconds = 0.0
        self._stopping = threading.Event()
        self._listener: threading.Thread | None = None

    # Lookups: on the event loop, memory only.

    def _current(self) -> None:
        if self.too_large:
            raise MirrorOff("the tickets do not fit TICKETD_STATUS_MIRROR_MB")
        if time.monotonic() - self.confirmed_at > STALE_SECONDS:
            if not self._started:
                self.start()  # first use without a warm start (a process that serves no app)
                return self._current()
            raise MirrorUnavailable(self.last_error or "the status mirror is not loaded")

    def ticket(self, ticket_id: int) -> TicketStatusRow | None:
        self._current()
        return self._records.get(ticket_id)

    def api_key(self, key_id: str) -> KeyRow | None:
        self._current()
        return self._keys.get(key_id)

    def user(self, user_id: int) -> UserRow | None:
        self._current()
        return self._users.get(user_id)

    def signing_key(self, access_key: str) -> SigningKeyRow | None:
        self._current()
        return self._signing.get(access_key)

    # Keeping current: the listening thread and committing threads.

    def start(self) -> None:
        """Load everything now and follow the change log from here on (server start-up)."""
        self._started = True
        try:
            self.catch_up()
        except Exception as exc:  # the database may be down at start: the listener keeps trying
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("status mirror: not loaded yet (%s)", self.last_error)
        _follow_this_process(self)
        if self._listener is None and not self.too_large:
            self._listener = threading.Thread(target=self._listen, name="ticketd-mirror", daemon=True)
            self._listener.start()

    def close(self) -> None:
        # The listening thread notices within RECHECK_SECONDS and closes its own connection; it
        # is not waited for (a daemon thread), so closing costs no second.
        self._stopping.set()
        _live.discard(self)
        with self._catch_up_lock:
            self._disconnect()

    def catch_up(self) -> None:
        """Read and apply every change committed so far. Raises the driver's errors."""
        with self._catch_up_lock:
            if self.too_large or self._stopping.is_set():
                return
            started = time.monotonic()
            try:
                connection = self._connected()
                if not self._loaded:
                    self._load(connection)
                else:
                    self._apply_changes(connection)
            except MirrorTooLarge:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                self._disconnect()
                raise
            self.confirmed_at = started
            self.last_error = ""

    def _listen(self) -> None:
        import psycopg

        while not self._stopping.is_set():
            try:
                with psycopg.connect(**self._arguments, autocommit=True) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    self.catch_up()  # whatever committed while nobody listened
                    while not self._stopping.is_set():
                        heard = time.monotonic()
                        notified = False
                        for _ in listener.notifies(timeout=RECHECK_SECONDS, stop_after=1):
                            notified, heard = True, time.monotonic()
                        self.catch_up()
                        if notified:
                            self.lag_seconds = time.monotonic() - heard
                            MIRROR_LAG.set(self.lag_seconds)
            except MirrorTooLarge:
                return
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("status mirror: the store does not answer (%s); trying again", self.last_error)
                self._stopping.wait(RECHECK_SECONDS)

    def _connected(self) -> Any:
        if self._connection is None or self._connection.closed:
            import psycopg  # only processes on PostgreSQL load the driver

            self._connection = psycopg.connect(**self._arguments, autocommit=True)
        return self._connection

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _load(self, connection: Any) -> None:
        started = time.perf_counter()
        with connection.transaction():
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            high = connection.execute("SELECT coalesce(max(seq), 0) FROM store_changes").fetchone()[0]
            highest_id = connection.execute("SELECT coalesce(max(id), 0) FROM tickets").fetchone()[0]
            try:
                records = StatusRecords(self._max_bytes, highest_id)
                with connection.cursor(name="ticketd_mirror_load") as cursor:
                    cursor.itersize = FETCH_ROWS
                    for row in cursor.execute(TICKET_SQL):
                        records.put(row[0], row[1:])
            except TooLarge as exc:
                self.too_large = True
                log.warning("status mirror off, lookups read the store: %s", exc)
                raise MirrorTooLarge(str(exc)) from exc
            # Entries numbered below the highest whose transactions had not committed yet: asked
            # for again like any other gap.
            recent = {row[0] for row in connection.execute(RECENT_SQL, (high - GAPS_KEPT,))}
            keys = {row[0]: KeyRow._make(row[1:]) for row in connection.execute(KEY_SQL)}
            users = {row[0]: UserRow._make(row[1:]) for row in connection.execute(USER_SQL)}
            signing = {row[0]: SigningKeyRow._make(row[1:]) for row in connection.execute(SIGNING_SQL)}
        self._records, self._keys, self._users, self._signing = records, keys, users, signing
        now = time.monotonic()
        gaps = {seq: now for seq in range(max(1, high - GAPS_KEPT + 1), high) if seq not in recent}
        self._high, self._gaps, self._loaded = high, gaps, True
        self.reloads += 1
        MIRROR_RELOADS.inc()
        log.info(
            "status mirror: %d ticket ids, %d keys, %d users loaded in %.2f s",
            highest_id,
            len(keys),
            len(users),
            time.perf_counter() - started,
        )

    def _apply_changes(self, connection: Any) -> None:
        now = time.monotonic()
        gaps = self._gaps
        rows = connection.execute(CHANGES_SQL, (self._high, list(gaps))).fetchall()
        if not rows:
            self._forget_old_gaps(now)
            return
        fresh = [row for row in rows if row[0] > self._high]
        if fresh and fresh[0][0] > self._high + 1 and self._pruned_past(connection):
            # Entries this mirror never read are gone (the log was pruned): start afresh.
            self._load(connection)
            return
        if len(rows) > RELOAD_BEYOND:
            self._load(connection)
            return
        tickets: set[int] = set()
        users: set[int] = set()
        keys: set[str] = set()
        signing: set[str] = set()
        seen = set()
        for seq, entity, row_id, row_key in rows:
            seen.add(seq)
            gaps.pop(seq, None)
            if entity == "t":
                tickets.add(row_id)
            elif entity == "u":
                users.add(row_id)
            elif entity == "k":
                keys.add(row_key)
            elif entity == "s":
                signing.add(row_key)
        if fresh:
            top = fresh[-1][0]
            for seq in range(self._high + 1, top):
                if seq not in seen:
                    gaps[seq] = now
            self._high = top
        self._forget_old_gaps(now)
        self._reread(connection, tickets, users, keys, signing)

    def _reread(
        self, connection: Any, tickets: set[int], users: set[int], keys: set[str], signing: set[str]
    ) -> None:
        if tickets:
            wanted = sorted(tickets)
            found = {
                row[0]: row[1:] for row in connection.execute(f"{TICKET_SQL} WHERE id = ANY(%s)", (wanted,))
            }
            try:
                for ticket_id in wanted:
                    self._records.put(ticket_id, found.get(ticket_id))
            except TooLarge as exc:
                self.too_large = True
                raise MirrorTooLarge(str(exc)) from exc
        if users:
            user_ids = sorted(users)
            found_users = {
                row[0]: UserRow._make(row[1:])
                for row in connection.execute(f"{USER_SQL} WHERE u.id = ANY(%s)", (user_ids,))
            }
            for user_id in user_ids:
                if user_id in found_users:
                    self._users[user_id] = found_users[user_id]
                else:
                    self._users.pop(user_id, None)
            # A key's and an AK/SK's rows carry their user's role and state.
            keys.update(key for key, row in list(self._keys.items()) if row.user_id in users)
            signing.update(key for key, row in list(self._signing.items()) if row.user_id in users)
        if keys:
            self._refresh(connection, self._keys, KeyRow, f"{KEY_SQL} WHERE k.id = ANY(%s)", keys)
        if signing:
            self._refresh(
                connection,
                self._signing,
                SigningKeyRow,
                f"{SIGNING_SQL} WHERE s.access_key = ANY(%s)",
                signing,
            )

    @staticmethod
    def _refresh(connection: Any, held: dict[str, Any], kind: Any, sql: str, wanted: set[str]) -> None:
        names = sorted(wanted)
        found = {row[0]: kind._make(row[1:]) for row in connection.execute(sql, (names,))}
        for name in names:
            if name in found:
                held[name] = found[name]
            else:
                held.pop(name, None)

    def _pruned_past(self, connection: Any) -> bool:
        lowest = connection.execute("SELECT min(seq) FROM store_changes").fetchone()[0]
        return lowest is not None and lowest > self._high + 1

    def _forget_old_gaps(self, now: float) -> None:
        gaps = self._gaps
        if not gaps:
            return
        for seq in [seq for seq, noticed in gaps.items() if now - noticed > GAP_SECONDS]:
            del gaps[seq]
        if len(gaps) > GAPS_KEPT:
            for seq in sorted(gaps)[: len(gaps) - GAPS_KEPT]:
                del gaps[seq]


_live: weakref.WeakSet[PostgresMirror] = weakref.WeakSet()
_following = threading.Lock()


def _follow_this_process(mirror: PostgresMirror) -> None:
    with _following:
        if not _live:
            _hook_commits_once()
        _live.add(mirror)


@functools.cache
def _hook_commits_once() -> None:
    after_every_write_commit(_catch_up_live)


def _catch_up_live() -> None:
    """After a commit of this process: its change is in every mirror here before the commit returns."""
    for mirror in list(_live):
        if mirror.too_large or mirror._stopping.is_set():
            continue
        try:
            mirror.catch_up()
        except Exception:
            # The commit stands; the listening thread brings the mirror up to date.
            log.warning("status mirror: could not catch up after a commit (%s)", mirror.last_error)
