"""Point reads on the hot path, straight on the database driver.

Status lookups are polled hard. Through the ORM a primary-key read costs tens of microseconds;
on the driver with a cached statement it costs a few. Each thread keeps its own connection in
autocommit mode, so every read sees the latest committed row and holds no transaction open.
On PostgreSQL these reads block the event loop for one round trip; scale out with processes.

On SQLite the tickets' status fields come from the process's StatusMirror instead, and a
credential's row read since the last commit anywhere is not read again (see status_mirror.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any, NoReturn

from ticketd.settings import Settings
from ticketd.store.engine import configure_sqlite_connection, libpq_arguments
from ticketd.store.status_mirror import MirrorOff, StatusMirror
from ticketd.store.tables import from_epoch_micros

KEY_COLUMNS = (
    "k.tenant_id, k.user_id, k.secret_digest, k.scopes, k.expires_at, k.revoked_at, u.role, u.disabled"
)
USER_COLUMNS = "u.tenant_id, u.role, u.disabled, u.credential_version"
TICKET_COLUMNS = "t.tenant_id, t.requester_id, t.status, t.version, t.updated_at"
API_KEY_SQL = (
    f"SELECT {KEY_COLUMNS} FROM api_keys k{{key_hint}} JOIN users u ON u.id = k.user_id WHERE k.id = {{p}}"
)
USER_SQL = f"SELECT {USER_COLUMNS} FROM users u WHERE u.id = {{p}}"
OPERATION_SQL = "SELECT tenant_id, status, created_at, created_by FROM operations WHERE id = {p}"
OPERATION_CHILDREN_SQL = "SELECT id, status FROM operations WHERE parent_id = {p} ORDER BY id"
SIGNING_KEY_SQL = (
    "SELECT s.tenant_id, s.user_id, s.secret_sealed, s.revoked_at, u.role, u.disabled, u.tenant_id"
    " FROM signing_keys s JOIN users u ON u.id = s.user_id WHERE s.access_key = {p}"
)
# The hot path's one statement: the credential and the ticket together, one round trip instead of two.
KEY_AND_TICKET_SQL = (
    f"SELECT {KEY_COLUMNS}, {TICKET_COLUMNS} FROM api_keys k{{key_hint}} JOIN users u ON u.id = k.user_id"
    " LEFT JOIN tickets t{hint} ON t.id = {p} WHERE k.id = {p}"
)
USER_AND_TICKET_SQL = (
    f"SELECT {USER_COLUMNS}, {TICKET_COLUMNS} FROM users u"
    " LEFT JOIN tickets t{hint} ON t.id = {p} WHERE u.id = {p}"
)
# SQLite always prefers the rowid for `id = ?`; the narrow covering index must be asked for.
# PostgreSQL picks an index-only scan on its own.
SQLITE_HINT = " INDEXED BY ix_tickets_status_lookup"
SQLITE_KEY_HINT = " INDEXED BY ix_api_keys_verify"
# Bounded: cleared when full, so memory stays flat whatever key ids clients send.
CURRENT_ROWS_LIMIT = 10_000


class StoreError(Exception):
    """PostgreSQL's driver failed. (Its errors are wrapped so that nothing on SQLite loads it.)"""


# What a read here raises when the store cannot answer.
STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, StoreError)

TICKET_STATUS_SQL = (
    "SELECT tenant_id, requester_id, status, version, updated_at FROM tickets t{hint} WHERE id = {p}"
)


