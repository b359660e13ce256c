"""What the request telemetry costs a status lookup: the server's CPU a request with it and without it.

"Without" is a copy of this checkout's `src` with the telemetry written out of the hot path
(web/hot_path.py): the request id (the header scan for the client's, the id made, the context
variable, the response field), the duration and its histogram count, and the active-request count.
Both servers are `ticketd serve` with its defaults on the same 10,000-ticket SQLite store, limits
counted in memory with quotas out of reach, alternated round by round with the bare ASGI app, native
status lookups answered 304 and 200, every answer 2xx/304. The cost is the difference of the medians
of the server's CPU a request (the figure a busy machine disturbs least); each round's difference is
printed too, to show the noise. The two servers are measured in turns, first one then the other
going first, each after the bare app.

The copy is made by replacing exact lines of web/hot_path.py; when they change, this script stops
and says which (change it with them). `make bench-telemetry`; BENCH_ROUNDS rounds (default 10).
Both servers are started anew every round. BENCH_TELEMETRY_CONTROL=1 serves the same code as both,
to show what the method itself finds between two identical servers (it should be about 0).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (
    LIMITS_IN_MEMORY,
    LUA,
    NATIVE_STATUS,
    ROOT,
    Result,
    _wrk_env,
    ensure_wrk,
    load_store,
    run_wrk,
    serve_bare,
    serve_ticketd,
    stop,
)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
CONTROL = os.environ.get("BENCH_TELEMETRY_CONTROL") == "1"
# The two servers measured, and whether the copy of each has the telemetry taken out.
MEASURED = (("with telemetry", False), ("without it", True))
HOT_PATH = Path("ticketd/web/hot_path.py")

# (what the source has, what the copy without telemetry has instead)
ID_FIELD_APPENDED = (
    """    headers.append(CURRENT.get())
    await send({"type": "http.response.start\"""",
    """    await send({"type": "http.response.start\"""",
)
REQUEST_BEGINS = (
    """        started = perf_counter()
        headers = scope["headers"]
        offered = None
        size = FIELD_OVERHEAD * len(headers)
        for name, value in headers:
            size += len(name) + len(value)
            if name == REQUEST_ID:
                offered = value
        if offered is None:
            field = (REQUEST_ID, b"%s-%x" % (ID_PREFIX, next(ID_COUNTER)))  # as new_request_id()
        else:
            field = (REQUEST_ID, request_id_for(offered))
        CURRENT.set(field)
        REQUESTS.active += 1
""",
    """        headers = scope["headers"]
        size = FIELD_OVERHEAD * len(headers)
        for name, value in headers:
            size += len(name) + len(value)
        field = (REQUEST_ID, b"-")
""",
)
REQUEST_ENDS_FROM = "        finally:\n            REQUESTS.active -= 1\n"
REQUEST_ENDS_TO = "            counts[-1] += seconds\n"


def without_telemetry(source: str) -> str:
    """web/hot_path.py with the request telemetry taken out."""
    for old, new in (ID_FIELD_APPENDED, REQUEST_BEGINS):
        if old not in source:
            raise SystemExit(f"web/hot_path.py no longer has these lines; update {__file__}:\n{old}")
        source = source.replace(old, new)
    start = source.find(REQUEST_ENDS_FROM)
    end = source.find(REQUEST_ENDS_TO, start)
    if start < 0 or end < 0:
        raise SystemExit(f"web/hot_path.py's `finally` block has changed; update {__file__}")
    return source[:start] + "        finally:\n            pass\n" + source[end + len(REQUEST_ENDS_TO) :]


def copy_of_source(where: Path, change: bool) -> Path:
    target = where / "src"
    shutil.copytree(ROOT / "src", target, ignore=shutil.ignore_patterns("__pycache__"))
    if change:
        hot_path = target / HOT_PATH
        hot_path.write_text(without_telemetry(hot_path.read_text()))
    return target


def start_server(workdir: Path, source: Path, port: int) -> subprocess.Popen[bytes]:
    # The copy comes first on the server's path, before the checkout's editable install.
    os.environ["PYTHONPATH"] = str(source)
    try:
        return serve_ticketd(workdir / "lookups.sqlite3", port, LIMITS_IN_MEMORY, workdir / f"{port}.log")
    finally:
        del os.environ["PYTHONPATH"]


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ticketd-telemetry-bench-"))
    wrk = ensure_wrk()
    script = workdir / "status.lua"
    script.write_text(LUA)
    print("loading 10,000 tickets ...", flush=True)
    store = load_store(workdir / "lookups.sqlite3", 10_000)
    servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {"bare ASGI app": (18_800, serve_bare(18_800))}
    # CONTROL=1 serves the checkout's code as both: what the method finds between two identical servers.
    sources = {
        name: copy_of_source(workdir / str(n), change and not CONTROL)
        for n, (name, change) in enumerate(MEASURED)
    }
    try:
        modes = {"304": "1", "200": "0"}
        names = ["bare ASGI app", *sources]
        runs: dict[tuple[str, str], list[Result]] = {(mode, name): [] for mode in modes for name in names}
        for round_number in range(ROUNDS):
            # New server processes every round: one process can run a little faster than another
            # with the same code (where its memory landed), and that must not count as the cost.
            for n, (name, source) in enumerate(sources.items()):
                if name in servers:
                    stop(servers.pop(name)[1])
                port = 18_801 + n
                servers[name] = (port, start_server(workdir, source, port))
            for mode, revalidate in modes.items():
                env = _wrk_env(NATIVE_STATUS, store.basic, 10_000, revalidate)
                # The two servers take turns to go first: whichever follows the bare app's run
                # would otherwise always meet the machine in the same state (ABBA).
                bare_app, *measured = names
                order = [bare_app, *(measured if round_number % 2 == 0 else reversed(measured))]
                for name in order:
                    port, server = servers[name]
                    lua = None if name == "bare ASGI app" else script
                    result = run_wrk(wrk, name, f"http://127.0.0.1:{port}", env, lua, server.pid)
                    if result.errors:
                        raise SystemExit(f"{name}: {result.errors} answers not 2xx/3xx: the figure is void")
                    runs[(mode, name)].append(result)
            print(f"round {round_number + 1} of {ROUNDS} done", flush=True)
    finally:
        for _, server in servers.values():
            stop(server)
    print(f"\nnative status lookups, one core, medians of {ROUNDS} rounds")
    for mode in modes:
        bare = statistics.median(r.requests_per_second for r in runs[(mode, "bare ASGI app")])
        print(f"  answered {mode}")
        for name in names:
            results = runs[(mode, name)]
            rps = statistics.median(r.requests_per_second for r in results)
            cpu = statistics.median(r.server_cpu_us for r in results)
            steal = statistics.median(r.steal_percent for r in results)
            print(
                f"    {name:<16} {rps:9,.0f} req/s  x bare {rps / bare:5.3f}  CPU {cpu:5.1f} us/req"
                f"  steal {steal:4.1f} %"
            )
        with_it = [r.server_cpu_us for r in runs[(mode, "with telemetry")]]
        without = [r.server_cpu_us for r in runs[(mode, "without it")]]
        each = ", ".join(f"{a - b:.1f}" for a, b in zip(with_it, without, strict=True))
        cost = statistics.median(with_it) - statistics.median(without)
        print(f"    telemetry's cost: {cost:.2f} us of server CPU a request (each round: {each})")


if __name__ == "__main__":
    main()
