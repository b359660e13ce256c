"""Webhooks through the native API, delivered by the embedded worker to a real receiver that
verifies every signature with the `standardwebhooks` package."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.conftest import World
from tests.webhook_receiver import Receiver, running_receiver
from ticketd.assembly.app import create_app
from ticketd.settings import Settings

FAST = {
    "webhook_allow_private": True,
    "events_poll_seconds": 0.02,
    "webhook_retry_schedule": "0,0.05,0.05,0.05",
}


@pytest.fixture
def hooked(settings: Settings, world: World) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update=FAST))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


def _endpoint(client: TestClient, world: World, receiver: Receiver, **body: object) -> dict[str, object]:
    response = client.post("/api/v1/webhooks", auth=world.admin.basic, json={"url": receiver.url, **body})
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    receiver.secrets.append(str(created["secret"]))
    return created


def _ticket(client: TestClient, world: World) -> int:
    response = client.post("/api/v1/tickets", auth=world.agent.basic, json={"subject": "Printer on fire"})
    assert response.status_code == 201, response.text
    ticket_id: int = response.json()["id"]
    return ticket_id


def test_a_status_change_is_delivered_signed(hooked: TestClient, world: World, receiver: Receiver) -> None:
    created = _endpoint(hooked, world, receiver, events=["ticket.status_changed"])
    assert str(created["secret"]).startswith("whsec_")
    ticket_id = _ticket(hooked, world)
    moved = hooked.post(
        f"/api/v1/tickets/{ticket_id}/transitions", auth=world.agent.basic, json={"to": "open"}
    )
    assert moved.status_code == 200, moved.text
    (delivery,) = receiver.wait_for(1)
    assert delivery.verified
    message = delivery.message
    assert message["type"] == "ticket.status_changed"
    assert message["data"]["ticket_id"] == ticket_id
    assert message["data"]["change"] == {"field": "status", "old": "new", "new": "open"}
    assert len(delivery.body) < 20_000
    time.sleep(0.3)
    assert len(receiver.deliveries) == 1  # the creation was not asked for


def test_secret_is_never_shown_again(hooked: TestClient, world: World, receiver: Receiver) -> None:
    created = _endpoint(hooked, world, receiver)
    listed = hooked.get("/api/v1/webhooks", auth=world.admin.basic).json()
    one = hooked.get(f"/api/v1/webhooks/{created['id']}", auth=world.admin.basic).json()
    assert "secret" not in listed[0]
    assert "secret" not in one
    assert str(created["secret"]) not in str(listed) + str(one)
