from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World, count_rows, scoped_key
from ticketd.assembly.app import create_app
from ticketd.core.clock import utcnow
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import IdempotencyRecord

API = "/api/v1"


def _total(client: TestClient, world: World) -> int:
    total: int = client.get(f"{API}/tickets", auth=world.agent.basic).json()["total"]
    return total


def test_replay_returns_the_stored_response(client: TestClient, world: World) -> None:
    headers = {"Idempotency-Key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"'}
    first = client.post(f"{API}/tickets", json={"subject": "once"}, auth=world.agent.basic, headers=headers)
    second = client.post(f"{API}/tickets", json={"subject": "once"}, auth=world.agent.basic, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["location"] == first.headers["location"]
    assert _total(client, world) == 1


def test_same_key_different_body_is_422(client: TestClient, world: World) -> None:
    headers = {"Idempotency-Key": "k-1"}
    assert (
        client.post(
            f"{API}/tickets", json={"subject": "a"}, auth=world.agent.basic, headers=headers
        ).status_code
        == 201
    )
    response = client.post(f"{API}/tickets", json={"subject": "b"}, auth=world.agent.basic, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert _total(client, world) == 1


def test_keys_are_scoped_per_client(client: TestClient, world: World) -> None:
    headers = {"Idempotency-Key": "shared"}
    assert (
        client.post(
            f"{API}/tickets", json={"subject": "a"}, auth=world.agent.basic, headers=headers
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{API}/tickets", json={"subject": "a"}, auth=world.admin.basic, headers=headers
        ).status_code
        == 201
    )
    assert _total(client, world) == 2


def test_in_flight_key_is_409(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    # What a concurrent first request leaves in the store while it runs.
    import hashlib

    body = b'{"subject":"slow"}'
    digest = hashlib.sha256(f"{API}/tickets".encode() + b"?" + b"\n" + body).hexdigest()
    with unit_of_work(sessions, write=True) as db:
        db.add(
            IdempotencyRecord(
                client=f"key:{world.agent.key_id}",
                key="busy",
                request_digest=digest,
                completed=False,
                created_at=utcnow(),
            )
        )
        db.commit()
    response = client.post(
        f"{API}/tickets",
        content=body,
        auth=world.agent.basic,
        headers={"Idempotency-Key": "busy", "Content-Type": "application/json"},
    )
    assert response.status_code == 409
    assert _total(client, world) == 0


def test_failed_requests_are_not_stored(client: TestClient, world: World) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    bad = client.post(
        f"{API}/tickets", json={"subject": "x", "priority": "???"}, auth=world.agent.basic, headers=headers
    )
    assert bad.status_code == 422
    # A 4xx outcome is the outcome: the replay gets it again.
    again = client.post(
        f"{API}/tickets", json={"subject": "x", "priority": "???"}, auth=world.agent.basic, headers=headers
    )
    assert again.status_code == 422 and again.headers.get("idempotent-replayed") == "true"
    too_long = client.post(
        f"{API}/tickets",
        json={"subject": "x"},
        auth=world.agent.basic,
        headers={"Idempotency-Key": "k" * 300},
    )
    assert too_long.status_code == 400


def test_a_caller_without_write_scope_gets_no_key_recorded(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    key_id, key_secret = scoped_key(sessions, world.agent, "reader", {"tickets:read"})
    refused = client.post(
        f"{API}/tickets",
        json={"subject": "x"},
        auth=(key_id, key_secret),
        headers={"Idempotency-Key": "read-only"},
    )
    assert refused.status_code == 403
    assert count_rows(sessions.kw["bind"], "idempotency_records") == 0


def test_replays_are_counted_against_the_callers_limits(settings: Settings, world: World) -> None:
    app = create_app(settings.model_copy(update={"limit_credential": "3/minute"}))
    with TestClient(app, raise_server_exceptions=False) as limited:
        headers = {"Idempotency-Key": "counted"}
        answers = [
            limited.post(f"{API}/tickets", json={"subject": "x"}, auth=world.agent.basic, headers=headers)
            for _ in range(4)
        ]
    assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
    assert answers[1].headers["idempotent-replayed"] == "true"
    assert answers[3].headers["content-type"] == "application/problem+json"
