"""`make bench`: load tickets into fresh stores, serve them as `ticketd serve` does, drive with wrk.

Prints requests/s and p50/p99 latency for each scenario, each one's ratio to a bare ASGI app served
with the same server settings in the same run, and the server's peak memory. The server is pinned
to one core and wrk to the other, so they do not compete.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from base64 import b64encode
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core import identity, operations
from ticketd.core.principal import ALL_SCOPES, Role
from ticketd.core.worker import Worker
from ticketd.settings import Settings
from ticketd.store.bulk import NewTicket, insert_tickets
from ticketd.store.engine import build_engine, libpq_arguments, session_factory, unit_of_work
from ticketd.store.migrate import upgrade
from ticketd.store.tables import Operation
from ticketd.store.text_index import index_new_tickets

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE, WRK_CORE = "0", "1"
# Every process on PostgreSQL shares one server key, kept outside the store (a throwaway one here).
SECRET_KEY = secrets.token_urlsafe(32)
DURATION = os.environ.get("BENCH_DURATION", "6s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "32")
LARGE = int(os.environ.get("BENCH_TICKETS", "1000000"))
SMALL = 10_000
STATUSES = ("new", "open", "pending", "solved", "closed")

BENCH_PASSWORD = "bench password"  # noqa: S105 - a throwaway store's
NATIVE_STATUS = "/api/v1/tickets/{id}/status"
HUAWEI_STATUS = "/v2/servicerequest/cases/{id}/status"
LUA = """
math.randomseed(os.time())
local n = tonumber(os.getenv("BENCH_N"))
local path = os.getenv("BENCH_PATH")
local header = os.getenv("BENCH_HEADER")
local value = os.getenv("BENCH_VALUE")
local revalidate = os.getenv("BENCH_REVALIDATE") == "1"
request = function()
  local id = math.random(1, n)
  local headers = {[header] = value}
  if revalidate then headers["If-None-Match"] = '"' .. id .. '-1"' end
  return wrk.format("GET", string.gsub(path, "{id}", tostring(id)), headers)
end
"""


@dataclass
class Result:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    ratio_to_bare: float = 0.0
    peak_memory_mb: float = 0.0
    # The server's CPU time (user + system) per request: what a request costs the server, which a
    # busy machine disturbs far less than requests/s and latency.
    server_cpu_us: float = 0.0
    # The share of the machine's CPU time its hypervisor gave to others during the run (steal, from
    # /proc/stat): a shared host that is busy slows Python code more than the bare app, so ratios
    # measured under steal come out lower.
    steal_percent: float = 0.0


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk from Debian's packages ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    assert found, "wrk could not be installed"
    return found


@dataclass
class Store:
    basic: str  # an Authorization header value
    operation_id: int  # a Wallet ticket with two children
    rows_per_second: float


def store_settings(where: Path | str) -> Settings:
    """A SQLite file's path, or a PostgreSQL URL."""
    return Settings(database_url=where) if isinstance(where, str) else Settings(database_path=where)


def fresh_store(where: Path | str) -> tuple[Engine, sessionmaker[Session]]:
    engine = build_engine(store_settings(where))
    upgrade(engine)
    return engine, session_factory(engine)


