"""`make bench-logins`: status lookups while 40 clients flood every password-taking face with wrong
passwords (distinct user names, so no per-account limit helps), against the same lookups without.

The server runs as `ticketd serve` does, on one core, limits on with quotas no run reaches; wrk and
the flooding clients share the other core. Prints p50/p99 of the lookups both ways and their ratio,
and what the flood was answered.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The benchmark's own helpers, beside this script.
from bench import (
    LIMITS_IN_MEMORY,
    LUA,
    ensure_wrk,
    free_port,
    load_store,
    run_wrk,
    serve_ticketd,
    stop,
)

FLOODERS = int(os.environ.get("FLOOD_CLIENTS", "40"))
TICKETS = 10_000


def flood(port: int, stop_at: float, answers: Counter[int], lock: threading.Lock, number: int) -> None:
    base = f"http://127.0.0.1:{port}"
    faces = itertools.cycle(("native", "huawei", "onecloud"))
    with httpx2.Client(base_url=base, timeout=30) as client:
        for attempt in itertools.count():
            if time.monotonic() >= stop_at:
                return
            name = f"flooder-{number}-{attempt}"
            face = next(faces)
            if face == "native":
                response = client.post(
                    "/api/v1/auth/token", json={"tenant": "bench", "username": name, "password": "wrong"}
                )
            elif face == "huawei":
                user = {"name": name, "password": "wrong", "domain": {"name": "bench"}}
                body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
                response = client.post("/v3/auth/tokens", json=body)
            else:
                response = client.post(
                    "/api/authenticate",
                    data={"email": f"{name}@x.example", "password": "wrong", "siteId": "1"},
                )
            with lock:
                answers[response.status_code] += 1


def main() -> None:
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="ticketd-flood-"))
    script = workdir / "status.lua"
    script.write_text(LUA)
    store = load_store(workdir / "flood.sqlite3", TICKETS)
    port = free_port()
    server = serve_ticketd(workdir / "flood.sqlite3", port, LIMITS_IN_MEMORY, workdir / "server.log")
    env = {
        **os.environ,
        "BENCH_PATH": "/api/v1/tickets/{id}/status",
        "BENCH_HEADER": "Authorization",
        "BENCH_VALUE": store.basic,
        "BENCH_N": str(TICKETS),
        "BENCH_REVALIDATE": "0",
    }
    try:
        url = f"http://127.0.0.1:{port}"
        quiet = run_wrk(wrk, "status, no flood", url, env, script, server.pid)
        answers: Counter[int] = Counter()
        lock = threading.Lock()
        stop_at = time.monotonic() + 60
        os.sched_setaffinity(0, {1})  # the flood shares wrk's core, not the server's
        threads = [
            threading.Thread(target=flood, args=(port, stop_at, answers, lock, n), daemon=True)
            for n in range(FLOODERS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(2)  # the flood under way before measuring
        flooded = run_wrk(wrk, "status, login flood", url, env, script, server.pid)
        with lock:
            during = dict(answers)
        for thread in threads:
            thread.join(70)
    finally:
        stop(server)
    print(f"{'scenario':<28}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'cpu us':>8}")
    for result in (quiet, flooded):
        print(
            f"{result.name:<28}{result.requests_per_second:>10,.0f}{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}"
            f"{result.errors:>8}{result.server_cpu_us:>8.1f}"
        )
    print(f"p99 with the flood / without: {flooded.p99_ms / quiet.p99_ms:.2f}")
    print(f"{FLOODERS} flooding clients, answers while measured: {during}")
    if quiet.errors or flooded.errors:
        sys.exit("some lookups failed: see the errors column")


if __name__ == "__main__":
    main()
