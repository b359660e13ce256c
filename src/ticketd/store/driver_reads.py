"""Point reads on the database driver, for the hot path and for a status source without a mirror.

Through the ORM a primary-key read costs tens of microseconds; on the driver with a cached
statement it costs a few. Each thread keeps its own connection in autocommit mode, so every read
sees the latest committed row and holds no transaction open.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from typing import Any, NoReturn, TypeVar

from ticketd.settings import Settings
from ticketd.store.engine import configure_sqlite_connection, libpq_arguments
from ticketd.store.errors import STORE_ERRORS, StoreError
from ticketd.store.rows import (
    KEY_FIELDS,
    USER_FIELDS,
    KeyRow,
    OperationRow,
    SigningKeyRow,
    TicketStatusRow,
    UserRow,
)

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
TICKET_STATUS_SQL = (
    "SELECT tenant_id, requester_id, status, version, updated_at FROM tickets t{hint} WHERE id = {p}"
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

Credential = TypeVar("Credential", KeyRow, UserRow)


class DriverReads:
    """Every status source's reads as SQL statements, and the reads only SQL answers (operations)."""

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

    @property
    def sqlite_path(self) -> str:
        return self._settings.resolved_database_url.removeprefix("sqlite:///")

    def connection(self) -> Any:
        """This thread's connection, opened on first use."""
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
                self.sqlite_path, isolation_level=None, check_same_thread=False, timeout=30
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
            row: tuple[Any, ...] | None = self.connection().execute(sql, params).fetchone()
            return row
        except (*STORE_ERRORS, *self._driver_errors) as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> NoReturn:
        # A broken connection is dropped so the next read opens a fresh one.
        self._local.connection = None
        if isinstance(exc, STORE_ERRORS):
            raise exc
        raise StoreError(str(exc)) from exc

    def api_key(self, key_id: str) -> KeyRow | None:
        row = self._one(self._api_key_sql, key_id)
        return None if row is None else KeyRow._make(row)

    def user(self, user_id: int) -> UserRow | None:
        row = self._one(self._user_sql, user_id)
        return None if row is None else UserRow._make(row)

    def signing_key(self, access_key: str) -> SigningKeyRow | None:
        row = self._one(self._signing_key_sql, access_key)
        return None if row is None else SigningKeyRow._make(row)

    def ticket_status(self, ticket_id: int) -> TicketStatusRow | None:
        row = self._one(self._ticket_sql, ticket_id)
        return None if row is None else TicketStatusRow._make(row)

    def key_and_ticket(self, key_id: str, ticket_id: int) -> tuple[KeyRow | None, TicketStatusRow | None]:
        return self._with_ticket(KeyRow, self._key_and_ticket_sql, key_id, ticket_id)

    def user_and_ticket(self, user_id: int, ticket_id: int) -> tuple[UserRow | None, TicketStatusRow | None]:
        return self._with_ticket(UserRow, self._user_and_ticket_sql, user_id, ticket_id)

    def _with_ticket(
        self, kind: type[Credential], joined_sql: str, credential: object, ticket_id: int
    ) -> tuple[Credential | None, TicketStatusRow | None]:
        """A credential's row and a ticket's in one joined statement: one round trip, not two."""
        row = self._one(joined_sql, ticket_id, credential)
        if row is None:
            return None, None
        width = KEY_FIELDS if kind is KeyRow else USER_FIELDS
        found = row[width:]
        return kind._make(row[:width]), None if found[0] is None else TicketStatusRow._make(found)

    def operation(self, operation_id: int) -> OperationRow | None:
        row = self._one(self._operation_sql, operation_id)
        return None if row is None else OperationRow._make(row)

    def operation_children(self, operation_id: int) -> list[tuple[int, str]]:
        """Each child's id and status, in order."""
        try:
            rows: list[tuple[int, str]] = (
                self.connection().execute(self._children_sql, (operation_id,)).fetchall()
            )
            return rows
        except (*STORE_ERRORS, *self._driver_errors) as exc:
            self._failed(exc)

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(*STORE_ERRORS):
                    connection.close()
            self._connections.clear()
        self._local = threading.local()
