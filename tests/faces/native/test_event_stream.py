"""The live event stream over real HTTP, against `ticketd serve`: two subscribers, an agent and a
customer, through a series of changes; the customer reconnects with Last-Event-ID midway. Each
got exactly what the REST history shows it, in order, nothing missing, nothing twice."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from tests.conftest import Actor, World
from tests.web.test_server import _free_port, serving, serving_logged
from ticketd.settings import Settings

STREAM_ENV = {"TICKETD_EVENTS_POLL_SECONDS": "0.05", "TICKETD_EVENTS_HEARTBEAT_SECONDS": "0.5"}


@dataclass
class Subscriber:
    base: str
    actor: Actor
    # Stop after this many events on the first connection, then reconnect with Last-Event-ID.
    reconnect_after: int | None = None
    query: str = ""
    received: list[tuple[int, str, dict[str, object]]] = field(default_factory=list)
    connections: int = 0
    heartbeats: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)
    # What ended the subscriber's thread, if anything did: reported with the assertions.
    failure: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.failure = exc

    def _run(self) -> None:
        last_id: str | None = None
        while not self.stop.is_set():
            headers = {"accept": "text/event-stream"}
            if last_id is not None:
                headers["last-event-id"] = last_id
            self.connections += 1
            with httpx2.stream(
                "GET",
                f"{self.base}/api/v1/events/stream{self.query}",
                auth=self.actor.basic,
                headers=headers,
                timeout=httpx2.Timeout(10, read=5),
            ) as response:
                assert response.status_code == 200, response.read()
                assert response.headers["content-type"].startswith("text/event-stream")
                self.opened.set()
                frame: dict[str, str] = {}
                for line in response.iter_lines():
                    if self.stop.is_set():
                        return
                    if line.startswith(": keep-alive"):
                        self.heartbeats += 1
                    elif line == "":
                        if "id" in frame:
                            last_id = frame["id"]
                            data = json.loads(frame["data"])
                            self.received.append((int(frame["id"]), frame["event"], data))
                            if len(self.received) == self.reconnect_after:
                                self.reconnect_after = None
                                break  # drop the connection mid-series
                        frame = {}
                    elif not line.startswith(":"):
                        key, _, value = line.partition(":")
                        frame[key] = value.removeprefix(" ")


def _rest_history(base: str, actor: Actor, ticket_ids: list[int]) -> list[int]:
    ids: list[int] = []
    for ticket_id in ticket_ids:
        response = httpx2.get(f"{base}/api/v1/tickets/{ticket_id}/events", auth=actor.basic)
        assert response.status_code == 200
        ids += [event["id"] for event in response.json()]
    return sorted(ids)


@pytest.mark.slow
def test_two_subscribers_see_exactly_what_they_may(settings: Settings, world: World, tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = tmp_path / "server.log"
    with serving_logged(settings, port, server_log, **STREAM_ENV):
        agent = Subscriber(base, world.agent)
        customer = Subscriber(base, world.customer, reconnect_after=3)
        threads = [threading.Thread(target=s.run, daemon=True) for s in (agent, customer)]
        for thread in threads:
            thread.start()
        assert agent.opened.wait(10) and customer.opened.wait(10)

        def post(path: str, body: dict[str, object]) -> dict[str, object]:
            response = httpx2.post(f"{base}/api/v1{path}", auth=world.agent.basic, json=body)
            assert response.status_code in (200, 201), response.text
            found: dict[str, object] = response.json()
            return found

        def upload(path: str, data: bytes) -> dict[str, object]:
            response = httpx2.post(f"{base}/api/v1{path}", auth=world.agent.basic, content=data)
            assert response.status_code == 201, response.text
            found: dict[str, object] = response.json()
            return found

        def ticket_for(customer: Actor) -> int:
            return int(str(post("/tickets", {"subject": "Help", "requester_id": customer.user_id})["id"]))

        mine, theirs = ticket_for(world.customer), ticket_for(world.customer2)
        for round_number in range(3):
            for ticket_id in (mine, theirs):
                post(f"/tickets/{ticket_id}/comments", {"body": f"public {round_number}", "public": True})
                post(f"/tickets/{ticket_id}/comments", {"body": f"internal {round_number}", "public": False})
                response = httpx2.patch(
                    f"{base}/api/v1/tickets/{ticket_id}",
                    auth=world.agent.basic,
                    json={"priority": ["low", "high", "urgent"][round_number]},
                )
                assert response.status_code == 200
            if round_number == 0:
                post(f"/tickets/{mine}/transitions", {"to": "open"})
                # A file on the ticket (the customer's to see), and one on an internal note (not).
                upload(f"/tickets/{mine}/attachments", b"public file")
                ahead = upload("/attachments", b"staff file")
                post(
                    f"/tickets/{mine}/comments",
                    {"body": "with a file", "public": False, "attachment_ids": [ahead["id"]]},
                )
            time.sleep(0.05)  # changes arrive while the streams run, not all at once

        agent_expected = _rest_history(base, world.agent, [mine, theirs])
        customer_expected = _rest_history(base, world.customer, [mine])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
            len(agent.received) < len(agent_expected) or len(customer.received) < len(customer_expected)
        ):
            time.sleep(0.05)
        # Anything extra would arrive now; and an idle stream sends keep-alives.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (agent.heartbeats and customer.heartbeats):
            time.sleep(0.05)
        for subscriber in (agent, customer):
            subscriber.stop.set()

    # If a stream ended early, say how, with the server's last log lines.
    why = f"agent: {agent.failure!r}, customer: {customer.failure!r}\n" + "\n".join(
        server_log.read_text(errors="replace").splitlines()[-40:]
    )
    assert [event_id for event_id, _, _ in agent.received] == agent_expected, why
    assert [event_id for event_id, _, _ in customer.received] == customer_expected, why
    assert customer.connections == 2  # it did reconnect midway
    # The customer never saw an internal note, nor anything of the other customer's ticket.
    for _, event_type, message in customer.received:
        assert event_type != "ticket.commented_internal"
        data = message["data"]
        assert isinstance(data, dict)
        assert data["ticket_id"] == mine
    assert any(event_type == "ticket.commented_internal" for _, event_type, _ in agent.received)
    files_seen = [
        message["data"]["attachment"]["public"]  # type: ignore[index]
        for subscriber in (agent, customer)
        for _, event_type, message in subscriber.received
        if event_type == "ticket.attachment_added"
    ]
    assert sorted(files_seen) == [False, True, True]  # the agent's two, the customer's public one
    assert agent.heartbeats > 0 and customer.heartbeats > 0


def test_stream_refuses_bad_filters_and_ids(client: object, world: World) -> None:
    from starlette.testclient import TestClient

    assert isinstance(client, TestClient)
    bad_type = client.get("/api/v1/events/stream?types=ticket.nope", auth=world.agent.basic)
    assert bad_type.status_code == 422
    assert bad_type.headers["content-type"].startswith("application/problem+json")
    bad_id = client.get("/api/v1/events/stream", auth=world.agent.basic, headers={"last-event-id": "abc"})
    assert bad_id.status_code == 422
    anonymous = client.get("/api/v1/events/stream")
    assert anonymous.status_code == 401


@pytest.mark.slow
@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_process_holds_at_most_its_bound_of_streams(settings: Settings, world: World) -> None:
    """Beyond TICKETD_EVENTS_MAX_STREAMS open streams (the API's and the console's together) a new
    one is refused with 503 and Retry-After; once one closes, a new one is served again."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(settings, port, **STREAM_ENV, TICKETD_EVENTS_MAX_STREAMS="2"):
        url = f"{base}/api/v1/events/stream"
        timeout = httpx2.Timeout(10, read=5)
        with (
            httpx2.stream("GET", url, auth=world.agent.basic, timeout=timeout) as first,
            httpx2.stream("GET", url, auth=world.customer.basic, timeout=timeout) as second,
        ):
            assert first.status_code == 200 and second.status_code == 200
            refused = httpx2.get(url, auth=world.admin.basic, timeout=timeout)
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert "retry-after" in refused.headers
        # Both closed: the server notices at its next write (a heartbeat within 0.5 s).
        deadline = time.monotonic() + 10
        while True:
            with httpx2.stream("GET", url, auth=world.admin.basic, timeout=timeout) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the closed streams were never released"
            time.sleep(0.3)
