"""Point reads on the hot path, straight on the database driver.

Status lookups are polled hard. Through the ORM a primary-key read costs tens of microseconds;
on the driver with a cached statement it costs a few. Each thread keeps its own connection in
autocommit mode, so every read sees the latest committed row and holds no transaction open.
On PostgreSQL these reads block the event loop for one round trip; scale out with processes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from ticketd.settings import Settings
from ticketd.store.engine import configure_sqlite_connection

API_KEY_SQL = (
    "SELECT k.tenant_id, k.user_id, k.secret_digest, k.scopes, k.expires_at, k.revoked_at,"
    " u.role, u.disabled FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = {p}"
)
USER_SQL = "SELECT tenant_id, role, disabled, credential_version FROM users WHERE id = {p}"
# What a driver raises when the store cannot answer.
STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)

TICKET_STATUS_SQL = "SELECT tenant_id, requester_id, status, version, updated_at FROM tickets WHERE id = {p}"


class FastReader:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._local = threading.local()
        self._sqlite = settings.is_sqlite
        placeholder = "?" if self._sqlite else "%s"
        self._api_key_sql = API_KEY_SQL.format(p=placeholder)
        self._user_sql = USER_SQL.format(p=placeholder)
        self._ticket_sql = TICKET_STATUS_SQL.format(p=placeholder)
        self._connections: list[Any] = []
        self._lock = threading.Lock()

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
            path = self._settings.resolved_database_url.removeprefix("sqlite:///")
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            configure_sqlite_connection(connection)
            return connection
        url = make_url(self._settings.resolved_database_url)
        return psycopg.connect(
            host=url.host or "",
            port=url.port or 5432,
            dbname=url.database or "",
            user=url.username or "",
            password=url.password or "",
            autocommit=True,
        )

    def _one(self, sql: str, key: object) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self._connection().execute(sql, (key,)).fetchone()
            return row
        except STORE_ERRORS:
            # A broken connection is dropped so the next read opens a fresh one.
            self._local.connection = None
            raise

    def api_key(self, key_id: str) -> tuple[Any, ...] | None:
        return self._one(self._api_key_sql, key_id)

    def user(self, user_id: int) -> tuple[Any, ...] | None:
        return self._one(self._user_sql, user_id)

    def ticket_status(self, ticket_id: int) -> tuple[Any, ...] | None:
        return self._one(self._ticket_sql, ticket_id)

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(*STORE_ERRORS):
                    connection.close()
            self._connections.clear()
        self._local = threading.local()


def to_datetime(value: Any) -> datetime | None:
    """Driver values for timestamps: SQLite hands back text in UTC, psycopg an aware datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def iso_utc(value: Any) -> str:
    """The API's timestamp format, from a driver value, without building a datetime for SQLite text."""
    if isinstance(value, str):
        return value[:10] + "T" + value[11:] + "Z"
    stamp = to_datetime(value)
    assert stamp is not None
    return stamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
