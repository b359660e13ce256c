"""A worker killed with kill -9 in the middle of an import loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World, count_rows
from ticketd.core import operations
from ticketd.core.operations import Upload
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, unit_of_work
from ticketd.store.tables import Operation

ROWS = 100_000


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TICKETD_DATABASE_URL": settings.resolved_database_url,
        "TICKETD_SECRET_KEY": settings.secret_key,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ticketd", "worker", "--lease-seconds", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _progress(sessions: sessionmaker[Session], operation_id: int) -> tuple[str, int]:
    with unit_of_work(sessions, write=False) as db:
        operation = db.get(Operation, operation_id)
        assert operation is not None
        return operation.status, operation.progress_done


def test_kill_9_mid_import_then_another_worker_finishes_exactly_once(
    settings: Settings, sessions: sessionmaker[Session], world: World
) -> None:
    data = b"subject,priority\n" + b"".join(b"Row %d,normal\n" % n for n in range(ROWS))
    with unit_of_work(sessions, write=True) as db:
        upload = Upload("csv", iter([data]), len(data))
        operation = operations.start_import(
            db, tenant_id=world.tenant_id, by=world.agent.principal, upload=upload
        )
        db.commit()
        operation_id = operation.id
    first = _worker(settings)
    try:
        deadline = time.monotonic() + 60
        while True:
            status, done = _progress(sessions, operation_id)
            if done >= ROWS // 5:
                break
            assert status != "completed", "the import finished before the worker could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        status, done = _progress(sessions, operation_id)
        assert status == "running" and 0 < done < ROWS
    finally:
        if first.poll() is None:
            first.kill()
    second = _worker(settings)
    try:
        deadline = time.monotonic() + 120
        while _progress(sessions, operation_id)[0] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        second.terminate()
        second.wait(10)
    engine = build_engine(settings)
    try:
        assert count_rows(engine, "tickets") == ROWS
        with engine.connect() as connection:
            distinct = connection.execute(text("SELECT count(DISTINCT subject) FROM tickets")).scalar_one()
        assert distinct == ROWS
    finally:
        engine.dispose()
    assert _progress(sessions, operation_id) == ("completed", ROWS)
