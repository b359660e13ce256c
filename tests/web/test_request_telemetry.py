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


def _counted(text: str, route: str, status: int, method: str = "GET") -> float:
    """The count of the duration histogram for one route, status and method in a scrape."""
    for line in text.splitlines():
        if (
            line.startswith("http_server_request_duration_seconds_count{")
            and f'http_route="{route}"' in line
            and f'http_response_status_code="{status}"' in line
            and f'http_request_method="{method}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_every_answer_of_the_polled_paths_carries_the_id_and_is_counted(
    client: TestClient, world: World
) -> None:
    """The polled paths answer without a wrapper around `send`: each of their answers (success,
    304, HEAD, the faces' errors) must still carry the id and be counted with its status."""
    native = "/api/v1/tickets/{ticket_id}/status"
    case = "/v2/servicerequest/cases/{case_id}/status"
    wallet = "/v1/ticket/{ticketId}"
    REQUESTS.flush()
    before = exposition()[0].decode()
    made = client.post(
        "/api/v1/tickets", auth=world.customer.basic, json={"subject": "s", "description": "d"}
    )
    ticket = made.json()["id"]
    status_path = f"/api/v1/tickets/{ticket}/status"
    etag = client.get(status_path, auth=world.agent.basic).headers["etag"]
    answers = [
        (
            native,
            304,
            "GET",
            client.get(status_path, auth=world.agent.basic, headers={"If-None-Match": etag}),
        ),
        (native, 200, "HEAD", client.head(status_path, auth=world.agent.basic)),
        (native, 401, "GET", client.get("/api/v1/tickets/1/status", auth=("tk_nobody", "wrong"))),
        (native, 404, "GET", client.get("/api/v1/tickets/999999/status", auth=world.agent.basic)),
        (native, 406, "GET", client.get("/api/v1/tickets/1/status", headers={"Accept": "text/csv"})),
        (case, 401, "GET", client.get("/v2/servicerequest/cases/1/status")),
        (
            case,
            400,
            "GET",
            client.get("/v2/servicerequest/cases/1/status", headers={"X-Time-Zone": "Mars/Base"}),
        ),
        (wallet, 401, "GET", client.get("/v1/ticket/1")),
    ]
    REQUESTS.flush()
    after = exposition()[0].decode()
    for route, status, method, answer in answers:
        assert answer.status_code == status, (route, answer.status_code, answer.text)
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]+", answer.headers["x-request-id"]), answer.headers
        assert _counted(after, route, status, method) > _counted(before, route, status, method), (
            route,
            status,
        )
    ids = [answer.headers["x-request-id"] for *_, answer in answers]
    assert len(set(ids)) == len(ids)