class FastReader:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._local = threading.local()
        self._sqlite = settings.is_sqlite
        placeholder = "?" if self._sqlite else "%s"
        hint = SQLITE_HINT if self._sqlite else ""
        key_hint = SQLITE_KEY_HINT if self._sqlite else ""
        self._api_key_sql = API_KEY_SQL.format(p=placeholder, key_hint=key_hint)
        self._user_sql = USER_SQL.format(p=placeholder)
        self._signing_key_sql = SIGNING_KEY_SQL.format(p=placeholder)
        self._operation_sql = OPERATION_SQL.format(p=placeholder)
        self._children_sql = OPERATION_CHILDREN_SQL.format(p=placeholder)
        self._ticket_sql = TICKET_STATUS_SQL.format(p=placeholder, hint=hint)
        self._key_and_ticket_sql = KEY_AND_TICKET_SQL.format(p=placeholder, hint=hint, key_hint=key_hint)
        self._user_and_ticket_sql = USER_AND_TICKET_SQL.format(p=placeholder, hint=hint)
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._driver_errors: tuple[type[Exception], ...] = ()
        self._mirror: StatusMirror | None = None
        if self._sqlite and settings.status_mirror_mb > 0:
            self._mirror = StatusMirror(self._sqlite_path(), settings.status_mirror_mb * 1_048_576)
        # Credential rows by (statement, parameter): the mirror's generation they were read in, the row.
        self._current_rows: dict[tuple[str, object], tuple[int, tuple[Any, ...] | None]] = {}

    def _sqlite_path(self) -> str:
        return self._settings.resolved_database_url.removeprefix("sqlite:///")

    def warm(self) -> None:
        """Load the status mirror now (at server start) rather than on the first lookup."""
        if self._mirror is not None:
            self._mirror.warm()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _connect(self) -> Any:
        if self._sqlite:
            connection = sqlite3.connect(
                self._sqlite_path(), isolation_level=None, check_same_thread=False, timeout=30
            )
            configure_sqlite_connection(connection)
            # Credential rows, and the status lookup index when the mirror is off (about 46 MB a
            # million tickets). Pages are allocated as they are read, so a small store costs only
            # what it holds.
            connection.execute(f"PRAGMA cache_size=-{self._settings.hot_cache_mb * 1024}")
            return connection
        import psycopg  # only for PostgreSQL: a process on SQLite never loads it

        self._driver_errors = (psycopg.Error,)
        try:
            return psycopg.connect(**libpq_arguments(self._settings), autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(str(exc)) from exc

    def _one(self, sql: str, *params: object) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self._connection().execute(sql, params).fetchone()
            return row
        except (*STORE_ERRORS, *self._driver_errors) as exc:
            self._failed(exc)

    def _mirrored(self, ticket_id: int) -> tuple[int, tuple[Any, ...]] | None:
        """The mirror's generation and the ticket's row, or None where the mirror does not serve."""
        mirror = self._mirror
        if mirror is None:
            return None
        try:
            return mirror.lookup(ticket_id)
        except MirrorOff:
            self._mirror = None
            return None

    def _current(self, sql: str, parameter: object, generation: int) -> tuple[Any, ...] | None:
        """One row by one parameter, read again only when something has committed since."""
        key = (sql, parameter)
        known = self._current_rows.get(key)
        if known is not None and known[0] == generation:
            return known[1]
        row = self._one(sql, parameter)
        if len(self._current_rows) >= CURRENT_ROWS_LIMIT:
            self._current_rows.clear()
        self._current_rows[key] = (generation, row)
        return row

    def api_key(self, key_id: str) -> tuple[Any, ...] | None:
        return self._one(self._api_key_sql, key_id)

    def user(self, user_id: int) -> tuple[Any, ...] | None:
        return self._one(self._user_sql, user_id)

    def ticket_status(self, ticket_id: int) -> tuple[Any, ...] | None:
        mirrored = self._mirrored(ticket_id)
        if mirrored is None:
            return self._one(self._ticket_sql, ticket_id)
        row = mirrored[1]
        return None if row[0] is None else row

    def operation(self, operation_id: int) -> tuple[Any, ...] | None:
        return self._one(self._operation_sql, operation_id)

    def operation_children(self, operation_id: int) -> list[tuple[Any, ...]]:
        try:
            rows: list[tuple[Any, ...]] = (
                self._connection().execute(self._children_sql, (operation_id,)).fetchall()
            )
            return rows
        except (*STORE_ERRORS, *self._driver_errors) as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> NoReturn:
        # A broken connection is dropped so the next read opens a fresh one.
        self._local.connection = None
        if isinstance(exc, STORE_ERRORS):
            raise exc
        raise StoreError(str(exc)) from exc

    def signing_key(self, access_key: str) -> tuple[Any, ...] | None:
        return self._one(self._signing_key_sql, access_key)

    def key_and_ticket(self, key_id: str, ticket_id: int) -> tuple[Any, ...] | None:
        """The key's 8 columns (as `api_key`) then the ticket's 5 (as `ticket_status`, all None if absent)."""
        return self._with_ticket(self._key_and_ticket_sql, self._api_key_sql, key_id, ticket_id)

    def user_and_ticket(self, user_id: int, ticket_id: int) -> tuple[Any, ...] | None:
        """The user's 4 columns (as `user`) then the ticket's 5 (as `ticket_status`, all None if absent)."""
        return self._with_ticket(self._user_and_ticket_sql, self._user_sql, user_id, ticket_id)

    def _with_ticket(
        self, joined_sql: str, credential_sql: str, credential: object, ticket_id: int
    ) -> tuple[Any, ...] | None:
        """A credential's row and a ticket's: one joined statement, or the mirror and a current row."""
        mirrored = self._mirrored(ticket_id)
        if mirrored is None:
            return self._one(joined_sql, ticket_id, credential)
        generation, ticket = mirrored
        row = self._current(credential_sql, credential, generation)
        return None if row is None else row + ticket

    def close(self) -> None:
        if self._mirror is not None:
            self._mirror.close()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(*STORE_ERRORS):
                    connection.close()
            self._connections.clear()
        self._local = threading.local()


def to_datetime(value: Any) -> datetime | None:
    """Driver values for timestamps: SQLite hands back epoch microseconds, psycopg an aware datetime."""
    if value is None:
        return None
    if isinstance(value, int):
        return from_epoch_micros(value)
    stamp: datetime = value
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
