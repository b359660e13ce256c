"""SIGTERM to `ticketd serve` during a slow request, an import and an open event stream: the slow
request finishes, the stream ends at once with a reconnect hint, the import's operation is given
back between two steps (still running, its lease released), the process exits within its grace
period, and the next server resumes the import to the end."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from tests.web.test_server import _env, _free_port, serving, serving_logged
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("settings", ["sqlite"], indirect=True)]
ROWS = 150_000
GRACE = 15


def _slow_body(chunks: int, pause: float) -> Iterator[bytes]:
    yield b'{"subject": "sent slowly", "content": "'
    for _ in range(chunks):
        time.sleep(pause)
        yield b"x" * 100
    yield b'"}'


def _start_import(base: str, world: World) -> int:
    """An import of ROWS rows, started; its operation's id."""
    rows = "subject\n" + "".join(f"Imported {n}\n" for n in range(ROWS))
    started = httpx2.post(
        f"{base}/api/v1/operations/imports",
        content=rows.encode(),
        auth=world.agent.basic,
        headers={"Content-Type": "text/csv"},
        timeout=60,
    )
    assert started.status_code == 202, started.text
    operation_id: int = started.json()["id"]
    return operation_id


def _wait_until_running(base: str, world: World, operation_id: int) -> None:
    """Until the operation is running and has done some of its rows."""
    deadline = time.monotonic() + 30
    while True:
        seen = httpx2.get(f"{base}/api/v1/operations/{operation_id}", auth=world.agent.basic).json()
        if seen["status"] == "running" and seen["progress"]["done"] > 0:
            return
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)


def test_sigterm_finishes_what_is_in_flight_and_gives_back_the_rest(
    settings: Settings, world: World, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"TICKETD_SHUTDOWN_GRACE_SECONDS": str(GRACE), "TICKETD_EVENTS_HEARTBEAT_SECONDS": "1"}
    with serving_logged(settings, port, tmp_path / "first.log", **env) as server:
        operation_id = _start_import(base, world)
        _wait_until_running(base, world, operation_id)

        stream_lines: list[str] = []
        stream_ended = threading.Event()

        def follow() -> None:
            with httpx2.stream(
                "GET",
                f"{base}/api/v1/events/stream",
                auth=world.admin.basic,
                timeout=httpx2.Timeout(10, read=30),
            ) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    stream_lines.append(line)
            stream_ended.set()

        slow: dict[str, object] = {}

        def send_slowly() -> None:
            answer = httpx2.post(
                f"{base}/api/v1/tickets",
                content=_slow_body(20, 0.1),
                auth=world.agent.basic,
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            slow["status"], slow["body"] = answer.status_code, answer.text

        threads = [
            threading.Thread(target=follow, daemon=True),
            threading.Thread(target=send_slowly, daemon=True),
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # the stream is open, the slow request half sent
        assert not stream_ended.is_set()
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert stream_ended.wait(5), stream_lines
        took_stream = time.monotonic() - signalled
        for thread in threads:
            thread.join(20)
        server.wait(GRACE + 10)
        exited = time.monotonic() - signalled

    assert slow.get("status") == 201, slow
    assert stream_lines[-3:-1] == ["retry: 2000", ": reconnect"], stream_lines[-5:]
    assert took_stream < 3, took_stream
    assert exited < GRACE + 5, exited
    with unit_of_work(sessions, write=False) as db:
        operation = db.scalars(select(Operation).where(Operation.id == operation_id)).one()
        assert operation.status == "running", operation.status
        assert operation.lease_owner is None  # given back: the next worker need not wait for it to expire
        done_at_stop = operation.progress_done

    # The next server resumes it at once and finishes it.
    with serving(settings, port) as _:
        deadline = time.monotonic() + 120
        while True:
            finished = httpx2.get(f"{base}/api/v1/operations/{operation_id}", auth=world.agent.basic).json()
            if finished["status"] != "running":
                break
            assert time.monotonic() < deadline, finished
            time.sleep(0.2)
    assert finished["status"] == "completed", finished
    assert finished["result"]["imported"] == ROWS
    assert done_at_stop < ROWS


def test_sigterm_to_a_worker_gives_its_operation_back_between_steps(
    settings: Settings, world: World, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(settings, port, TICKETD_EMBEDDED_WORKER="false"):
        operation_id = _start_import(base, world)
        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "ticketd", "worker"], env=_env(settings), stdout=log, stderr=log
            )
            try:
                _wait_until_running(base, world, operation_id)
                signalled = time.monotonic()
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(15) == 0
                took = time.monotonic() - signalled
            finally:
                if worker.poll() is None:
                    worker.kill()
        with unit_of_work(sessions, write=False) as db:
            operation = db.scalars(select(Operation).where(Operation.id == operation_id)).one()
            assert operation.status == "running" and operation.lease_owner is None
            assert 0 < operation.progress_done < ROWS
    assert took < 5, took
