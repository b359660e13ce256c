"""Engines and sessions. SQLite gets WAL and explicit write transactions; PostgreSQL the defaults."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from ticketd.settings import Settings
from ticketd.store.errors import StoreError

# Marks a connection whose transaction will write: on SQLite it starts with BEGIN IMMEDIATE, so
# two writers queue on the busy timeout instead of failing when a read lock cannot be upgraded.
WRITE_OPTION = "ticketd_write"
# How long a transaction waits for SQLite's write lock before it fails, and how often it looks.
WRITE_WAIT_SECONDS = 30
WRITE_POLL_SECONDS = 0.0005
SQLITE_IOERR = 10
SQLITE_FULL = 13


def build_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if settings.is_sqlite:
        return _sqlite_engine(url, settings.sqlite_path)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"connect_timeout": settings.database_connect_timeout_seconds},
    )


def _sqlite_engine(url: str, path: str | None) -> Engine:
    if path is not None:  # None: in memory
        keep_private(Path(path))
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        configure_sqlite_connection(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(WRITE_OPTION, False):
            begin_write(connection.connection.dbapi_connection)
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def keep_private(path: Path) -> None:
    """The store's file made (or left) readable by its owner only, as the key file is: SQLite
    gives its `-wal` and `-shm` the main file's mode when it makes them, and those made by an
    earlier version are narrowed here too."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)


def begin_write(connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock by polling it every half millisecond.

    SQLite's own busy handler sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so a writer that
    finds the lock taken by one committing back to back waits for hundreds of milliseconds (a second
    and more was measured for the webhooks' deliveries against a process making 800 changes a
    second): it wakes at random and nearly always finds the lock taken again. Polling often keeps
    writers' turns fair at the cost of a failed try (microseconds) a poll."""
    deadline = time.monotonic() + WRITE_WAIT_SECONDS
    connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                # The low byte: SQLITE_BUSY whichever extended code (recovery, snapshot) came with it.
                busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() > deadline:
                    raise
            time.sleep(WRITE_POLL_SECONDS)
    finally:
        # Reads and the rest of the transaction keep SQLite's handler.
        connection.execute(f"PRAGMA busy_timeout={WRITE_WAIT_SECONDS * 1000}")


def configure_sqlite_connection(connection: sqlite3.Connection) -> None:
    # WAL lets readers proceed during a write. synchronous=NORMAL in WAL mode keeps every
    # committed transaction across a crash of the process (kill -9); only an OS crash or power
    # loss could drop the last few, which FULL would prevent at several times the commit cost.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute(f"PRAGMA busy_timeout={WRITE_WAIT_SECONDS * 1000}")


def refresh_statistics(sessions: sessionmaker[Session]) -> None:
    """SQLite plans by the statistics ANALYZE keeps, and has none until someone runs it: without
    them it walks the status index for a count by status where the requester's index would read
    fifty rows. A sampled ANALYZE (a thousand rows an index: milliseconds, whatever the size) now
    and then keeps them current. PostgreSQL's autovacuum does this by itself."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def libpq_arguments(settings: Settings) -> dict[str, Any]:
    """What psycopg.connect needs, from the SQLAlchemy URL, for the places that use the driver
    directly: the URL's query too (`sslmode`, `sslrootcert`, `options`, ...), as the engine has it."""
    url = make_url(settings.resolved_database_url)
    options = {name: value if isinstance(value, str) else value[-1] for name, value in url.query.items()}
    return {
        "connect_timeout": settings.database_connect_timeout_seconds,
        **options,
        "host": url.host or "",
        "port": url.port or 5432,
        "dbname": url.database or "",
        "user": url.username or "",
        "password": url.password or "",
    }


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session], *, write: bool) -> Iterator[Session]:
    """One transaction. The caller commits; anything not committed is rolled back on exit."""
    if not write:
        opened = sessions()
    else:
        # The write transaction (SQLite: BEGIN IMMEDIATE, the write lock) begins at the first
        # statement, not here: a caller that opens a unit of work on one thread and uses it on
        # another (a route's dependency, then the route, each waiting for a worker thread) must
        # not hold the lock while it waits. With forty requests at once, the lock's holder waited
        # for a thread that every other request held while waiting for the lock (30 s, then 500s).
        opened = sessions(bind=_writing(sessions))
        opened.info[WRITE_OPTION] = True
    with opened as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise


# Per session factory (making one costs 20 µs), gone with it.
_WRITING: weakref.WeakKeyDictionary[sessionmaker[Session], Engine] = weakref.WeakKeyDictionary()


def _writing(sessions: sessionmaker[Session]) -> Engine:
    """The sessions' engine, with every transaction begun on it a writing one."""
    writing = _WRITING.get(sessions)
    if writing is None:
        engine = sessions.kw["bind"]
        assert isinstance(engine, Engine)
        writing = _WRITING[sessions] = engine.execution_options(**{WRITE_OPTION: True})
    return writing


def after_every_write_commit(callback: Callable[[], None]) -> None:
    """Run `callback` on the committing thread after each commit of a writing unit of work made by
    any session of this process."""

    def committed(session: Session) -> None:
        if session.info.get(WRITE_OPTION):
            callback()

    event.listen(Session, "after_commit", committed)


def is_store_outage(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached (down, restarting, unreachable), which
    every face answers as 503 in its own format, rather than a fault of ticketd's (500)."""
    if isinstance(exc, DisconnectionError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        original = exc.orig
        if isinstance(original, sqlite3.OperationalError):
            # The disk is full (or max_page_count reached), or the disk failed a read or write:
            # the transaction was rolled back whole, and the same write succeeds once it has room.
            return original.sqlite_errorcode & 0xFF in (SQLITE_FULL, SQLITE_IOERR)
        # Down, restarting, unreachable; or out of disk, memory or connections (class 53), shut
        # down by an operator (57), a system error (58): all psycopg's OperationalError.
        # (By name: a process on SQLite never imports psycopg.)
        return any(
            kind.__module__.startswith("psycopg") and kind.__name__ in ("OperationalError", "InterfaceError")
            for kind in type(original).__mro__
        )
    return isinstance(exc, StoreError)
