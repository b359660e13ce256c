"""The commit signal: SQLite's wal-index header moves with every commit of any connection."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.store.test_status_mirror import shared_memory_lock_held
from ticketd.settings import Settings
from ticketd.store.commit_signal import CommitSignal
from ticketd.store.engine import configure_sqlite_connection


def _store(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    configure_sqlite_connection(connection)  # WAL, as every connection of the store
    connection.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    return connection


def test_a_look_is_worth_it_only_after_a_commit_or_once_the_recheck_is_due(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    writer = _store(path)
    signal = CommitSignal(str(path), recheck_seconds=0.5)
    assert signal.worth_a_look(), "the first look"
    assert not signal.worth_a_look(), "nothing committed since"
    writer.execute("INSERT INTO t VALUES (1)")
    assert signal.worth_a_look(), "a commit"
    assert not signal.worth_a_look()
    # A read commits nothing.
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (1,)
    assert not signal.worth_a_look()
    # Another connection's commit, as another process's would be.
    other = _store(path)
    other.execute("INSERT INTO t VALUES (2)")
    assert signal.worth_a_look()
    time.sleep(0.55)
    assert signal.worth_a_look(), "what time alone makes due is looked for after the recheck"
    assert not signal.worth_a_look()
    writer.close()
    other.close()


def test_watching_keeps_this_processs_sqlite_locks(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    writer = _store(path)
    writer.execute("INSERT INTO t VALUES (1)")
    signal = CommitSignal(str(path), recheck_seconds=60)
    assert signal.worth_a_look()
    assert shared_memory_lock_held(path)
    signal.close()
    assert shared_memory_lock_held(path)
    writer.close()


def test_every_look_is_worth_it_without_a_store_file(tmp_path: Path) -> None:
    never_opened = CommitSignal(str(tmp_path / "nothing-yet.sqlite3"), recheck_seconds=60)
    not_sqlite = CommitSignal(None, recheck_seconds=60)
    for signal in (never_opened, not_sqlite):
        assert all(signal.worth_a_look() for _ in range(3))


def test_only_a_sqlite_file_has_a_signal_to_watch(tmp_path: Path) -> None:
    assert Settings(database_path=tmp_path / "t.sqlite3").sqlite_path == str(tmp_path / "t.sqlite3")
    assert Settings(database_url="sqlite:///:memory:").sqlite_path is None
    assert Settings(database_url="postgresql+psycopg://ticketd@db/ticketd").sqlite_path is None
