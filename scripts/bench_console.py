"""The console's queue over a million tickets: server time of the queue page with each filter; and
what the console's presence costs the status lookups (served with and without it).

Loads BENCH_TICKETS (1,000,000) tickets with varied subjects, statuses, requesters, assignees and
tags into a fresh SQLite store (the embedded default; BENCH_CONSOLE_POSTGRES=1 adds the machine's
PostgreSQL), signs an agent in, and requests `/console/queue` with each filter in process (the
app called through its ASGI interface, so the time is the server's: routing, session, queries,
template) after a warm-up. Prints p50/p95/max per filter; every answer must be 200.

Then native status lookups under wrk (server pinned to one core, wrk to the other, rate limits
counted in memory with quotas out of reach), alternating a server with every face and one with
every face but the console (`TICKETD_FACES`), ROUNDS times; any answer not 2xx voids the figure.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import (
    LIMITS_IN_MEMORY,
    LUA,
    NATIVE_STATUS,
    Result,
    _wrk_env,
    drop_postgres_database,
    ensure_wrk,
    fresh_postgres_database,
    fresh_store,
    load_store,
    run_wrk,
    serve_ticketd,
    stop,
    store_settings,
)

from ticketd.assembly.app import create_app
from ticketd.core import console_sessions, identity
from ticketd.core.principal import Role
from ticketd.store.bulk import NewTicket, insert_tickets
from ticketd.store.engine import build_engine, refresh_statistics, session_factory, unit_of_work
from ticketd.store.text_index import index_new_tickets

COUNT = int(os.environ.get("BENCH_TICKETS", "1000000"))
REPEAT = int(os.environ.get("BENCH_CONSOLE_REPEAT", "15"))
STATUSES = ("new", "open", "pending", "solved", "closed", "canceled")
WEIGHTS = (5, 10, 5, 30, 45, 5)
WORDS = (
    "printer",
    "vpn",
    "email",
    "laptop",
    "password",
    "invoice",
    "portal",
    "login",
    "network",
    "screen",
    "keyboard",
    "backup",
    "calendar",
    "license",
    "account",
    "badge",
    "phone",
    "server",
    "database",
    "report",
    "export",
    "import",
    "meeting",
    "room",
    "projector",
    "wifi",
    "storage",
    "update",
    "install",
    "access",
    "payroll",
    "finance",
    "spam",
    "calendar",
    "sync",
    "drive",
)
TAGS = [f"tag{n}" for n in range(50)] + ["vpn", "hardware", "billing", "access"]
CUSTOMERS = 2000
AGENTS = 20
BATCH = 20_000


def load(where: Path | str) -> None:
    engine, sessions = fresh_store(where)
    rng = random.Random(7)
    with unit_of_work(sessions, write=True) as db:
        tenant = identity.create_tenant(db, slug="bench", name="Bench")
        agents = [
            identity.create_user(db, tenant=tenant, username=f"agent{n}", role=Role.AGENT, password=None).id
            for n in range(AGENTS)
        ]
        customers = [
            identity.create_user(
                db, tenant=tenant, username=f"customer{n}", role=Role.CUSTOMER, password=None
            ).id
            for n in range(CUSTOMERS)
        ]
        tenant_id = tenant.id
        db.commit()
    base = datetime(2025, 12, 1, tzinfo=UTC)
    started = time.perf_counter()
    for offset in range(0, COUNT, BATCH):
        rows = []
        for n in range(offset, min(offset + BATCH, COUNT)):
            words = " ".join(rng.sample(WORDS, 3))
            rows.append(
                NewTicket(
                    subject=f"{words.capitalize()} problem {n}",
                    status=rng.choices(STATUSES, WEIGHTS)[0],
                    priority=rng.choice(("low", "normal", "normal", "high", "urgent")),
                    type="incident",
                    channel="email",
                    created_at=base + timedelta(seconds=n * 30),
                    requester_id=rng.choice(customers),
                    creator_id=None,
                    values={"content": f"Reported by a customer: {words} does not work."},
                    tags=rng.sample(TAGS, 2) if rng.random() < 0.2 else (),
                )
            )
        with unit_of_work(sessions, write=True) as db:
            ids = insert_tickets(db, tenant_id, rows)
            assigned = [(ticket_id, rng.choice(agents), 0) for ticket_id in ids if rng.random() < 0.6]
            cursor = db.connection().connection.cursor()
            placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
            cursor.executemany(
                "INSERT INTO ticket_assignees (ticket_id, user_id, position) VALUES "
                f"({placeholder}, {placeholder}, {placeholder})",
                assigned,
            )
            db.commit()
    print(f"  loaded {COUNT:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
    # As the worker does in the background on SQLite (store/text_index.py).
    started, indexed = time.perf_counter(), 0
    while added := index_new_tickets(sessions, 20_000):
        indexed += added
    if indexed:
        print(f"  the worker's text index took them in {time.perf_counter() - started:.0f} s", flush=True)
    # As a running ticketd keeps them: its worker refreshes the planner's statistics now and then.
    refresh_statistics(sessions)
    if engine.dialect.name != "sqlite":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


SCENARIOS = {
    "no filter": {},
    "status=open": {"status": "open"},
    "status=solved": {"status": "solved"},
    "assignee": {"assignee": "agent3"},
    "requester": {"requester": "customer42"},
    "tag": {"tag": "vpn"},
    "text (rare)": {"q": "problem 123456"},
    "text (common)": {"q": "projector"},
    "text + status": {"q": "vpn", "status": "pending"},
    "assignee + status": {"assignee": "agent3", "status": "open"},
}


def measure(where: Path | str, label: str) -> None:
    settings = store_settings(where).model_copy(
        update={"secret_key": "bench-" + "k" * 40, "embedded_worker": False, "limit_ip": "100000000/minute"}
    )
    app = create_app(settings)
    with TestClient(app) as client:
        engine = build_engine(settings)
        with unit_of_work(session_factory(engine), write=True) as db:
            agent = identity.user_by_username(db, tenant_id=1, username="agent0")
            assert agent is not None
            token = console_sessions.start(db, agent, lifetime=timedelta(hours=1))
            db.commit()
        engine.dispose()
        client.cookies.set("ticketd_console", token, path="/console")
        print(f"\nqueue page over {COUNT:,} tickets, {label} (ms of server time; {REPEAT} requests each)")
        print(f"  {'filter':<20} {'p50':>8} {'p95':>8} {'max':>8}  tickets")
        for name, params in SCENARIOS.items():
            times = []
            for n in range(REPEAT + 2):
                started = time.perf_counter()
                answer = client.get("/console/queue", params=params)
                elapsed = (time.perf_counter() - started) * 1000
                if answer.status_code != 200:
                    raise SystemExit(f"{name}: {answer.status_code} {answer.text[:300]}")
                if n >= 2:  # the first two warm the caches
                    times.append(elapsed)
            total = answer.text.split('class="total" role="status">', 1)[1].split("</p>", 1)[0]
            total = total.removesuffix(" tickets").removesuffix(" ticket")
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(
                f"  {name:<20} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}  {total}",
                flush=True,
            )


ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
ALL_BUT_CONSOLE = "native,wallet,onecloud,prioticket,huawei,status"


def hot_path_with_and_without_console(workdir: Path) -> None:
    wrk = ensure_wrk()
    script = workdir / "status.lua"
    script.write_text(LUA)
    store = load_store(workdir / "lookups.sqlite3", 10_000)
    env = _wrk_env(NATIVE_STATUS, store.basic, 10_000, "0")
    runs: dict[str, list[Result]] = {"with the console": [], "without it": []}
    servers = {}
    try:
        for n, (name, faces) in enumerate((("with the console", ""), ("without it", ALL_BUT_CONSOLE))):
            port = 18_700 + n
            limits = {**LIMITS_IN_MEMORY, "TICKETD_FACES": faces}
            servers[name] = (
                port,
                serve_ticketd(workdir / "lookups.sqlite3", port, limits, workdir / f"{n}.log"),
            )
        for _ in range(ROUNDS):
            for name, (port, server) in servers.items():
                result = run_wrk(wrk, name, f"http://127.0.0.1:{port}", env, script, server.pid)
                if result.errors:
                    raise SystemExit(f"{name}: {result.errors} answers not 2xx/3xx: the figure is void")
                runs[name].append(result)
    finally:
        for _, server in servers.values():
            stop(server)
    print(f"\nnative status lookups, one core, medians of {ROUNDS} rounds")
    print(f"  {'server':<18} {'req/s':>9} {'(range)':>15} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/req':>10}")
    for name, results in runs.items():
        rps = statistics.median(r.requests_per_second for r in results)
        p50 = statistics.median(r.p50_ms for r in results)
        p99 = statistics.median(r.p99_ms for r in results)
        cpu = statistics.median(r.server_cpu_us for r in results)
        rates = [r.requests_per_second for r in results]
        spread = f"{min(rates):,.0f}-{max(rates):,.0f}"
        print(f"  {name:<18} {rps:9,.0f} {spread:>15} {p50:7.2f} {p99:7.2f} {cpu:10.1f}")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ticketd-console-bench-"))
    if os.environ.get("BENCH_CONSOLE_HOT_PATH", "1") == "1":
        hot_path_with_and_without_console(workdir)
    path = workdir / "console.sqlite3"
    print(f"loading {COUNT:,} tickets into a fresh SQLite store ...", flush=True)
    load(path)
    measure(path, "SQLite (the embedded default)")
    if os.environ.get("BENCH_CONSOLE_POSTGRES") == "1":
        url = fresh_postgres_database()
        try:
            print(f"loading {COUNT:,} tickets into PostgreSQL ...", flush=True)
            load(url)
            measure(url, "PostgreSQL")
        finally:
            drop_postgres_database(url)


if __name__ == "__main__":
    main()
