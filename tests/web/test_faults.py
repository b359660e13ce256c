"""Scale-out under faults, with real processes: two servers and two workers on one PostgreSQL and one
Redis, a client writing and polling through both servers, a 100,000-row import running. Then, one
at a time: a server killed (-9), the worker running the import killed (-9), PostgreSQL stopped and
started again, Redis stopped. At the end no acknowledged write is missing, nothing is duplicated,
and every operation has completed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx2
import psycopg
import pytest

from tests.conftest import IN_CI, World, _libpq
from tests.redis_server import OwnRedis
from tests.web.test_server import _env, _free_port, serving
from ticketd.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("settings", ["postgresql"], indirect=True)]

IMPORT_ROWS = 100_000
# No request may hang longer than this, outage or not.
BOUNDED_SECONDS = 10.0


def _cluster() -> list[str]:
    """`pg_ctlcluster` and the machine's cluster (version, name)."""
    command = shutil.which("pg_ctlcluster")
    versions = sorted(Path("/etc/postgresql").glob("*/main")) if Path("/etc/postgresql").exists() else []
    if command is None or not versions:
        if IN_CI:
            pytest.fail("the fault test needs the machine's PostgreSQL cluster (pg_ctlcluster)")
        pytest.skip("no local PostgreSQL cluster to restart")
    return [command, "--skip-systemctl-redirect", versions[-1].parent.name, "main"]


@contextmanager
def _workers(
    settings: Settings, count: int, env: dict[str, str], logs: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    # Each worker logs to its own file, so a failure can show what the workers were doing.
    with ExitStack() as files:
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "ticketd", "worker"],
                env=_env(settings, **env),
                stdout=subprocess.DEVNULL,
                stderr=files.enter_context((logs / f"worker-{n}.log").open("wb")),
            )
            for n in range(count)
        ]
        try:
            yield processes
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(10)
                    except subprocess.TimeoutExpired:
                        # Busy past the bound (an import mid-batch): its end is not under test.
                        process.kill()
                        process.wait(10)


class Client(threading.Thread):
    """Writes a ticket and polls it back, through whichever servers are up, until stopped."""

    def __init__(self, bases: list[str], auth: tuple[str, str]) -> None:
        super().__init__(daemon=True)
        self.bases = bases
        self.auth = auth
        self.alive = set(range(len(bases)))
        self.acknowledged: dict[int, str] = {}
        self.statuses: dict[int, int] = {}
        self.slowest = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        with httpx2.Client(timeout=BOUNDED_SECONDS * 2) as http:
            while not self.stop.is_set():
                for index in sorted(self.alive):
                    n += 1
                    subject = f"client write {n}"
                    started = time.monotonic()
                    try:
                        answer = http.post(
                            f"{self.bases[index]}/api/v1/tickets", json={"subject": subject}, auth=self.auth
                        )
                    except httpx2.TransportError:
                        self.alive.discard(index)
                        continue
                    self.slowest = max(self.slowest, time.monotonic() - started)
                    self.statuses[answer.status_code] = self.statuses.get(answer.status_code, 0) + 1
                    if answer.status_code == 201:
                        ticket_id = answer.json()["id"]
                        self.acknowledged[ticket_id] = subject
                        # The server may die between the write and this read: it counts as gone too.
                        try:
                            http.get(f"{self.bases[index]}/api/v1/tickets/{ticket_id}/status", auth=self.auth)
                        except httpx2.TransportError:
                            self.alive.discard(index)
                time.sleep(0.02)


