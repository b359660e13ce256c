"""What the request telemetry costs, measured in one process: uvicorn's own HTTP protocol (httptools)
on in-memory transports in front of the app, with the hot path swapped between the checkout's
web/hot_path.py and the same file with the telemetry taken out (bench_telemetry.py's copy), round
by round.

Two servers measured one after the other (bench_telemetry.py) differ by more than the telemetry
on a shared machine: where each process's memory landed, what the host did meanwhile. Here both
variants run in the same process, alternating every few thousand requests, so what is left is the
difference of the code, everything the server does in user space included (parsing, the scope,
the app, the response's header block); only the kernel's part (the socket calls, the same for both
but for the header's 30 bytes) is not measured. Native status lookups on a 10,000-ticket SQLite
store, limits counted in memory with quotas out of reach, answered 304 and 200, 32 connections.

`make bench-telemetry` runs it after bench_telemetry.py; BENCH_ROUNDS rounds (default 16).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import load_store
from bench_telemetry import without_telemetry

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "16"))
REQUESTS = 16_000
WARM_UP = 300  # each connection's, before every measured run
CONNECTIONS = 32
TICKETS = 10_000


class MemoryTransport:
    """What uvicorn's protocol needs of a transport; it keeps the status line of each response."""

    def __init__(self, seen: set[tuple[str, bytes, bool]], variant: list[str]) -> None:
        self.seen, self.variant, self.closed = seen, variant, False

    def write(self, data: bytes) -> None:
        if data.startswith(b"HTTP/1.1"):
            self.seen.add((self.variant[0], data.split(b"\r\n", 1)[0], b"x-request-id" in data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


def variants() -> dict[str, Callable[[], None]]:
    """Each variant as a function that puts its hot path in place."""
    import ticketd.web.hot_path as checkout

    copy = types.ModuleType("ticketd.web.hot_path_without_telemetry")
    sys.modules[copy.__name__] = copy  # its dataclass looks its module up
    source = without_telemetry(Path(checkout.__file__).read_text())
    # The checkout's own hot path with the telemetry lines taken out (bench_telemetry.py).
    exec(compile(source, copy.__name__, "exec"), copy.__dict__)  # noqa: S102
    originals = (checkout.HotPaths.__call__, checkout.respond_hot)

    def put(call: Any, respond: Any) -> Callable[[], None]:
        def install() -> None:
            checkout.HotPaths.__call__ = call  # type: ignore[method-assign]
            # The faces call `respond_hot` by the name they imported.
            for module in list(sys.modules.values()):
                if module is not copy and getattr(module, "respond_hot", None) in (
                    originals[1],
                    copy.respond_hot,
                ):
                    module.respond_hot = respond  # type: ignore[attr-defined]

        return install

    return {"with telemetry": put(*originals), "without it": put(copy.HotPaths.__call__, copy.respond_hot)}


async def measure(
    variants_by_name: dict[str, Callable[[], None]], basic: str, revalidate: bool
) -> tuple[dict[str, list[float]], set[tuple[str, bytes, bool]]]:
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    from ticketd.assembly.app import app_from_environment

    app = app_from_environment()
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})

    async def sent(message: MutableMapping[str, Any]) -> None:
        await outbox.put(dict(message))

    lifespan = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, sent))
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    # As `ticketd serve` runs uvicorn: httptools, proxy headers from loopback, no access log.
    config = Config(
        app=app,
        lifespan="off",
        http="httptools",
        access_log=False,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="warning",
    )
    config.load()
    state = ServerState()
    state.default_headers = [(b"date", b"Mon, 30 Nov 2026 12:00:00 GMT")]
    newest: list[asyncio.Task[None] | None] = [None]

    class Tasks(set[asyncio.Task[None]]):
        """uvicorn's set of request tasks, which hands each new one to the connection that made it."""

        def add(self, task: asyncio.Task[None]) -> None:
            newest[0] = task
            super().add(task)

    state.tasks = Tasks()
    requests = []
    for _ in range(1000):
        ticket = random.randint(1, TICKETS)
        etag = f'If-None-Match: "{ticket}-1"\r\n' if revalidate else ""
        requests.append(
            f"GET /api/v1/tickets/{ticket}/status HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
            f"Authorization: {basic}\r\n{etag}\r\n".encode()
        )
    seen: set[tuple[str, bytes, bool]] = set()
    current = [""]

    async def connection(count: int) -> None:
        protocol = HttpToolsProtocol(config, state, app_state={})
        protocol.connection_made(MemoryTransport(seen, current))  # type: ignore[arg-type]
        for n in range(count):
            protocol.data_received(requests[n % len(requests)])
            task = newest[0]
            assert task is not None
            await task
        protocol.connection_lost(None)

    cost: dict[str, list[float]] = {name: [] for name in variants_by_name}
    per_connection = REQUESTS // CONNECTIONS
    for round_number in range(ROUNDS):
        names = list(variants_by_name)
        for name in names if round_number % 2 == 0 else reversed(names):
            variants_by_name[name]()
            current[0] = name
            await asyncio.gather(*(connection(WARM_UP) for _ in range(CONNECTIONS)))
            started = time.process_time()
            await asyncio.gather(*(connection(per_connection) for _ in range(CONNECTIONS)))
            cost[name].append((time.process_time() - started) / (per_connection * CONNECTIONS) * 1e6)
    await inbox.put({"type": "lifespan.shutdown"})
    await lifespan
    return cost, seen


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ticketd-telemetry-in-process-"))
    print(f"loading {TICKETS:,} tickets ...", flush=True)
    store = load_store(workdir / "lookups.sqlite3", TICKETS)
    os.environ.update(
        TICKETD_DATABASE_PATH=str(workdir / "lookups.sqlite3"),
        TICKETD_SECRET_KEY="bench-" + "k" * 40,
        TICKETD_LIMIT_IP="1000000000/minute",
        TICKETD_LIMIT_CREDENTIAL="1000000000/minute",
        TICKETD_LOG_LEVEL="warning",
    )
    variants_by_name = variants()
    print(f"\nthe telemetry's cost in one process, {ROUNDS} rounds of {REQUESTS:,} requests a variant")
    for answer, revalidate in (("304", True), ("200", False)):
        cost, seen = uvloop.run(measure(variants_by_name, store.basic, revalidate))
        expected = {(name, line, name == "with telemetry") for name in cost for _, line, _ in seen}
        if (
            seen != expected
            or len({line for _, line, _ in seen}) != 1
            or f" {answer} ".encode() not in min(seen)[1]
        ):
            raise SystemExit(f"unexpected answers, the figure is void: {sorted(seen)}")
        differences = [a - b for a, b in zip(cost["with telemetry"], cost["without it"], strict=True)]
        low, _, high = statistics.quantiles(differences, n=4)
        for name, values in cost.items():
            print(f"  {answer}  {name:<15} {statistics.median(values):6.2f} us of CPU a request (median)")
        print(
            f"  {answer}  telemetry's cost: {statistics.median(differences):.2f} us a request"
            f" (median of the paired differences; quartiles {low:.2f} to {high:.2f})"
        )


if __name__ == "__main__":
    main()