def fresh_postgres_database() -> str:
    """A database of the bench's own on the machine's PostgreSQL; dropped by `drop_postgres_database`."""
    name = f"ticketd_bench_{os.getpid()}"
    with psycopg.connect(
        **libpq_arguments(Settings(database_url=POSTGRES_ADMIN_URL)), autocommit=True
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(
        **libpq_arguments(Settings(database_url=POSTGRES_ADMIN_URL)), autocommit=True
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_store(where: Path | str, count: int) -> Store:
    """A fresh store: one tenant, one admin with a key and a password, `count` tickets, one bulk operation."""
    engine, sessions = fresh_store(where)
    with unit_of_work(sessions, write=True) as db:
        tenant = identity.create_tenant(db, slug="bench", name="Bench")
        user = identity.create_user(
            db, tenant=tenant, username="bench", role=Role.ADMIN, password=BENCH_PASSWORD
        )
        issued = identity.create_api_key(db, user=user, name="bench", scopes=frozenset(ALL_SCOPES))
        tenant_id, user_id = tenant.id, user.id
        db.commit()
    started = time.perf_counter()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    batch = 10_000
    for offset in range(0, count, batch):
        rows = [
            NewTicket(
                subject=f"Ticket {n}",
                status=STATUSES[n % len(STATUSES)],
                priority="normal",
                type="incident",
                channel="email",
                created_at=base + timedelta(seconds=n),
                requester_id=user_id,
                creator_id=user_id,
            )
            for n in range(offset, min(offset + batch, count))
        ]
        with unit_of_work(sessions, write=True) as db:
            insert_tickets(db, tenant_id, rows)
            db.commit()
    elapsed = time.perf_counter() - started
    with unit_of_work(sessions, write=True) as db:
        parent = Operation(
            tenant_id=tenant_id,
            kind="bulk_update",
            status="completed",
            version=1,
            progress_done=2,
            params={},
            created_by=user_id,
            created_at=base,
        )
        db.add(parent)
        db.flush()
        for status in ("completed", "failed"):
            db.add(
                Operation(
                    tenant_id=tenant_id,
                    parent_id=parent.id,
                    kind="bulk_update",
                    status=status,
                    version=1,
                    progress_done=1,
                    params={},
                    created_by=user_id,
                    created_at=base,
                )
            )
        operation_id = parent.id
        db.commit()
    # The text index, as the worker of a server that has run for a while has built it. Left to the
    # server's own worker, the backlog (a million tickets) is indexed while the lookups are measured,
    # and the figures are those of a server busy indexing, not of one at rest.
    indexing = time.perf_counter()
    indexed = 0
    while found := index_new_tickets(sessions, batch=50_000):
        indexed += found
    if indexed:
        print(f"  text index: {indexed:,} tickets in {time.perf_counter() - indexing:.1f} s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    # Let the kernel write the new file out now, not while the servers are being measured.
    os.sync()
    credentials = b64encode(f"{issued.key.id}:{issued.secret}".encode()).decode()
    return Store(f"Basic {credentials}", operation_id, count / elapsed)


def import_rows_per_second(path: Path, count: int) -> tuple[float, float]:
    """An import of `count` CSV rows as an operation: the upload stored, then run by a worker. Returns
    rows/s and seconds, from the start request to the operation's completion."""
    engine, sessions = fresh_store(path)
    with unit_of_work(sessions, write=True) as db:
        tenant = identity.create_tenant(db, slug="imports", name="Imports")
        tenant_id = tenant.id
        db.commit()
    data = b"subject,priority,status,tags\n" + b"".join(
        b"Imported ticket %d,normal,open,bulk\n" % n for n in range(count)
    )
    started = time.perf_counter()
    with unit_of_work(sessions, write=True) as db:
        upload = operations.Upload("csv", iter([data]), len(data) + 1)
        operation_id = operations.start_import(db, tenant_id=tenant_id, by=None, upload=upload).id
        db.commit()
    worker = Worker(sessions)
    while worker.run_once():
        pass
    elapsed = time.perf_counter() - started
    with unit_of_work(sessions, write=False) as db:
        operation = db.get(Operation, operation_id)
        assert operation is not None and operation.status == "completed", operation
        assert operation.result is not None and operation.result["imported"] == count
    engine.dispose()
    return count / elapsed, elapsed


def iam_token(port: int) -> str:
    user = {"name": "bench", "password": BENCH_PASSWORD, "domain": {"name": "bench"}}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    response = httpx2.post(f"http://127.0.0.1:{port}/v3/auth/tokens", json=body)
    response.raise_for_status()
    return response.headers["x-subject-token"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(
    command: list[str], env: dict[str, str], port: int, log: Path | None = None, cores: str = SERVER_CORE
) -> subprocess.Popen[bytes]:
    # Its output goes to a file, as a terminal or a log collector would take it.
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(["taskset", "-c", cores, *command], env=env, stdout=output, stderr=output)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx2.TransportError:
            time.sleep(0.2)
    process.kill()
    tail = log.read_text(errors="replace")[-2000:] if log is not None else ""
    raise RuntimeError(f"server on port {port} did not start:\n{tail}")


def peak_memory_mb(pid: int) -> float:
    """The largest resident size of the process or of any of its children."""
    peak = 0.0
    for process in [pid, *_children(pid)]:
        try:
            lines = Path(f"/proc/{process}/status").read_text().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return peak


def cpu_seconds(pid: int) -> float:
    """The CPU time of the process and of its children (the processes of `--workers N`)."""
    total = 0.0
    for process in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# /proc/stat's first line: the machine's CPU time by kind (user, nice, system, idle, iowait, irq,
# softirq, steal, ...), in clock ticks.
STEAL = 7


def machine_times() -> list[int]:
    return [int(ticks) for ticks in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(child) for child in found]


def run_wrk(
    wrk: str, name: str, url: str, env: dict[str, str], script: Path | None, server_pid: int
) -> Result:
    command = ["taskset", "-c", WRK_CORE, wrk, "-t1", f"-c{CONNECTIONS}", "-d2s", url]
    if script:
        command[5:5] = ["-s", str(script)]
    warm_up = subprocess.run(command, env=env, capture_output=True, text=True)
    if warm_up.returncode != 0:
        raise SystemExit(f"{name}: wrk failed ({warm_up.returncode}): {warm_up.stdout} {warm_up.stderr}")
    command[command.index("-d2s")] = f"-d{DURATION}"
    cpu_before, machine_before = cpu_seconds(server_pid), machine_times()
    output = subprocess.run(
        [*command, "--latency"], env=env, check=True, capture_output=True, text=True
    ).stdout
    cpu_used = cpu_seconds(server_pid) - cpu_before
    machine = [after - before for after, before in zip(machine_times(), machine_before, strict=True)]
    steal = 100 * machine[STEAL] / max(sum(machine), 1)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _latency_ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    p99 = _latency_ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = int(bad.group(1)) if bad else 0
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors:
        print(f"  {name}: socket errors {socket_errors.group(1)}")
    return Result(
        name, rps, p50, p99, errors, server_cpu_us=cpu_used / max(requests, 1) * 1e6, steal_percent=steal
    )


def _latency_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


# Limits on, with quotas no benchmark reaches: every request is counted and none refused.
UNREACHED = "1000000000/minute"
LIMITS_OFF = {"TICKETD_RATE_LIMITS": "false"}
LIMITS_IN_MEMORY = {"TICKETD_LIMIT_IP": UNREACHED, "TICKETD_LIMIT_CREDENTIAL": UNREACHED}
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def serve_ticketd(
    where: Path | str, port: int, limits: dict[str, str], log: Path, workers: int = 1
) -> subprocess.Popen[bytes]:
    """`ticketd serve` with its defaults: only the store, the port and the limits' quotas are set."""
    store = (
        {"TICKETD_DATABASE_URL": where} if isinstance(where, str) else {"TICKETD_DATABASE_PATH": str(where)}
    )
    env = {**os.environ, **store, "TICKETD_SECRET_KEY": SECRET_KEY, **limits}
    command = [sys.executable, "-m", "ticketd", "serve", "--port", str(port), "--workers", str(workers)]
    # Two processes get both cores (and share them with wrk); one is pinned as the bare app is.
    return start(command, env, port, log, cores=SERVER_CORE if workers == 1 else "0,1")


def serve_bare(port: int) -> subprocess.Popen[bytes]:
    # The same server settings as `ticketd serve`: uvloop, httptools, no access log, one process.
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bare_app:app",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--no-server-header",
        "--log-level",
        "warning",
        "--app-dir",
        str(ROOT / "scripts"),
    ]
    return start(command, dict(os.environ), port)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(10)


def main() -> None:
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="ticketd-bench-"))
    script = workdir / "status.lua"
    script.write_text(LUA)
    servers: list[subprocess.Popen[bytes]] = []
    postgres_url = ""
    try:
        print(f"loading {LARGE:,} tickets into a fresh store ...", flush=True)
        large = load_store(workdir / "large.sqlite3", LARGE)
        rows_per_second = large.rows_per_second
        print(f"  loaded at {rows_per_second:,.0f} tickets/s")
        print(f"loading {SMALL:,} tickets into another ...", flush=True)
        small = load_store(workdir / "small.sqlite3", SMALL)
        print(f"loading {LARGE:,} tickets into a fresh PostgreSQL database ...", flush=True)
        postgres_url = fresh_postgres_database()
        postgres = load_store(postgres_url, LARGE)
        print(f"  loaded at {postgres.rows_per_second:,.0f} tickets/s")
        print(f"importing {LARGE:,} rows as an operation ...", flush=True)
        import_rate, import_seconds = import_rows_per_second(workdir / "imports.sqlite3", LARGE)
        print(f"  imported in {import_seconds:.1f} s ({import_rate:,.0f} rows/s)")

        # A server that has run for a while has its store in the page cache; a file just written
        # may have been partly evicted (this machine reclaims cold pages). Read both in first.
        for store in ("large.sqlite3", "small.sqlite3"):
            with (workdir / store).open("rb") as stream:
                while stream.read(1 << 20):
                    pass

        # Every server runs at once, pinned to the same core; wrk drives one at a time. The
        # scenarios alternate with the bare app for ROUNDS rounds and the medians are compared,
        # so a slow patch of the machine weighs on all of them alike.
        # The lookups compare the stores with limits off; the same store is then served with
        # limits on, counted in memory (the embedded default) and in Redis (scaled out), and the
        # PostgreSQL store likewise; then two server processes of each.
        redis_limits = {
            **LIMITS_IN_MEMORY,
            "TICKETD_REDIS_URL": REDIS_URL,
            "TICKETD_REDIS_PREFIX": f"ticketd-bench-{os.getpid()}",
        }
        big_file, small_file = workdir / "large.sqlite3", workdir / "small.sqlite3"
        logs = workdir / "servers.log"
        # (store, limits, processes) of each server after the bare app
        configurations: list[tuple[Path | str, dict[str, str], int]] = [
            (big_file, LIMITS_OFF, 1),
            (small_file, LIMITS_OFF, 1),
            (big_file, LIMITS_IN_MEMORY, 1),
            (big_file, redis_limits, 1),
            (postgres_url, LIMITS_IN_MEMORY, 1),
            (postgres_url, redis_limits, 1),
            (big_file, LIMITS_IN_MEMORY, 2),
            (postgres_url, redis_limits, 2),
        ]
        ports = [free_port() for _ in range(len(configurations) + 1)]
        servers = [serve_bare(ports[0])]
        for port, (where, limits, processes) in zip(ports[1:], configurations, strict=True):
            servers.append(serve_ticketd(where, port, limits, logs, processes))
        iam = iam_token(ports[1])
        postgres_iam = iam_token(ports[6])
        wallet_path = f"/v1/ticket/{large.operation_id}"
        big, few, memory, shared = (
            f"{LARGE:,} tickets",
            f"{SMALL:,} tickets",
            "limits in memory",
            "limits in Redis",
        )
        pg = "PostgreSQL"
        # (name, which server, path, credential header, its value, tickets to pick from, revalidate)
        key = "Authorization"
        plans = [
            (f"status, {big}", 1, NATIVE_STATUS, key, large.basic, LARGE, "0"),
            (f"status 304, {big}", 1, NATIVE_STATUS, key, large.basic, LARGE, "1"),
            (f"status, {few}", 2, NATIVE_STATUS, key, small.basic, SMALL, "0"),
            (f"status 304, {few}", 2, NATIVE_STATUS, key, small.basic, SMALL, "1"),
            (f"status, {LARGE:,}, {memory}", 3, NATIVE_STATUS, key, large.basic, LARGE, "0"),
            (f"status 304, {LARGE:,}, {memory}", 3, NATIVE_STATUS, key, large.basic, LARGE, "1"),
            (f"status, {LARGE:,}, {shared}", 4, NATIVE_STATUS, key, large.basic, LARGE, "0"),
            (f"huawei status, {big}", 1, HUAWEI_STATUS, "X-Auth-Token", iam, LARGE, "0"),
            (f"wallet ticket, {big}", 1, wallet_path, key, large.basic, 1, "0"),
            (f"{pg} status, {memory}", 5, NATIVE_STATUS, key, postgres.basic, LARGE, "0"),
            (f"{pg} status, {shared}", 6, NATIVE_STATUS, key, postgres.basic, LARGE, "0"),
            (f"{pg} status 304, {shared}", 6, NATIVE_STATUS, key, postgres.basic, LARGE, "1"),
            (f"{pg} huawei status, {shared}", 6, HUAWEI_STATUS, "X-Auth-Token", postgres_iam, LARGE, "0"),
            (f"status, {memory}, 2 processes", 7, NATIVE_STATUS, key, large.basic, LARGE, "0"),
            (f"{pg} status, {shared}, 2 processes", 8, NATIVE_STATUS, key, postgres.basic, LARGE, "0"),
        ]
        scenarios: list[tuple[str, int, dict[str, str], Path | None, subprocess.Popen[bytes]]] = [
            ("bare ASGI app", ports[0], dict(os.environ), None, servers[0]),
            *(
                (name, ports[at], _wrk_env(path, value, count, again, header), script, servers[at])
                for name, at, path, header, value, count, again in plans
            ),
        ]
        runs: dict[str, list[Result]] = {name: [] for name, *_ in scenarios}
        for round_number in range(ROUNDS):
            print(f"round {round_number + 1} of {ROUNDS} ...", flush=True)
            # The bare app first, then the others in an order rotated each round.
            shift = round_number % (len(scenarios) - 1)
            measured = scenarios[1:][shift:] + scenarios[1:][:shift]
            for name, port, env, lua, server in [scenarios[0], *measured]:
                path = "/" if lua is None else ""
                url = f"http://127.0.0.1:{port}{path}"
                runs[name].append(run_wrk(wrk, name, url, env, lua, server.pid))
        print("propagation: commits on another connection, read back through a loaded server ...", flush=True)
        delays = propagation_delays(
            wrk,
            ports[6],
            postgres_url,
            postgres.basic,
            script,
            _wrk_env(NATIVE_STATUS, postgres.basic, LARGE, "0"),
        )
        results = [_median(name, runs[name], server) for name, *_, server in scenarios]
    except BaseException:
        # What the servers said is gone with the working directory: shown before it goes.
        for server in servers:
            if server.poll() is not None:
                print(f"server {server.args!r} exited with {server.returncode}", file=sys.stderr)
        logs_written = workdir / "servers.log"
        if logs_written.exists():
            print(logs_written.read_text(errors="replace")[-6000:], file=sys.stderr)
        raise
    finally:
        for server in servers:
            stop(server)
        if postgres_url:
            drop_postgres_database(postgres_url)
        shutil.rmtree(workdir, ignore_errors=True)

    bare_rps = results[0].requests_per_second
    for result in results:
        result.ratio_to_bare = result.requests_per_second / bare_rps
    print()
    print(f"medians of {ROUNDS} rounds of {DURATION}, {CONNECTIONS} connections, server on one core")
    print("limits off unless named; 'limits in ...': every request counted per IP and per credential")
    print(
        f"{'scenario':<42}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'x bare':>8}{'errors':>8}{'peak MB':>9}"
        f"{'cpu us':>8}{'steal %':>8}"
    )
    for r in results:
        print(
            f"{r.name:<42}{r.requests_per_second:>10,.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{r.ratio_to_bare:>8.2f}{r.errors:>8}{r.peak_memory_mb:>9.1f}{r.server_cpu_us:>8.1f}"
            f"{r.steal_percent:>8.1f}"
        )
    print("cpu us: the server's CPU time per request (user + system)")
    print(
        "steal %: the machine's CPU time its hypervisor gave to other guests during the runs (a shared host)"
    )
    print(
        f"\npropagation, a commit on another connection to its lookup through a server under load"
        f" ({len(delays)} commits): p50 {_percentile(delays, 50) * 1000:.1f} ms,"
        f" p99 {_percentile(delays, 99) * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms"
    )
    print(f"bulk load: {rows_per_second:,.0f} tickets/s")
    print(f"import of {LARGE:,} rows as an operation: {import_seconds:.1f} s, {import_rate:,.0f} rows/s")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(
        json.dumps(
            {
                "results": [asdict(r) for r in results],
                "load_tickets_per_second": rows_per_second,
                "import_rows_per_second": import_rate,
                "import_seconds": import_seconds,
                "propagation_ms": {
                    "p50": _percentile(delays, 50) * 1000,
                    "p99": _percentile(delays, 99) * 1000,
                    "max": max(delays) * 1000,
                },
            },
            indent=2,
        )
    )
    if any(r.errors for r in results):
        sys.exit("some requests failed: see the errors column")


def propagation_delays(
    wrk: str, port: int, postgres_url: str, basic: str, script: Path, load_env: dict[str, str]
) -> list[float]:
    """Seconds from the commit of a status change (on a connection of its own, as another process
    on another host would make it) to the first lookup through the server that shows it, while
    wrk keeps the server busy with lookups."""
    load = subprocess.Popen(
        [
            "taskset",
            "-c",
            WRK_CORE,
            wrk,
            "-t1",
            f"-c{CONNECTIONS}",
            "-d30s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        env=load_env,
        stdout=subprocess.DEVNULL,
    )
    delays: list[float] = []
    statuses = ("open", "pending")
    try:
        time.sleep(1)
        arguments = libpq_arguments(Settings(database_url=postgres_url))
        with (
            psycopg.connect(**arguments, autocommit=True) as writer,
            httpx2.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": basic}) as client,
        ):
            for attempt in range(300):
                ticket_id = 1 + attempt * 3_001 % LARGE
                status = statuses[attempt % 2]
                version = writer.execute(
                    "UPDATE tickets SET status = %s, version = version + 1 WHERE id = %s RETURNING version",
                    (status, ticket_id),
                ).fetchone()[0]  # type: ignore[index]
                committed = time.perf_counter()
                while True:
                    answer = client.get(NATIVE_STATUS.format(id=ticket_id))
                    if answer.status_code == 200 and answer.headers["etag"] == f'"{ticket_id}-{version}"':
                        break
                    if time.perf_counter() - committed > 10:
                        raise RuntimeError(f"ticket {ticket_id} did not show its change within 10 s")
                delays.append(time.perf_counter() - committed)
                time.sleep(0.02)
    finally:
        load.terminate()
        load.wait(10)
    return delays


def _percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def _wrk_env(
    path: str, value: str, count: int, revalidate: str, header: str = "Authorization"
) -> dict[str, str]:
    return {
        **os.environ,
        "BENCH_PATH": path,
        "BENCH_HEADER": header,
        "BENCH_VALUE": value,
        "BENCH_N": str(count),
        "BENCH_REVALIDATE": revalidate,
    }


def _median(name: str, runs: list[Result], server: subprocess.Popen[bytes]) -> Result:
    def middle(values: list[float]) -> float:
        return statistics.median(values)

    return Result(
        name=name,
        requests_per_second=middle([r.requests_per_second for r in runs]),
        p50_ms=middle([r.p50_ms for r in runs]),
        p99_ms=middle([r.p99_ms for r in runs]),
        errors=sum(r.errors for r in runs),
        peak_memory_mb=peak_memory_mb(server.pid),
        server_cpu_us=middle([r.server_cpu_us for r in runs]),
        steal_percent=middle([r.steal_percent for r in runs]),
    )


if __name__ == "__main__":
    main()
