"""Point reads on the hot path, straight on the database driver.

Status lookups are polled hard. Through the ORM a primary-key read costs tens of microseconds;
on the driver with a cached statement it costs a few. Each thread keeps its own connection in
autocommit mode, so every read sees the latest committed row and holds no transaction open.
On SQLite the tickets' status fields come from the process's StatusMirror instead, and a
credential's row read since the last commit anywhere is not read again (see status_mirror.py).
On PostgreSQL the tickets' status fields and every credential's row come from the process's
PostgresMirror (postgres_mirror.py), so no lookup waits on a round trip on the event loop; what
is still read here there (a Wallet operation) is read on a thread by its caller (`blocks`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from sqlalchemy import Engine, event

from ticketd.settings import Settings
from ticketd.store.engine import configure_sqlite_connection, libpq_arguments
from ticketd.store.postgres_mirror import MirrorUnavailable, PostgresMirror
from ticketd.store.rows import (
    KEY_FIELDS,
    USER_FIELDS,
    KeyRow,
    OperationRow,
    SigningKeyRow,
    StoredTime,
    TicketStatusRow,
    UserRow,
)
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

Row = TypeVar("Row", KeyRow, UserRow)
Key = TypeVar("Key")
Found = TypeVar("Found")


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
        self.postgres: PostgresMirror | None = None
        if self._sqlite and settings.status_mirror_mb > 0:
            self._mirror = StatusMirror(self._sqlite_path(), settings.status_mirror_mb * 1_048_576)
        elif settings.status_mirror_mb > 0:
            self.postgres = PostgresMirror(settings)
        self._postgres_started = False
        # Credential rows by (statement, parameter): the mirror's generation they were read in, the row.
        self._current_rows: dict[tuple[str, object], tuple[int, Any]] = {}

    def _sqlite_path(self) -> str:
        return self._settings.resolved_database_url.removeprefix("sqlite:///")

    def follow(self, engine: Engine) -> None:
        """Tells the status mirror of every commit made through `engine` (this process's writes),
        so a lookup right after one reads what it wrote."""
        mirror = self._mirror
        if mirror is not None:
            event.listen(engine, "commit", lambda _connection: mirror.committed())

    def warm(self) -> None:
        """Load the status mirror now (at server start) rather than on the first lookup."""
        if self._mirror is not None:
            self._mirror.warm()
        self._served_from_postgres_mirror()

    @property
    def blocks(self) -> bool:
        """Whether reads not served from a mirror are a database round trip (not a local file)."""
        return not self._sqlite

    def _served_from_postgres_mirror(self) -> PostgresMirror | None:
        """The PostgreSQL mirror when it serves lookups, started on first use."""
        mirror = self.postgres
        if mirror is None:
            return None
        if not self._postgres_started:
            self._postgres_started = True
            mirror.start()
        if mirror.too_large:
            self.postgres = None
            return None
        return mirror

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

    def _mirrored(self, ticket_id: int) -> tuple[int, TicketStatusRow | None] | None:
        """The mirror's generation and the ticket's row, or None where the mirror does not serve."""
        mirror = self._mirror
        if mirror is None:
            return None
        try:
            return mirror.lookup(ticket_id)
        except MirrorOff:
            self._mirror = None
            return None

    def _current(self, kind: type[Row], sql: str, parameter: object, generation: int) -> Row | None:
        """One row by one parameter, read again only when something has committed since."""
        key = (sql, parameter)
        known = self._current_rows.get(key)
        if known is not None and known[0] == generation:
            cached: Row | None = known[1]
            return cached
        found = self._one(sql, parameter)
        row = None if found is None else kind._make(found)
        if len(self._current_rows) >= CURRENT_ROWS_LIMIT:
            self._current_rows.clear()
        self._current_rows[key] = (generation, row)
        return row

    def api_key(self, key_id: str) -> KeyRow | None:
        if (postgres := self._served_from_postgres_mirror()) is not None:
            return _mirrored(postgres.api_key, key_id)
        row = self._one(self._api_key_sql, key_id)
        return None if row is None else KeyRow._make(row)

    def user(self, user_id: int) -> UserRow | None:
        if (postgres := self._served_from_postgres_mirror()) is not None:
            return _mirrored(postgres.user, user_id)
        row = self._one(self._user_sql, user_id)
        return None if row is None else UserRow._make(row)

    def ticket_status(self, ticket_id: int) -> TicketStatusRow | None:
        if (postgres := self._served_from_postgres_mirror()) is not None:
            return _mirrored(postgres.ticket, ticket_id)
        mirrored = self._mirrored(ticket_id)
        if mirrored is not None:
            return mirrored[1]
        row = self._one(self._ticket_sql, ticket_id)
        return None if row is None else TicketStatusRow._make(row)

    def operation(self, operation_id: int) -> OperationRow | None:
        row = self._one(self._operation_sql, operation_id)
        return None if row is None else OperationRow._make(row)

    def operation_children(self, operation_id: int) -> list[tuple[int, str]]:
        """Each child's id and status, in order."""
        try:
            rows: list[tuple[int, str]] = (
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

    def signing_key(self, access_key: str) -> SigningKeyRow | None:
        if (postgres := self._served_from_postgres_mirror()) is not None:
            return _mirrored(postgres.signing_key, access_key)
        row = self._one(self._signing_key_sql, access_key)
        return None if row is None else SigningKeyRow._make(row)

    def key_and_ticket(self, key_id: str, ticket_id: int) -> tuple[KeyRow | None, TicketStatusRow | None]:
        """The key (as `api_key`) and the ticket (as `ticket_status`), in one read."""
        if (postgres := self._served_from_postgres_mirror()) is not None:
            return _mirrored(postgres.api_key, key_id), _mirrored(postgres.ticket, ticket_id)
        return self._with_ticket(KeyRow, self._key_and_ticket_sql, self._api_key_sql, key_id, ticket_id)

    def user_and_ticket(self, user_id: int, ticket_id: int) -> tuple[UserRow | None, TicketStatusRow | None]:
        """The user (as `user`) and the ticket (as `ticket_status`), in one read."""
        if (postgres := self._served_from_postgres_mirror()) is not None:
            return _mirrored(postgres.user, user_id), _mirrored(postgres.ticket, ticket_id)
        return self._with_ticket(UserRow, self._user_and_ticket_sql, self._user_sql, user_id, ticket_id)

    def _with_ticket(
        self, kind: type[Row], joined_sql: str, credential_sql: str, credential: object, ticket_id: int
    ) -> tuple[Row | None, TicketStatusRow | None]:
        """A credential's row and a ticket's: one joined statement, or the mirror and a current row."""
        mirrored = self._mirrored(ticket_id)
        if mirrored is not None:
            generation, ticket = mirrored
            return self._current(kind, credential_sql, credential, generation), ticket
        row = self._one(joined_sql, ticket_id, credential)
        if row is None:
            return None, None
        width = KEY_FIELDS if kind is KeyRow else USER_FIELDS
        found = row[width:]
        return kind._make(row[:width]), None if found[0] is None else TicketStatusRow._make(found)

    def close(self) -> None:
        if self._mirror is not None:
            self._mirror.close()
        if self.postgres is not None:
            self.postgres.close()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(*STORE_ERRORS):
                    connection.close()
            self._connections.clear()
        self._local = threading.local()


def _mirrored(read: Callable[[Key], Found], key: Key) -> Found:
    """A read from the PostgreSQL mirror; a mirror that cannot vouch for itself fails as the store."""
    try:
        return read(key)
    except MirrorUnavailable as exc:
        raise StoreError(str(exc)) from exc


def to_datetime(value: StoredTime | None) -> datetime | None:
    """Driver values for timestamps: SQLite hands back epoch microseconds, psycopg an aware datetime."""
    if value is None:
        return None
    if isinstance(value, int):
        return from_epoch_micros(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
