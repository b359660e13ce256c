"""The webhooks' fan-out, measured on the embedded default (`ticketd serve`, SQLite, limits counted
in memory with quotas out of reach), with 3 local receivers (keep-alive, answering 204 at once).

Status changes are committed by another process on its own connection (as a second host, or the
command line, would make them), so the changes' own HTTP requests do not compete with what is
measured. Three runs of CHANGES changes each:

1. changes alone: deliveries per second, and commit-to-delivery latency p50/p99 (from the change's
   time in the message body to its arrival: an upper bound, the commit comes a little after);
2. changes while wrk polls status lookups, with every endpoint disabled (nothing is delivered);
3. the same with the endpoints enabled (every change delivered three times), with its latency.

The lookups' figures of 2 and 3, against wrk alone, show what deliveries cost the polled path.
Run alone with `make bench-webhooks`; `make bench` runs it after the lookups."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (
    LIMITS_IN_MEMORY,
    LUA,
    NATIVE_STATUS,
    SECRET_KEY,
    WRK_CORE,
    Result,
    _latency_ms,
    _percentile,
    _wrk_env,
    ensure_wrk,
    free_port,
    load_store,
    run_wrk,
    serve_ticketd,
    stop,
    store_settings,
)

from ticketd.core import tickets
from ticketd.core.lifecycle import Status
from ticketd.core.principal import Principal, Role
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.tables import Ticket

CHANGES = int(os.environ.get("BENCH_WEBHOOK_CHANGES", "10000"))
# BENCH_WEBHOOK_WORKER=1: deliveries by a `ticketd worker` process instead of the server's own thread.
SEPARATE_WORKER = os.environ.get("BENCH_WEBHOOK_WORKER", "") == "1"
RECEIVERS = 3
TICKETS = 10_000


@dataclass
class Deliveries:
    count: int
    expected: int
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def main() -> None:
    wrk = ensure_wrk()
    # The bench's own work (the writer) shares wrk's core, as the receivers do.
    os.sched_setaffinity(0, {int(WRK_CORE)})
    workdir = Path(tempfile.mkdtemp(prefix="ticketd-bench-webhooks-"))
    script = workdir / "status.lua"
    script.write_text(LUA)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        print(f"webhooks: loading {TICKETS:,} tickets ...", flush=True)
        path = workdir / "store.sqlite3"
        store = load_store(path, TICKETS)
        sinks = []
        for number in range(RECEIVERS):
            port = free_port()
            output = workdir / f"sink{number}.txt"
            sink = [sys.executable, str(Path(__file__).parent / "webhook_sink.py"), str(port), str(output)]
            processes.append(subprocess.Popen(["taskset", "-c", WRK_CORE, *sink]))
            sinks.append((f"http://127.0.0.1:{port}/hook", output))
        port = free_port()
        env = {**LIMITS_IN_MEMORY, "TICKETD_WEBHOOK_ALLOW_PRIVATE": "true"}
        if SEPARATE_WORKER:
            env["TICKETD_EMBEDDED_WORKER"] = "false"
        server = serve_ticketd(path, port, env, workdir / "server.log")
        processes.append(server)
        if SEPARATE_WORKER:
            # The scaled-out shape: deliveries in a `ticketd worker`, on the other core.
            worker_env = {
                **os.environ,
                **env,
                "TICKETD_DATABASE_PATH": str(path),
                "TICKETD_SECRET_KEY": SECRET_KEY,
            }
            worker_log = (workdir / "worker.log").open("ab")
            processes.append(
                subprocess.Popen(
                    ["taskset", "-c", WRK_CORE, sys.executable, "-m", "ticketd", "worker"],
                    env=worker_env,
                    stdout=worker_log,
                    stderr=worker_log,
                )
            )
        client = httpx2.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1", headers={"Authorization": store.basic}, timeout=30
        )
        endpoint_ids = []
        for url, _ in sinks:
            made = client.post("/webhooks", json={"url": url, "events": ["ticket.status_changed"]})
            made.raise_for_status()
            endpoint_ids.append(made.json()["id"])
        outputs = [output for _, output in sinks]
        writer = Writer(path)
        lookups = _wrk_env(NATIVE_STATUS, store.basic, TICKETS, "0")
        url = f"http://127.0.0.1:{port}"

        print("status lookups alone ...", flush=True)
        alone = run_wrk(wrk, "status lookups alone", url, lookups, script, server.pid)
        print("changes alone, delivered ...", flush=True)
        started, seconds = writer.change(CHANGES)
        quiet = _delivered(outputs, started, CHANGES * RECEIVERS)
        for endpoint_id in endpoint_ids:
            client.patch(f"/webhooks/{endpoint_id}", json={"disabled": True}).raise_for_status()
        print("changes with every endpoint disabled, under status lookups ...", flush=True)
        load = _start_wrk(wrk, url, lookups, script)
        _, undelivered_seconds = writer.change(CHANGES)
        undelivered = _stop_wrk(load)
        for endpoint_id in endpoint_ids:
            client.patch(f"/webhooks/{endpoint_id}", json={"disabled": False}).raise_for_status()
        print("changes delivered, under status lookups ...", flush=True)
        load = _start_wrk(wrk, url, lookups, script)
        loaded_started, loaded_seconds = writer.change(CHANGES)
        loaded = _delivered(outputs, loaded_started, CHANGES * RECEIVERS)
        delivering = _stop_wrk(load)
    finally:
        for process in processes:
            stop(process)

    print()
    where = "a `ticketd worker` on the other core" if SEPARATE_WORKER else "the server's own thread"
    print(f"webhooks: {CHANGES:,} status changes committed by another process, {RECEIVERS} receivers")
    print(f"  delivered by {where}")
    for label, rate, found in (
        ("changes alone", CHANGES / seconds, quiet),
        ("changes under status lookups", CHANGES / loaded_seconds, loaded),
    ):
        print(
            f"  {label}: {rate:,.0f} changes/s committed; {found.count:,} of {found.expected:,} delivered,"
            f" {found.per_second:,.0f} deliveries/s; commit to delivery p50 {found.p50_ms:.0f} ms,"
            f" p99 {found.p99_ms:.0f} ms, max {found.max_ms:.0f} ms"
        )
    undelivered_rate = CHANGES / undelivered_seconds
    print(f"  changes under status lookups, none delivered: {undelivered_rate:,.0f} changes/s committed")
    for label, result in (
        ("status lookups alone", alone),
        ("... while changes are made, none delivered", undelivered),
        ("... while changes are made and delivered", delivering),
    ):
        print(
            f"  {label:<46}{result.requests_per_second:>9,.0f} req/s,"
            f" p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, errors {result.errors}"
        )
    void = alone.errors or undelivered.errors or delivering.errors
    if void or quiet.count < quiet.expected or loaded.count < loaded.expected:
        sys.exit("some requests failed or some messages were not delivered: the figures are void")


class Writer:
    """Status changes committed on a connection of this process: open tickets to pending and back."""

    def __init__(self, path: Path) -> None:
        self.sessions = session_factory(build_engine(store_settings(path)))
        with unit_of_work(self.sessions, write=False) as db:
            ticket = db.get(Ticket, 1)
            assert ticket is not None and ticket.requester_id is not None
            self.principal = Principal(
                tenant_id=ticket.tenant_id, user_id=ticket.requester_id, role=Role.ADMIN
            )
        # Every fifth ticket of the store is open (see load_store).
        self.states = {n + 1: Status.OPEN for n in range(TICKETS) if n % 5 == 1}
        self.order = list(self.states)

    def change(self, count: int) -> tuple[float, float]:
        """Commits `count` changes, one a transaction; when they began (unix time) and how long they took."""
        started, clock = time.time(), time.perf_counter()
        for number in range(count):
            ticket_id = self.order[number % len(self.order)]
            target = Status.PENDING if self.states[ticket_id] is Status.OPEN else Status.OPEN
            with unit_of_work(self.sessions, write=True) as db:
                tickets.transition(db, self.principal, ticket_id, target)
                db.commit()
            self.states[ticket_id] = target
        return started, time.perf_counter() - clock


def _delivered(outputs: list[Path], started: float, expected: int) -> Deliveries:
    """Waits for the deliveries of changes made since `started`; their rate and latencies."""
    deadline = time.monotonic() + 120
    fresh: list[list[str]] = []
    while time.monotonic() < deadline:
        lines = [line.split() for output in outputs for line in output.read_text().splitlines() if line]
        fresh = [fields for fields in lines if float(fields[2]) >= started]
        if len(fresh) >= expected:
            break
        time.sleep(0.5)
    latencies = sorted(float(fields[0]) - float(fields[2]) for fields in fresh)
    last = max(float(fields[0]) for fields in fresh)
    return Deliveries(
        count=len(fresh),
        expected=expected,
        per_second=len(fresh) / (last - started),
        p50_ms=_percentile(latencies, 50) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
        max_ms=latencies[-1] * 1000,
    )


def _start_wrk(wrk: str, url: str, env: dict[str, str], script: Path) -> subprocess.Popen[str]:
    command = ["taskset", "-c", WRK_CORE, wrk, "-t1", "-c32", "-d300s", "--latency", "-s", str(script), url]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    return process


def _stop_wrk(process: subprocess.Popen[str]) -> Result:
    """wrk stopped with SIGINT prints its figures for the time it ran."""
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _latency_ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    p99 = _latency_ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Result("lookups", rps, p50, p99, int(bad.group(1)) if bad else 0)


if __name__ == "__main__":
    main()
