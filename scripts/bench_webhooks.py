"""The webhooks' fan-out, measured: 10,000 status changes made over the API while wrk polls status
lookups, delivered to 3 local receivers (keep-alive, answering 204 at once), on the embedded
default (`ticketd serve`, SQLite, limits counted in memory with quotas out of reach).

Reports deliveries per second, commit-to-delivery latency p50/p99 (from the change's time in the
message body to its arrival at the receiver: an upper bound, the commit comes a little after), and
the status lookups' throughput three ways: alone, while the changes are made with the endpoints
disabled (nothing delivered), and while the same changes are made and delivered.

Run alone with `make bench-webhooks`; `make bench` runs it after the lookups."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (
    LIMITS_IN_MEMORY,
    LUA,
    NATIVE_STATUS,
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
)

CHANGES = int(os.environ.get("BENCH_WEBHOOK_CHANGES", "10000"))
RECEIVERS = 3
TICKETS = 10_000
WRITERS = 4


def main() -> None:
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="ticketd-bench-webhooks-"))
    script = workdir / "status.lua"
    script.write_text(LUA)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        store = load_store(workdir / "store.sqlite3", TICKETS)
        sinks = []
        for number in range(RECEIVERS):
            port = free_port()
            output = workdir / f"sink{number}.txt"
            processes.append(
                subprocess.Popen(
                    [
                        "taskset",
                        "-c",
                        WRK_CORE,
                        sys.executable,
                        str(Path(__file__).parent / "webhook_sink.py"),
                        str(port),
                        str(output),
                    ]
                )
            )
            sinks.append((f"http://127.0.0.1:{port}/hook", output))
        port = free_port()
        env = {**LIMITS_IN_MEMORY, "TICKETD_WEBHOOK_ALLOW_PRIVATE": "true"}
        server = serve_ticketd(workdir / "store.sqlite3", port, env, workdir / "server.log")
        processes.append(server)
        base = f"http://127.0.0.1:{port}/api/v1"
        client = httpx2.Client(base_url=base, headers={"Authorization": store.basic}, timeout=30)
        endpoint_ids = []
        for url, _ in sinks:
            made = client.post("/webhooks", json={"url": url, "events": ["ticket.status_changed"]})
            made.raise_for_status()
            endpoint_ids.append(made.json()["id"])
        lookups = _wrk_env(NATIVE_STATUS, store.basic, TICKETS, "0")
        alone = run_wrk(wrk, "status lookups alone", f"http://127.0.0.1:{port}", lookups, script, server.pid)
        # Tickets whose status is open (every fifth of the store, see load_store): each change
        # moves one to pending or back.
        open_tickets = [n + 1 for n in range(TICKETS) if n % 5 == 1]
        for endpoint_id in endpoint_ids:
            client.patch(f"/webhooks/{endpoint_id}", json={"disabled": True}).raise_for_status()
        undelivered, _ = _changes_under_load(wrk, port, lookups, script, base, store.basic, open_tickets, 0)
        for endpoint_id in endpoint_ids:
            client.patch(f"/webhooks/{endpoint_id}", json={"disabled": False}).raise_for_status()
        time.sleep(1)
        # Made while disabled: those messages wait. Only what is sent from here on is measured.
        for _, output in sinks:
            output.write_text("")
        started = time.time()
        delivered, seconds = _changes_under_load(
            wrk, port, lookups, script, base, store.basic, open_tickets, 2
        )
        expected = CHANGES * RECEIVERS
        deadline = time.monotonic() + 120
        lines: list[str] = []
        while time.monotonic() < deadline:
            lines = [line for _, output in sinks for line in output.read_text().splitlines() if line]
            if sum(float(line.split()[2]) >= started for line in lines) >= expected:
                break
            time.sleep(0.5)
        fresh = [line.split() for line in lines if float(line.split()[2]) >= started]
        latencies = [float(fields[0]) - float(fields[2]) for fields in fresh]
        last = max(float(fields[0]) for fields in fresh)
        print()
        print(f"webhooks: {CHANGES:,} status changes over the API ({WRITERS} writers), {RECEIVERS} receivers")
        print(f"  changes made in {seconds:.1f} s ({CHANGES / seconds:,.0f}/s)")
        rate = len(fresh) / (last - started)
        print(
            f"  delivered {len(fresh):,} of {expected:,} in {last - started:.1f} s: {rate:,.0f} deliveries/s"
        )
        print(
            f"  commit to delivery: p50 {_percentile(latencies, 50) * 1000:.0f} ms,"
            f" p99 {_percentile(latencies, 99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )
        for label, result in (
            ("status lookups alone", alone),
            ("... while the changes are made, none sent", undelivered),
            ("... while the changes are made and delivered", delivered),
        ):
            print(
                f"  {label:<46}{result.requests_per_second:>9,.0f} req/s,"
                f" p99 {result.p99_ms:.2f} ms, errors {result.errors}"
            )
        if alone.errors or undelivered.errors or delivered.errors or len(fresh) < expected:
            sys.exit("some requests failed or some messages were not delivered: the figures are void")
    finally:
        for process in processes:
            stop(process)


def _changes_under_load(
    wrk: str,
    port: int,
    lookups: dict[str, str],
    script: Path,
    base: str,
    basic: str,
    open_tickets: list[int],
    round_number: int,
) -> tuple[Result, float]:
    """Makes CHANGES status changes from WRITERS threads while wrk polls; the lookups' figures and
    the seconds the changes took."""
    load = subprocess.Popen(
        [
            "taskset",
            "-c",
            WRK_CORE,
            wrk,
            "-t1",
            "-c32",
            "-d120s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        env=lookups,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    errors: list[str] = []

    def write(share: list[tuple[int, str]]) -> None:
        with httpx2.Client(base_url=base, headers={"Authorization": basic}, timeout=30) as writer:
            for ticket_id, target in share:
                answer = writer.post(f"/tickets/{ticket_id}/transitions", json={"to": target})
                if answer.status_code != 200:
                    errors.append(answer.text)

    plan = []
    for number in range(CHANGES):
        ticket_id = open_tickets[number % len(open_tickets)]
        lap = number // len(open_tickets) + round_number
        plan.append((ticket_id, "pending" if lap % 2 == 0 else "open"))
    started = time.perf_counter()
    threads = [threading.Thread(target=write, args=(plan[n::WRITERS],)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    load.send_signal(signal.SIGINT)
    output, _ = load.communicate(timeout=30)
    if errors:
        raise RuntimeError(f"{len(errors)} changes failed, e.g. {errors[0]}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _latency_ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    p99 = _latency_ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Result("lookups", rps, p50, p99, int(bad.group(1)) if bad else 0), seconds


if __name__ == "__main__":
    main()