def _wait(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_scale_out_survives_kills_a_database_restart_and_redis_stopping(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    cluster = _cluster()
    assert settings.database_url is not None
    own_redis = OwnRedis(tmp_path)
    own_redis.start()
    env = {
        "TICKETD_REDIS_URL": own_redis.url,
        "TICKETD_REDIS_PREFIX": "faults",
        "TICKETD_EMBEDDED_WORKER": "false",
        "TICKETD_WORKER_LEASE_SECONDS": "3",
        "TICKETD_DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
        "TICKETD_LIMIT_IP": "1000000/minute",
        "TICKETD_LIMIT_CREDENTIAL": "1000000/minute",
    }
    ports = [_free_port(), _free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    auth = world.agent.basic
    database_stopped = False
    with ExitStack() as stack:
        servers = [stack.enter_context(serving(settings, port, **env)) for port in ports]
        workers = stack.enter_context(_workers(settings, 2, env, tmp_path))
        client = Client(bases, auth)
        client.start()
        try:
            rows = "subject,priority,status\n" + "".join(
                f"Fault import {n},normal,open\n" for n in range(IMPORT_ROWS)
            )
            started = httpx2.post(
                f"{bases[1]}/api/v1/operations/imports",
                content=rows.encode(),
                auth=auth,
                headers={"Content-Type": "text/csv"},
                timeout=60,
            )
            assert started.status_code == 202, started.text
            operation = f"{bases[1]}/api/v1/operations/{started.json()['id']}"
            time.sleep(1)

            # 1. A server killed: the other keeps answering.
            os.kill(servers[0].pid, signal.SIGKILL)
            servers[0].wait(10)
            _wait(lambda: 0 not in client.alive, 10, "the client noticed the dead server")
            before = len(client.acknowledged)
            _wait(lambda: len(client.acknowledged) > before + 5, 10, "the other server answers writes")

            # 2. The worker running the import killed mid-way: another takes it over when its lease ends.
            def lease_owner() -> str | None:
                with psycopg.connect(_libpq(settings.database_url), autocommit=True) as db:
                    row = db.execute(
                        "SELECT lease_owner, progress_done FROM operations WHERE id = %s",
                        (started.json()["id"],),
                    ).fetchone()
                return row[0] if row is not None and row[1] and row[0] else None

            _wait(lambda: lease_owner() is not None, 60, "the import started")
            owner = lease_owner()
            assert owner is not None
            holder = next(worker for worker in workers if f":{worker.pid}:" in owner)
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(10)

            # 3. PostgreSQL stopped: every face answers 503 in its own format, within the bound;
            # then started again, and every process recovers by itself.
            iam_token = _iam_token(bases[1], world)
            subprocess.run([*cluster, "stop", "-m", "fast"], check=True, capture_output=True)
            database_stopped = True
            outage = _during_outage(bases[1], auth, iam_token)
            subprocess.run([*cluster, "start"], check=True, capture_output=True)
            database_stopped = False
            _wait(
                lambda: (
                    httpx2.post(
                        f"{bases[1]}/api/v1/tickets", json={"subject": "after restart"}, auth=auth, timeout=15
                    ).status_code
                    == 201
                ),
                60,
                "writes work again after the restart",
            )

            # 4. Redis stopped: limits fail open, requests go on.
            own_redis.stop()
            before = len(client.acknowledged)
            _wait(lambda: len(client.acknowledged) > before + 5, 15, "writes go on without Redis")
            health = httpx2.get(f"{bases[1]}/api/v1/health").json()
            assert health["checks"]["redis:responseTime"][0]["status"] == "warn"

            try:
                _wait(
                    lambda: httpx2.get(operation, auth=auth).json()["status"] == "completed",
                    300,
                    "the import",
                )
            except AssertionError:
                print("operation:", httpx2.get(operation, auth=auth).text)
                for log in sorted(tmp_path.glob("worker-*.log")):
                    print(log.name, log.read_text(errors="replace")[-3000:])
                raise
        finally:
            client.stop.set()
            client.join(30)
            if database_stopped:
                subprocess.run([*cluster, "start"], check=False, capture_output=True)
            own_redis.stop()

    with psycopg.connect(_libpq(settings.database_url), autocommit=True) as db:
        acknowledged = sorted(client.acknowledged)
        found = {
            row[0]: row[1]
            for row in db.execute("SELECT id, subject FROM tickets WHERE id = ANY(%s)", (acknowledged,))
        }
        imported = db.execute(
            "SELECT count(*), count(DISTINCT subject) FROM tickets WHERE subject LIKE 'Fault import %'"
        ).fetchone()
        duplicated = db.execute(
            "SELECT count(*) FROM (SELECT subject FROM tickets GROUP BY subject HAVING count(*) > 1) d"
        ).fetchone()
        unfinished = db.execute("SELECT count(*) FROM operations WHERE status <> 'completed'").fetchone()
    print(
        f"\nacknowledged writes {len(acknowledged)}, found {len(found)}; imported {imported}; "
        f"subjects written twice {duplicated}; unfinished operations {unfinished}; "
        f"answers {client.statuses}; slowest write {client.slowest:.2f} s; during the outage {outage}"
    )
    assert found == client.acknowledged, "an acknowledged write is missing"
    assert imported == (IMPORT_ROWS, IMPORT_ROWS), "the import ran exactly once"
    assert duplicated == (0,)
    assert unfinished == (0,)
    assert client.slowest < BOUNDED_SECONDS * 2
    assert set(client.statuses) <= {201, 503}, client.statuses


def _iam_token(base: str, world: World) -> str:
    user = {"name": world.agent.username, "password": world.agent.password, "domain": {"name": "acme"}}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    answer = httpx2.post(f"{base}/v3/auth/tokens", json=body)
    assert answer.status_code == 201, answer.text
    return answer.headers["x-subject-token"]


def _during_outage(base: str, auth: tuple[str, str], iam_token: str) -> dict[str, int]:
    """Requests that need the database while it is down: 503 in each face's format, in bounded time."""
    answers: dict[str, int] = {}
    started = time.monotonic()
    native = httpx2.post(f"{base}/api/v1/tickets", json={"subject": "in the outage"}, auth=auth, timeout=30)
    assert native.status_code == 503 and native.headers["content-type"] == "application/problem+json"
    assert native.json()["status"] == 503 and "retry-after" in native.headers
    answers["native"] = native.status_code
    listed = httpx2.get(f"{base}/api/v1/tickets", auth=auth, timeout=30)
    assert listed.status_code == 503 and listed.json()["status"] == 503
    wallet = httpx2.get(f"{base}/v1/ticket/1", auth=auth, timeout=30)
    assert wallet.status_code == 503 and set(wallet.json()) == {"code", "description", "details"}
    answers["wallet"] = wallet.status_code
    cases = httpx2.get(f"{base}/v2/servicerequest/cases", headers={"X-Auth-Token": iam_token}, timeout=30)
    assert cases.status_code == 503 and cases.json()["error_code"] == "APIGW.0203"
    answers["huawei"] = cases.status_code
    # Status lookups are answered from memory until the mirror cannot vouch for itself (5 s),
    # then refused the same way.
    time.sleep(5.5)
    status = httpx2.get(f"{base}/api/v1/tickets/1/status", auth=auth, timeout=30)
    assert status.status_code == 503 and status.json()["status"] == 503, status.text
    answers["native status"] = status.status_code
    case_status = httpx2.get(
        f"{base}/v2/servicerequest/cases/1/status", headers={"X-Auth-Token": iam_token}, timeout=30
    )
    assert case_status.status_code == 503 and case_status.json()["error_code"] == "APIGW.0203"
    answers["huawei status"] = case_status.status_code
    # Every face, in the app and on the polled paths alike, says when to come back.
    for answer in (native, listed, wallet, cases, status, case_status):
        assert answer.headers.get("retry-after") == "5", (answer.request.url, answer.headers)
    assert time.monotonic() - started < 4 * 30
    return answers
