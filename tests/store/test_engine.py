"""Which failures mean the store is away (503 in every face) rather than a fault of ticketd's (500);
how a writer waits for SQLite's write lock."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from ticketd.settings import Settings
from ticketd.store import engine
from ticketd.store.engine import WRITE_WAIT_SECONDS, begin_write, configure_sqlite_connection, is_store_outage
from ticketd.store.errors import StoreError
from ticketd.store.migrate import upgrade


def _sqlite_error(message: str, code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("failure", "outage"),
    [
        (StoreError("the mirror cannot vouch for itself"), True),
        (OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused")), True),
        (OperationalError("SELECT 1", {}, psycopg.InterfaceError("connection already closed")), True),
        (IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key")), False),
        # Out of disk: the write was rolled back whole, and succeeds once there is room.
        (OperationalError("INSERT", {}, psycopg.errors.DiskFull("could not extend file")), True),
        (OperationalError("INSERT", {}, _sqlite_error("database or disk is full", 13)), True),
        (OperationalError("INSERT", {}, _sqlite_error("disk I/O error", 10 | 3 << 8)), True),
        (OperationalError("SELECT", {}, _sqlite_error("no such table: x", 1)), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_counts_as_an_outage(failure: Exception, outage: bool) -> None:
    assert is_store_outage(failure) is outage


def _holding_the_write_lock(path: Path, seconds: float) -> threading.Thread:
    """A thread that takes SQLite's write lock on its own connection and keeps it for `seconds`."""
    taken = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(5)
    return thread


def test_a_writer_waits_for_the_lock_and_gets_it_when_it_is_free(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    configure_sqlite_connection(connection)
    holder = _holding_the_write_lock(path, 0.3)
    begin_write(connection)
    holder.join()
    assert connection.in_transaction
    connection.execute("COMMIT")
    # The rest of the transaction waits on SQLite's own handler again.
    assert connection.execute("PRAGMA busy_timeout").fetchone() == (WRITE_WAIT_SECONDS * 1000,)


def test_a_writer_gives_up_after_the_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "WRITE_WAIT_SECONDS", 0.1)
    path = tmp_path / "store.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    configure_sqlite_connection(connection)
    holder = _holding_the_write_lock(path, 0.5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_write(connection)
    holder.join()
    assert not connection.in_transaction


def test_the_embedded_store_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    """Made under a permissive umask, as `make run` would on a shared machine: 0600 all three,
    like the key file; a store an earlier version left readable by others is narrowed."""
    previous = os.umask(0o022)
    try:
        settings = Settings(database_path=tmp_path / "data" / "ticketd.sqlite3")
        built = engine.build_engine(settings)
        upgrade(built)
        with built.begin() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            store = settings.database_path
            files = [store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")]
            assert all(file.exists() for file in files)
            for file in files:
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        built.dispose()
        assert stat.S_IMODE(store.parent.stat().st_mode) & 0o077 == 0
        store.chmod(0o644)
        engine.build_engine(settings).dispose()
        assert stat.S_IMODE(store.stat().st_mode) == 0o600
    finally:
        os.umask(previous)
