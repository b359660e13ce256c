"""Rate limits on the native face: the RateLimit fields on every response, 429 quota-exceeded
problems, per credential, per client IP, per tenant, and switched off."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.assembly.app import create_app
from ticketd.core import identity
from ticketd.limiting.tenant_limits import set_tenant_limits
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work

QUOTA_TYPE = "https://iana.org/assignments/http-problem-types#quota-exceeded"
STATE = re.compile(r'"(?P<name>[a-z-]+)";r=(?P<r>\d+);t=(?P<t>\d+)')


def _client(settings: Settings, **limits: object) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"limits_refresh_seconds": 0, **limits}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def limited(settings: Settings) -> Iterator[TestClient]:
    yield from _client(settings, limit_credential="3/minute", limit_ip="100/minute")


def _ticket(client: TestClient, world: World) -> int:
    response = client.post("/api/v1/tickets", json={"subject": "limits"}, auth=world.agent.basic)
    assert response.status_code == 201, response.text
    ticket_id: int = response.json()["id"]
    return ticket_id


def _remaining(header: str) -> dict[str, tuple[int, int]]:
    return {m["name"]: (int(m["r"]), int(m["t"])) for m in STATE.finditer(header)}


def test_every_native_response_carries_the_fields(client: TestClient, world: World) -> None:
    ticket_id = _ticket(client, world)
    for response in (
        client.get(f"/api/v1/tickets/{ticket_id}/status", auth=world.agent.basic),
        client.get("/api/v1/tickets", auth=world.agent.basic),
        client.get("/api/v1/tickets/1/status"),
        client.get("/api/v1/nowhere"),
        client.get("/api/v1/health"),
    ):
        assert "ratelimit-policy" in response.headers, response.request.url
        assert '"ip";q=6000;w=60' in response.headers["ratelimit-policy"]
        assert "ip" in _remaining(response.headers["ratelimit"])
    authenticated = client.get(f"/api/v1/tickets/{ticket_id}/status", auth=world.agent.basic)
    assert authenticated.headers["ratelimit-policy"] == '"ip";q=6000;w=60, "credential";q=1200;w=60'
    state = _remaining(authenticated.headers["ratelimit"])
    assert state["credential"][0] < 1200 and 0 < state["credential"][1] <= 60
    # Other faces keep their vendors' headers.
    assert "ratelimit" not in client.get("/v1/system/status").headers


def test_credential_limit_refuses_with_a_quota_problem(limited: TestClient, world: World) -> None:
    ticket_id = _ticket(limited, world)  # the first of the agent's three
    path = f"/api/v1/tickets/{ticket_id}/status"
    assert [limited.get(path, auth=world.agent.basic).status_code for _ in range(3)] == [200, 200, 429]
    refused = limited.get(path, auth=world.agent.basic)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"] == QUOTA_TYPE and body["status"] == 429
    assert body["violated-policies"] == ["credential"]
    retry_after = int(refused.headers["retry-after"])
    assert retry_after >= _remaining(refused.headers["ratelimit"])["credential"][1] > 0
    assert _remaining(refused.headers["ratelimit"])["credential"][0] == 0
    # Routes behind the framework refuse alike; other credentials are not affected.
    assert limited.get("/api/v1/tickets", auth=world.agent.basic).status_code == 429
    assert limited.get(path, auth=world.admin.basic).status_code == 200


def test_refused_writes_change_nothing(limited: TestClient, world: World) -> None:
    for _ in range(3):
        _ticket(limited, world)
    refused = limited.post("/api/v1/tickets", json={"subject": "one too many"}, auth=world.agent.basic)
    assert refused.status_code == 429
    listed = limited.get("/api/v1/tickets", auth=world.admin.basic).json()
    assert [item["subject"] for item in listed["items"]] == ["limits"] * 3


def test_failed_authentication_does_not_spend_the_key(limited: TestClient, world: World) -> None:
    ticket_id = _ticket(limited, world)
    wrong = (world.agent.key_id, "not-the-secret")
    assert all(limited.get(f"/api/v1/tickets/{ticket_id}", auth=wrong).status_code == 401 for _ in range(5))
    assert limited.get(f"/api/v1/tickets/{ticket_id}", auth=world.agent.basic).status_code == 200


def test_client_ip_limit_spans_credentials(settings: Settings, world: World) -> None:
    for client in _client(settings, limit_ip="4/minute"):
        statuses = [
            client.get("/api/v1/tickets", auth=actor.basic).status_code
            for actor in (world.agent, world.admin, world.customer, world.customer2, world.agent)
        ]
        assert statuses == [200, 200, 200, 200, 429]
        refused = client.get("/api/v1/health")
        assert refused.status_code == 429 and refused.json()["violated-policies"] == ["ip"]
        assert refused.headers["ratelimit-policy"] == '"ip";q=4;w=60'


def test_tenant_limits_override_the_defaults(
    limited: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    with unit_of_work(sessions, write=True) as db:
        acme = identity.tenant_by_slug(db, "acme")
        set_tenant_limits(db, acme, "native", credential="5/minute", ip="6/minute")
        db.commit()
    statuses = [limited.get("/api/v1/tickets", auth=world.agent.basic).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    # The tenant's own per-IP count: the agent's five admitted, then the admin's first.
    assert limited.get("/api/v1/tickets", auth=world.admin.basic).status_code == 200
    response = limited.get("/api/v1/tickets", auth=world.admin.basic)
    assert response.status_code == 429 and response.json()["violated-policies"] == ["tenant-ip"]
    assert '"tenant-ip";q=6;w=60' in response.headers["ratelimit-policy"]
    # Another tenant keeps the defaults.
    assert limited.get("/api/v1/tickets", auth=world.outsider.basic).status_code == 200


def test_limits_can_be_switched_off(settings: Settings, world: World) -> None:
    for client in _client(settings, rate_limits=False, limit_credential="1/minute"):
        responses = [client.get("/api/v1/tickets", auth=world.agent.basic) for _ in range(3)]
        assert [response.status_code for response in responses] == [200] * 3
        assert "ratelimit" not in responses[-1].headers
