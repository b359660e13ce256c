from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.assembly.app import TicketdApp
from ticketd.core import identity
from ticketd.core.clock import utcnow
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import ApiKey, User

API = "/api/v1"


def _token(client: TestClient, tenant: str, username: str, password: str) -> str:
    response = client.post(
        f"{API}/auth/token", json={"tenant": tenant, "username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    token: str = body["access_token"]
    return token


def test_bearer_token_from_json_and_form(client: TestClient, world: World) -> None:
    token = _token(client, "acme", "agent", world.agent.password)
    response = client.get(f"{API}/tickets", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    form = client.post(
        f"{API}/auth/token",
        data={
            "grant_type": "password",
            "tenant": "acme",
            "username": "agent",
            "password": world.agent.password,
        },
    )
    assert form.status_code == 200


def test_bad_logins_all_read_the_same(client: TestClient, world: World) -> None:
    attempts = [("acme", "agent", "wrong"), ("acme", "nobody", "x"), ("nope", "agent", world.agent.password)]
    bodies = set()
    for tenant, username, password in attempts:
        response = client.post(
            f"{API}/auth/token", json={"tenant": tenant, "username": username, "password": password}
        )
        assert response.status_code == 401
        bodies.add(response.json()["detail"])
    assert len(bodies) == 1
    incomplete = client.post(f"{API}/auth/token", json={"tenant": "acme"})
    assert incomplete.status_code == 422
    assert {e["pointer"] for e in incomplete.json()["errors"]} == {"/username", "/password"}


def test_token_dies_when_user_disabled_or_password_changes(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    token = _token(client, "acme", "agent", world.agent.password)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/tickets", headers=headers).status_code == 200
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, world.agent.user_id)
        assert user is not None
        identity.set_password(db, user, "a new password")
        db.commit()
    assert client.get(f"{API}/tickets", headers=headers).status_code == 401
    assert client.get(f"{API}/tickets/1/status", headers=headers).status_code == 401
    token = _token(client, "acme", "agent", "a new password")
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, world.agent.user_id)
        assert user is not None
        identity.set_disabled(db, user, True)
        db.commit()
    assert client.get(f"{API}/tickets", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get(f"{API}/tickets", auth=world.agent.basic).status_code == 401  # its keys too


def test_revoked_and_expired_keys_are_refused(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    assert client.get(f"{API}/tickets", auth=world.agent.basic).status_code == 200
    with unit_of_work(sessions, write=True) as db:
        identity.revoke_api_key(db, key_id=world.agent.key_id)
        key = db.get(ApiKey, world.admin.key_id)
        assert key is not None
        key.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
    for actor in (world.agent, world.admin):
        response = client.get(f"{API}/tickets", auth=actor.basic)
        assert response.status_code == 401
        assert "Basic" in response.headers["www-authenticate"]
        assert client.get(f"{API}/tickets/1/status", auth=actor.basic).status_code == 401


def test_scopes_are_enforced(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, world.agent.user_id)
        assert user is not None
        issued = identity.create_api_key(db, user=user, name="read only", scopes=frozenset({"tickets:read"}))
        db.commit()
    auth = (issued.key.id, issued.secret)
    assert client.get(f"{API}/tickets", auth=auth).status_code == 200
    assert client.post(f"{API}/tickets", json={"subject": "x"}, auth=auth).status_code == 403


def test_garbage_credentials(client: TestClient, world: World) -> None:
    garbage = [
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"nocolon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
        "Bearer",
        "Bearer a.b.c",
        "Digest abc",
        "Basic " + base64.b64encode(f"{world.agent.key_id}:wrong".encode()).decode(),
        "x" * 5000,
    ]
    for value in garbage:
        for path in ("/tickets", "/tickets/1/status"):
            response = client.get(f"{API}{path}", headers={"Authorization": value})
            assert response.status_code == 401, (value, response.text)
            assert response.headers["content-type"] == "application/problem+json"


def test_guessing_one_account_is_stopped_at_the_guessers_address(app: TicketdApp, world: World) -> None:
    guess = {"tenant": "acme", "username": world.agent.username, "password": "wrong"}
    real = {"tenant": "acme", "username": world.agent.username, "password": world.agent.password}
    with (
        TestClient(app, client=("10.1.1.1", 4000)) as guesser,
        TestClient(app, client=("10.2.2.2", 4000)) as user,
    ):
        answers = [guesser.post("/api/v1/auth/token", json=guess).status_code for _ in range(11)]
        assert answers == [401] * 10 + [429]
        refused = guesser.post("/api/v1/auth/token", json=real)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert refused.headers["content-type"] == "application/problem+json"
        # The real user, elsewhere, is not locked out; nor is another account at the guesser's address.
        assert user.post("/api/v1/auth/token", json=real).status_code == 200
        other = {"tenant": "acme", "username": world.admin.username, "password": world.admin.password}
        assert guesser.post("/api/v1/auth/token", json=other).status_code == 200
