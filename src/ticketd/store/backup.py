"""Backups of the embedded store: a consistent copy taken while the server runs and writes, and
putting one back.

The copy is SQLite's online backup (the `backup` method of Python's sqlite3 connection) in a single
step: it reads one snapshot, so it holds exactly the transactions committed before it began,
while writers go on in the WAL. It is written beside the target under a temporary name, checked
with `PRAGMA integrity_check`, and only then renamed into place, readable by its owner only.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ticketd.store.engine import keep_private


class BackupError(Exception):
    """The copy could not be made or is not sound: the message says why."""


@dataclass(frozen=True)
class Copied:
    path: Path
    bytes: int
    seconds: float


def copy_store(source: Path, target: Path) -> Copied:
    """A consistent, checked copy of the SQLite store at `source`, written to `target`."""
    if not source.exists():
        raise BackupError(f"there is no store at {source}")
    if target.resolve() == source.resolve():
        raise BackupError("the copy cannot replace the store it is taken from")
    began = time.monotonic()
    partial = target.with_name(f".{target.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    keep_private(partial)
    try:
        _backup(_connect(source), _connect(partial))
        check(partial)
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Copied(target, target.stat().st_size, time.monotonic() - began)


def restore_store(backup: Path, store: Path) -> Copied:
    """Puts a checked copy back as the store at `store`, through SQLite (so the store's WAL, and any
    connection still open on it, see one consistent change)."""
    if not backup.exists():
        raise BackupError(f"there is no backup at {backup}")
    began = time.monotonic()
    check(backup)
    keep_private(store)
    _backup(_connect(backup), _connect(store))
    check(store)
    return Copied(store, store.stat().st_size, time.monotonic() - began)


def check(path: Path) -> None:
    """PRAGMA integrity_check on the file, or BackupError with what it found."""
    if not path.is_file():
        raise BackupError(f"there is no store at {path}")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened: {exc}") from exc
    try:
        found = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a sound SQLite store: {exc}") from exc
    finally:
        connection.close()
    if found != ["ok"]:
        raise BackupError(f"{path} failed its integrity check: {'; '.join(found[:5])}")


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _backup(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    try:
        # One step (pages=-1): one snapshot of the source, however many writers it has.
        source.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(f"the copy failed: {exc}") from exc
    finally:
        source.close()
        target.close()
