"""The in-process copy of the tickets' status fields: always what the store says, at once.

Every test compares the mirror with SQL on the same file after writes made elsewhere: another
connection, another process, the ORM, bulk inserts, deletes, pruned change logs.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core import identity
from ticketd.core.principal import ALL_SCOPES, Role
from ticketd.settings import Settings
from ticketd.store import status_mirror
from ticketd.store.bulk import NewTicket, insert_tickets
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.errors import MirrorOff
from ticketd.store.fast_reads import FastReader
from ticketd.store.rows import TicketStatusRow
from ticketd.store.status_mirror import StatusMirror
from ticketd.store.status_records import SIZE
from ticketd.store.status_sources import SqliteMirrorSource
from ticketd.store.ticket_changes import prune_ticket_changes


@dataclass
class Store:
    path: Path
    sessions: sessionmaker[Session]
    tenant_id: int
    user_id: int
    key_id: str

    def settings(self, **changes: Any) -> Settings:
        return Settings(database_path=self.path, **changes)

    def add_tickets(self, count: int, status: str = "new", requester: bool = True) -> list[int]:
        rows = [
            NewTicket(
                subject=f"ticket {n}",
                status=status,
                priority="normal",
                type="incident",
                channel="email",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                requester_id=self.user_id if requester else None,
                creator_id=self.user_id,
            )
            for n in range(count)
        ]
        with unit_of_work(self.sessions, write=True) as db:
            ids = insert_tickets(db, self.tenant_id, rows)
            db.commit()
        return ids

    def execute(self, sql: str, *params: object) -> None:
        """A write on a connection of its own, as another part of the system would make it."""
        with sqlite3.connect(self.path, isolation_level=None) as connection:
            connection.execute("PRAGMA busy_timeout=10000")
            connection.execute(sql, params)
        connection.close()


@pytest.fixture
def store(sqlite_template: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "mirror.sqlite3"
    shutil.copyfile(sqlite_template, path)
    engine = build_engine(Settings(database_path=path))
    sessions = session_factory(engine)
    with unit_of_work(sessions, write=True) as db:
        tenant = identity.create_tenant(db, slug="acme", name="Acme")
        user = identity.create_user(db, tenant=tenant, username="ann", role=Role.AGENT, password="pw-ann-1")
        issued = identity.create_api_key(db, user=user, name="ann", scopes=frozenset(ALL_SCOPES))
        built = Store(path, sessions, tenant.id, user.id, issued.key.id)
        db.commit()
    yield built
    engine.dispose()


@pytest.fixture
def mirror(store: Store) -> Iterator[StatusMirror]:
    # Every lookup asks SQLite: the tests' writes come from other connections, and each test
    # expects them seen at once (the interval has its own test in test_commit_signal.py).
    made = StatusMirror(str(store.path), 64 * 1_048_576, check_every_seconds=0.0)
    yield made
    made.close()


def sql_rows(store: Store, ids: range) -> list[TicketStatusRow | None]:
    reader = FastReader(store.settings(status_mirror_mb=0))
    try:
        return [reader.ticket_status(ticket_id) for ticket_id in ids]
    finally:
        reader.close()


def mirrored_rows(mirror: StatusMirror, ids: range) -> list[TicketStatusRow | None]:
    return [mirror.lookup(ticket_id)[1] for ticket_id in ids]


def status_of(mirror: StatusMirror, ticket_id: int) -> str:
    row = mirror.lookup(ticket_id)[1]
    assert row is not None
    return row.status


def status_and_version(mirror: StatusMirror, ticket_id: int) -> tuple[str, int]:
    row = mirror.lookup(ticket_id)[1]
    assert row is not None
    return row.status, row.version


def test_lookups_match_the_store(store: Store, mirror: StatusMirror) -> None:
    store.add_tickets(40)
    store.add_tickets(3, status="pending", requester=False)
    ids = range(-2, 50)
    expected = sql_rows(store, ids)
    assert mirrored_rows(mirror, ids) == expected
    third, forty_second = expected[3 + 2], expected[41 + 2]
    assert third is not None and forty_second is not None and forty_second.requester_id is None
    assert mirror.lookup(10**17)[1] is None


def test_writes_by_another_connection_are_seen_on_the_next_lookup(store: Store, mirror: StatusMirror) -> None:
    store.add_tickets(10)
    assert status_of(mirror, 3) == "new"
    store.execute("UPDATE tickets SET status = 'solved', version = version + 1 WHERE id = 3")
    assert status_and_version(mirror, 3) == ("solved", 2)
    (added,) = store.add_tickets(1, status="open")
    assert status_of(mirror, added) == "open"
    store.execute("DELETE FROM tickets WHERE id = 4")
    assert mirror.lookup(4)[1] is None
    assert mirrored_rows(mirror, range(0, 15)) == sql_rows(store, range(0, 15))


def test_a_deleted_highest_id_that_comes_again_is_seen(store: Store, mirror: StatusMirror) -> None:
    ids = store.add_tickets(5)
    highest = ids[-1]
    assert status_of(mirror, highest) == "new"
    store.execute("DELETE FROM tickets WHERE id = ?", highest)
    assert mirror.lookup(highest)[1] is None
    # ticketd never hands an id out twice; a store written by something else might.
    store.execute("UPDATE id_high_water SET value = ?", highest - 1)
    (again,) = store.add_tickets(1, status="closed")
    assert again == highest
    assert status_of(mirror, highest) == "closed"


def test_writes_by_another_process_are_seen(store: Store, mirror: StatusMirror) -> None:
    store.add_tickets(3)
    assert status_of(mirror, 2) == "new"
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute(\"UPDATE tickets SET status = 'closed', version = version + 1 WHERE id = 2\")\n"
    )
    subprocess.run([sys.executable, "-c", script, str(store.path)], check=True, timeout=60)
    assert status_and_version(mirror, 2) == ("closed", 2)


def test_nothing_is_read_from_the_store_while_nothing_commits(
    store: Store, mirror: StatusMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_mirror, "RECHECK_SECONDS", 3600.0)
    store.add_tickets(5)
    generation = mirror.lookup(1)[0]
    statements: list[str] = []
    assert mirror._connection is not None
    mirror._connection.set_trace_callback(statements.append)
    for _ in range(1000):
        assert mirror.lookup(2)[0] == generation
    assert statements == []
    store.execute("UPDATE tickets SET status = 'open', version = 2 WHERE id = 2")
    seen, row = mirror.lookup(2)
    assert seen != generation and row is not None and row.status == "open" and statements


def test_it_reads_the_log_once_a_second_whatever_the_signal_says(
    store: Store, mirror: StatusMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_tickets(2)
    clock = [time.monotonic()]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    generation = mirror.lookup(1)[0]
    assert mirror.lookup(1)[0] == generation
    clock[0] += status_mirror.RECHECK_SECONDS
    assert mirror.lookup(1)[0] == generation + 1


def test_a_mirror_behind_pruned_entries_loads_afresh(
    store: Store, mirror: StatusMirror, caplog: pytest.LogCaptureFixture
) -> None:
    store.add_tickets(20)
    mirror.lookup(1)
    for ticket_id in range(1, 21):
        store.execute("UPDATE tickets SET status = 'pending', version = version + 1 WHERE id = ?", ticket_id)
    with unit_of_work(store.sessions, write=True) as db:
        assert prune_ticket_changes(db, kept=5) == 15
        db.commit()
    with caplog.at_level(logging.INFO, logger=status_mirror.__name__):
        assert mirrored_rows(mirror, range(0, 25)) == sql_rows(store, range(0, 25))
    assert "loaded" in caplog.text
    assert all(row is not None and row.status == "pending" for row in mirrored_rows(mirror, range(1, 21)))


def test_pruning_keeps_the_newest_entries(store: Store) -> None:
    store.add_tickets(3)
    for _ in range(4):
        store.execute("UPDATE tickets SET version = version + 1")
    with unit_of_work(store.sessions, write=True) as db:
        assert prune_ticket_changes(db, kept=5) == 7
        db.commit()
    with sqlite3.connect(store.path) as connection:
        kept = [row[0] for row in connection.execute("SELECT seq FROM ticket_changes ORDER BY seq")]
    connection.close()
    assert kept == [8, 9, 10, 11, 12]


def test_new_tickets_beyond_the_array_make_it_grow(store: Store, mirror: StatusMirror) -> None:
    store.add_tickets(2)
    mirror.lookup(1)
    added = store.add_tickets(500, status="open")
    assert status_of(mirror, added[-1]) == "open"
    assert mirrored_rows(mirror, range(0, 505)) == sql_rows(store, range(0, 505))


def test_a_store_larger_than_allowed_is_read_with_sql(store: Store) -> None:
    store.add_tickets(10)
    small = StatusMirror(str(store.path), 5 * SIZE)
    with pytest.raises(MirrorOff):
        small.lookup(1)
    reader = FastReader(store.settings())
    reader.source.close()
    reader.source = SqliteMirrorSource(small, reader.driver)
    try:
        key, ticket = reader.key_and_ticket(store.key_id, 7)
        assert key is not None and ticket is not None
        assert ticket[:3] == (store.tenant_id, store.user_id, "new")
        assert not isinstance(reader.source, SqliteMirrorSource)  # the driver reads instead
    finally:
        reader.close()


def test_the_reader_sees_a_revoked_key_at_once(store: Store) -> None:
    store.add_tickets(3)
    reader = FastReader(store.settings())
    try:
        before, ticket = reader.key_and_ticket(store.key_id, 2)
        assert before is not None and before.revoked_at is None
        assert ticket is not None and ticket.status == "new"
        store.execute("UPDATE api_keys SET revoked_at = 1 WHERE id = ?", store.key_id)
        after, _ = reader.key_and_ticket(store.key_id, 2)
        assert after is not None and after.revoked_at is not None
        assert reader.key_and_ticket("tk_unknown", 2)[0] is None
    finally:
        reader.close()


def test_the_reader_reads_a_key_once_while_nothing_commits(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_mirror, "RECHECK_SECONDS", 3600.0)
    store.add_tickets(3)
    reader = FastReader(store.settings())
    try:
        reader.key_and_ticket(store.key_id, 1)
        statements: list[str] = []
        reader.driver.connection().set_trace_callback(statements.append)
        for ticket_id in range(200):
            reader.key_and_ticket(store.key_id, ticket_id % 4)
        assert statements == []
        store.execute("UPDATE users SET disabled = 1 WHERE id = ?", store.user_id)
        key, _ = reader.key_and_ticket(store.key_id, 1)
        assert key is not None and key.disabled and statements
    finally:
        reader.close()


def test_it_is_off_on_request_and_on_postgresql(store: Store) -> None:
    reader = FastReader(store.settings(status_mirror_mb=0))
    assert reader.source is reader.driver
    reader.close()
    reader = FastReader(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    assert not isinstance(reader.source, SqliteMirrorSource)
    reader.close()


# Whether a process other than the asking one holds SQLite's lock on the `-shm` file's DMS byte
# (unix VFS: UNIX_SHM_BASE 120 + SQLITE_SHM_NLOCK 8), the lock that tells a process opening the
# store that it is not the first and must not truncate the shared memory.
DMS_LOCK_HELD = """
import fcntl, os, struct, sys
fd = os.open(sys.argv[1] + "-shm", os.O_RDWR)
asked = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 128, 1, 0)
print("held" if struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, asked))[0] != fcntl.F_UNLCK else "free")
"""


def shared_memory_lock_held(path: Path) -> bool:
    answer = subprocess.run([sys.executable, "-c", DMS_LOCK_HELD, str(path)], capture_output=True, text=True)
    assert answer.returncode == 0, answer.stderr
    return answer.stdout.strip() == "held"


def test_the_mirror_keeps_this_processs_sqlite_locks(store: Store, mirror: StatusMirror) -> None:
    """SQLite's locks are POSIX locks: closing any descriptor of the `-shm` file drops every one
    this process holds on it. The mirror watches the store through SQLite alone and keeps them."""
    store.add_tickets(3)
    assert status_of(mirror, 1) == "new"
    assert shared_memory_lock_held(store.path)
    store.add_tickets(1)
    assert status_of(mirror, 4) == "new"
    assert shared_memory_lock_held(store.path)
