"""The event stream against a hostile or careless client, over real HTTP against `ticketd serve`:
a stream ends when its credential or session does and after its maximum lifetime; one caller cannot
take every slot; concurrent requests cannot overshoot a cap; a reconnect from long ago is told it
was cut; and a thousand streams dropped together, in any order, leave the server answering."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import Actor, World
from tests.web.test_server import _free_port, serving, serving_logged
from ticketd.core import identity, tickets
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import User

QUICK = {
    "TICKETD_EVENTS_POLL_SECONDS": "0.05",
    "TICKETD_EVENTS_HEARTBEAT_SECONDS": "0.5",
    "TICKETD_EVENTS_RECHECK_SECONDS": "0.5",
}
TIMEOUT = httpx2.Timeout(10, read=5)

pytestmark = pytest.mark.slow


@contextmanager
def server(settings: Settings, **env: str) -> Iterator[str]:
    port = _free_port()
    with serving(settings, port, **{**QUICK, **env}):
        yield f"http://127.0.0.1:{port}"


def _seconds_until_closed(response: httpx2.Response, limit: float = 15) -> tuple[float, list[str]]:
    """Reads the stream until the server ends it; how long that took, and the lines read."""
    began = time.monotonic()
    lines: list[str] = []
    for line in response.iter_lines():
        lines.append(line)
        assert time.monotonic() - began < limit, "the stream did not end"
    return time.monotonic() - began, lines


def _revoke_key(sessions: sessionmaker[Session], actor: Actor) -> None:
    with unit_of_work(sessions, write=True) as db:
        identity.revoke_api_key(db, key_id=actor.key_id)
        db.commit()


def _disable(sessions: sessionmaker[Session], actor: Actor) -> None:
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, actor.user_id)
        assert user is not None
        identity.set_disabled(db, user, True)
        db.commit()


@pytest.mark.parametrize("ending", ["key revoked", "user disabled"])
def test_an_api_stream_ends_soon_after_its_credential(
    settings: Settings, world: World, sessions: sessionmaker[Session], ending: str
) -> None:
    with server(settings) as base:
        url = f"{base}/api/v1/events/stream"
        with httpx2.stream("GET", url, auth=world.agent.basic, timeout=TIMEOUT) as stream:
            assert stream.status_code == 200
            (_revoke_key if ending == "key revoked" else _disable)(sessions, world.agent)
            took, lines = _seconds_until_closed(stream)
        assert took < 3, took
        assert ": the credential no longer stands" in lines
        assert httpx2.get(url, auth=world.agent.basic, timeout=TIMEOUT).status_code == 401
        # Another caller's stream is untouched.
        with httpx2.stream("GET", url, auth=world.admin.basic, timeout=TIMEOUT) as other:
            assert other.status_code == 200


@contextmanager
def _console_client(base: str, actor: Actor) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=base, timeout=TIMEOUT) as client:
        answer = client.post(
            "/console/sign-in",
            data={"tenant": "acme", "username": actor.username, "password": actor.password},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        yield client


def test_a_console_stream_ends_soon_after_sign_out(settings: Settings, world: World) -> None:
    with server(settings) as base, _console_client(base, world.agent) as browser:
        with browser.stream("GET", "/console/events") as stream:
            assert stream.status_code == 200
            page = browser.get("/console/", follow_redirects=True).text
            csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            out = browser.post("/console/sign-out", data={"csrf": csrf}, follow_redirects=False)
            assert out.status_code == 303
            took, lines = _seconds_until_closed(stream)
        assert took < 3, took
        assert ": the credential no longer stands" in lines


def test_a_stream_ends_after_its_maximum_lifetime(settings: Settings, world: World) -> None:
    with (
        server(settings, TICKETD_EVENTS_MAX_STREAM_SECONDS="1") as base,
        httpx2.stream("GET", f"{base}/api/v1/events/stream", auth=world.agent.basic, timeout=TIMEOUT) as s,
    ):
        took, lines = _seconds_until_closed(s)
    assert 1 <= took < 3, took
    # It tells the client to come back (EventSource reconnects by itself).
    assert lines[-3:-1] == ["retry: 2000", ": reconnect"], lines


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_one_caller_cannot_take_every_slot(settings: Settings, world: World) -> None:
    caps = {
        "TICKETD_EVENTS_MAX_STREAMS_PER_CREDENTIAL": "3",
        "TICKETD_EVENTS_MAX_STREAMS_PER_ADDRESS": "5",
        "TICKETD_EVENTS_MAX_STREAMS": "50",
    }
    with server(settings, **caps) as base:
        url = f"{base}/api/v1/events/stream"

        def opened(actor: Actor) -> httpx2.Response:
            request = httpx2.Request("GET", url, headers={"authorization": _basic(actor)})
            return client.send(request, stream=True)

        with httpx2.Client(timeout=TIMEOUT, limits=httpx2.Limits(max_connections=20)) as client:
            mine = [opened(world.customer) for _ in range(3)]
            assert [r.status_code for r in mine] == [200, 200, 200]
            refused = opened(world.customer)
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
            assert int(refused.headers["retry-after"]) > 0
            refused.read()
            # Other callers are served; the address's cap (5) then stops the sixth.
            others = [opened(world.agent), opened(world.admin)]
            assert [r.status_code for r in others] == [200, 200]
            by_address = opened(world.customer2)
            assert by_address.status_code == 429
            by_address.read()
            for response in mine[:1]:
                response.close()
            deadline = time.monotonic() + 5
            while True:
                again = opened(world.customer)
                if again.status_code == 200:
                    break
                again.read()
                assert time.monotonic() < deadline, "the closed stream's slot never came back"
                time.sleep(0.2)
            for response in [*mine[1:], *others, again]:
                response.close()


def _basic(actor: Actor) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{actor.key_id}:{actor.key_secret}".encode()).decode()


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_concurrent_requests_never_overshoot_the_cap(settings: Settings, world: World) -> None:
    caps = {"TICKETD_EVENTS_MAX_STREAMS": "5", "TICKETD_EVENTS_MAX_STREAMS_PER_CREDENTIAL": "100"}
    with server(settings, **caps) as base:
        url = f"{base}/api/v1/events/stream"
        go = threading.Barrier(40)
        actors = [world.agent, world.admin, world.customer, world.customer2]

        def attempt(number: int) -> int:
            go.wait()
            with httpx2.stream("GET", url, auth=actors[number % 4].basic, timeout=TIMEOUT) as response:
                status = response.status_code
                held.wait()  # everyone holds what they got until all have answers
                return status

        held = threading.Event()
        with ThreadPoolExecutor(40) as pool:
            futures = [pool.submit(attempt, number) for number in range(40)]
            time.sleep(3)
            held.set()
            statuses = [future.result() for future in futures]
    assert statuses.count(200) == 5, statuses
    assert statuses.count(503) == 35


def test_a_reconnect_from_long_ago_is_told_it_was_cut(
    settings: Settings, world: World, sessions: sessionmaker[Session]
) -> None:
    def ticket(actor: Actor) -> None:
        with unit_of_work(sessions, write=True) as db:
            tickets.create_ticket(db, actor.principal, tickets.Changes(values={"subject": "Help"}))
            db.commit()

    ticket(world.agent)
    with server(settings, TICKETD_EVENTS_REPLAY_WINDOW="3") as base:
        first = httpx2.get(f"{base}/api/v1/tickets?limit=1", auth=world.agent.basic).json()
        assert first
        for _ in range(6):
            ticket(world.agent)
        for _ in range(10):
            ticket(world.outsider)
        frames = _frames_until_idle(base, world.agent, last_event_id="1")
    assert frames[0]["event"] == "stream.truncated"
    notice = json.loads(frames[0]["data"])
    assert notice["type"] == "stream.truncated"
    created = [frame for frame in frames[1:] if frame["event"] == "ticket.created"]
    assert len(created) == 3  # the window: the newest three of the tenant's, none of the other's
    assert all(int(frame["id"]) > notice["data"]["resumed_after"] for frame in created)


def _frames_until_idle(base: str, actor: Actor, last_event_id: str) -> list[dict[str, str]]:
    frames: list[dict[str, str]] = []
    frame: dict[str, str] = {}
    with httpx2.stream(
        "GET",
        f"{base}/api/v1/events/stream",
        auth=actor.basic,
        headers={"last-event-id": last_event_id},
        timeout=TIMEOUT,
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith(": keep-alive"):
                break
            if line == "":
                if "event" in frame:
                    frames.append(frame)
                frame = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(":")
                frame[key] = value.removeprefix(" ")
    return frames


def _answered_within(port: int, world: World, seconds: float) -> bool:
    began = time.monotonic()
    answer = httpx2.get(f"http://127.0.0.1:{port}/api/v1/tickets?limit=1", auth=world.agent.basic, timeout=30)
    assert answer.status_code == 200, answer.text
    return time.monotonic() - began < seconds


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_thousand_streams_dropped_in_every_order_leave_the_server_answering(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    """A thousand streams opened by one customer, dropped together: all at once, in the order they
    opened, in reverse, at random, some before their answer came. Afterwards every request is
    answered at once, and the log holds no traceback."""
    port = _free_port()
    log = tmp_path / "server.log"
    env = {
        **QUICK,
        "TICKETD_EVENTS_MAX_STREAMS": "2000",
        "TICKETD_EVENTS_MAX_STREAMS_PER_CREDENTIAL": "2000",
        "TICKETD_EVENTS_MAX_STREAMS_PER_ADDRESS": "2000",
        # Five thousand stream requests in a few seconds: the request-rate limits are not under test.
        "TICKETD_LIMIT_IP": "10000000/minute",
        "TICKETD_LIMIT_CREDENTIAL": "10000000/minute",
        "TICKETD_LOG_FORMAT": "console",
    }
    request = (
        f"GET /api/v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {_basic(world.customer)}"
        "\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    rng = random.Random(23)

    async def open_one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        return reader, writer

    async def round_of(order: str) -> None:
        streams = await asyncio.gather(*(open_one() for _ in range(1000)))
        if order != "before answers":
            # Every stream answered its headers and first frame.
            async with asyncio.timeout(60):
                for reader, _ in streams:
                    await reader.readuntil(b": connected\n\n")
        chosen = list(streams)
        if order == "reverse":
            chosen.reverse()
        elif order in ("random", "before answers"):
            rng.shuffle(chosen)
        for number, (_, writer) in enumerate(chosen):
            writer.transport.abort()  # a client that vanishes, not one that says goodbye
            if order != "all at once" and number % 50 == 0:
                await asyncio.sleep(0.001)  # the server sees them go in this order
        await asyncio.sleep(0.5)

    with serving_logged(settings, port, log, **env):
        for order in ("all at once", "opening", "reverse", "random", "before answers"):
            asyncio.run(round_of(order))
            # Requests dropped before their answer were still queued in front of ours: the server
            # works through them (a few seconds at most), then answers at once, every time.
            drained = time.monotonic()
            while time.monotonic() - drained < 10:
                if _answered_within(port, world, 1):
                    break
            for _ in range(5):
                assert _answered_within(port, world, 1), order
        with httpx2.stream(
            "GET", f"http://127.0.0.1:{port}/api/v1/events/stream", auth=world.admin.basic, timeout=TIMEOUT
        ) as stream:
            assert stream.status_code == 200  # every slot came back
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "RuntimeError" not in text, text[-3000:]
    assert len(text.splitlines()) < 10_000
