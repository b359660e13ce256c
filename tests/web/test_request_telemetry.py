"""Every answer carries a request id (the client's when sane), error bodies carry it where their
format has room, and the metrics name route templates, never raw paths."""

from __future__ import annotations

import base64
import re

import pytest
from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.assembly.app import create_app
from ticketd.settings import Settings
from ticketd.telemetry.metrics import REQUESTS, exposition

pytestmark = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)


def test_a_sane_client_id_is_echoed_and_others_replaced(client: TestClient, world: World) -> None:
    path = "/api/v1/tickets/1/status"
    kept = client.get(path, auth=world.agent.basic, headers={"X-Request-ID": "trace-42.a:b"})
    assert kept.headers["x-request-id"] == "trace-42.a:b"
    for insane in (b"has spaces", b"x" * 200, "ünïcode".encode(), b"a\x7fb", b"<script>"):
        replaced = client.get(path, auth=world.agent.basic, headers={b"X-Request-ID": insane})
        assert replaced.headers["x-request-id"].encode() not in (insane, b"")
    made = [client.get("/api/v1/tickets", auth=world.agent.basic).headers["x-request-id"] for _ in range(3)]
    assert len(set(made)) == 3


@pytest.mark.parametrize(
    ("path", "read"),
    [
        ("/api/v1/tickets/1/status", lambda body: body["request_id"]),  # native, the polled path
        ("/api/v1/tickets?limit=oops", lambda body: body["request_id"]),  # native, through the framework
        ("/v3.8/distributor/no-such-thing", lambda body: body["error_reference"]),  # Prioticket
    ],
)
def test_error_bodies_carry_the_id(client: TestClient, path: str, read: object) -> None:
    answer = client.get(path, headers={"X-Request-ID": "support-ticket-7"})
    assert answer.status_code >= 400
    assert answer.headers["x-request-id"] == "support-ticket-7"
    assert read(answer.json()) == "support-ticket-7"  # type: ignore[operator]


def test_a_refusal_by_a_limit_carries_the_id_and_is_counted(settings: Settings, world: World) -> None:
    limited = settings.model_copy(update={"limit_credential": "2/minute"})
    with TestClient(create_app(limited), raise_server_exceptions=False) as client:
        answers = [
            client.get("/api/v1/tickets/1/status", auth=world.agent.basic, headers={"X-Request-ID": f"r{n}"})
            for n in range(3)
        ]
    assert answers[-1].status_code == 429 and answers[-1].headers["x-request-id"] == "r2"
    REQUESTS.flush()
    body, _ = exposition()
    assert b'ticketd_rate_limit_refusals_total{face="native",policy="credential"}' in body


def test_metrics_name_route_templates_not_paths(client: TestClient, world: World) -> None:
    client.get("/api/v1/tickets/987654/status", auth=world.agent.basic)
    client.get("/api/v1/tickets/987653", auth=world.agent.basic)
    client.get("/no/such/place/4242")
    REQUESTS.flush()
    body, content_type = exposition()
    assert content_type.startswith("text/plain")
    text = body.decode()
    assert 'http_route="/api/v1/tickets/{ticket_id}/status"' in text
    assert 'http_route="/api/v1/tickets/{ticket_id}"' in text
    assert 'http_route="(unmatched)"' in text
    routes = set(re.findall(r'http_route="([^"]*)"', text))
    assert not [route for route in routes if re.search(r"987654|987653|4242", route)], routes
    assert "http_server_active_requests" in text


def test_metrics_are_for_the_loopback_or_a_bearer_token(settings: Settings) -> None:
    # TestClient's client is "testclient": not the loopback.
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 403
    token = "scrape-" + "t" * 24
    with TestClient(create_app(settings.model_copy(update={"metrics_token": token}))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        basic = "Basic " + base64.b64encode(token.encode()).decode()
        assert client.get("/metrics", headers={"Authorization": basic}).status_code == 401
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert scraped.status_code == 200 and "http_server_request_duration_seconds" in scraped.text
        assert client.post("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 405
