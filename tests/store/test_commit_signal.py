"""The commit signal: SQLite's data_version moves with every commit of another connection."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

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
    assert signal.changed(), "the first look"
    assert not signal.changed(), "nothing committed since"
    writer.execute("INSERT INTO t VALUES (1)")
    assert signal.changed(), "a commit"
    assert not signal.changed()
    # A read commits nothing.
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (1,)
    assert not signal.changed()
    # Another connection's commit, as another process's would be.
    other = _store(path)
    other.execute("INSERT INTO t VALUES (2)")
    assert signal.changed()
    time.sleep(0.55)
    assert signal.changed(), "what time alone makes due is looked for after the recheck"
    assert not signal.changed()
    writer.close()
    other.close()


def test_watching_keeps_this_processs_sqlite_locks(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    writer = _store(path)
    writer.execute("INSERT INTO t VALUES (1)")
    signal = CommitSignal(str(path), recheck_seconds=60)
    assert signal.changed()
    assert shared_memory_lock_held(path)
    signal.close()
    assert shared_memory_lock_held(path)
    writer.close()


def test_every_look_is_worth_it_without_a_store_file(tmp_path: Path) -> None:
    never_opened = CommitSignal(str(tmp_path / "nothing-yet.sqlite3"), recheck_seconds=60)
    not_sqlite = CommitSignal(None, recheck_seconds=60)
    for signal in (never_opened, not_sqlite):
        assert all(signal.changed() for _ in range(3))


def test_only_a_sqlite_file_has_a_signal_to_watch(tmp_path: Path) -> None:
    assert Settings(database_path=tmp_path / "t.sqlite3").sqlite_path == str(tmp_path / "t.sqlite3")
    assert Settings(database_url="sqlite:///:memory:").sqlite_path is None
    assert Settings(database_url="postgresql+psycopg://ticketd@db/ticketd").sqlite_path is None


def test_a_poller_that_checks_less_often_sees_another_processs_commit_within_its_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.sqlite3"
    writer = _store(path)
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    signal = CommitSignal(str(path), recheck_seconds=1.0, check_every_seconds=0.001)
    assert signal.changed()
    asked: list[str] = []
    signal.changed()
    assert signal._connection is not None
    signal._connection.set_trace_callback(asked.append)
    writer.execute("INSERT INTO t VALUES (1)")
    # Within the interval SQLite is not asked, so the commit is not seen yet...
    assert not signal.changed() and asked == []
    # ...and it is once the interval has passed.
    clock[0] += 0.002
    assert signal.changed() and asked == ["PRAGMA data_version"]
    assert not signal.changed()
    writer.close()


def test_a_nudge_is_seen_at_once(tmp_path: Path) -> None:
    """This process's own commits (the engine's commit event nudges) need no wait."""
    path = tmp_path / "store.sqlite3"
    writer = _store(path)
    signal = CommitSignal(str(path), recheck_seconds=60, check_every_seconds=60)
    assert signal.changed()
    assert not signal.changed()
    signal.nudge()
    assert signal.changed()
    assert not signal.changed()
    writer.close()
