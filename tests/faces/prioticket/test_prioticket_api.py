"""The Prioticket face: the seed's system endpoints, OAuth 2.0 client credentials, and every status
of the error catalogue arising from a real condition, each with the ErrorModel body."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World, scoped_key
from ticketd.assembly.app import create_app
from ticketd.core import identity
from ticketd.core.clock import utcnow
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import ApiKey

BASE = "/v3.8/distributor"
BOOKING = "https://www.prioticketapis.com/auth/distributor.booking"
SEED_HEADERS = {"Host": "staging-distributor-api.prioticket.com", "Accept": "*/*"}


def _token(client: TestClient, auth: tuple[str, str], **body: str) -> dict[str, Any]:
    payload = {"grant_type": "client_credentials", "scope": BOOKING, **body}
    response = client.post(f"{BASE}/oauth2/token", json=payload, auth=auth)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _bearer(token: str) -> dict[str, str]:
    return {**SEED_HEADERS, "Authorization": f"Bearer {token}"}


def _assert_error_model(body: dict[str, Any], error: str | None = None) -> None:
    assert {"error", "error_reference", "error_message", "error_description", "errors"} <= set(body)
    assert isinstance(body["errors"], list) and body["errors"]
    if error:
        assert body["error"] == error


def test_seed_ping_needs_no_authentication(client: TestClient) -> None:
    response = client.get(f"{BASE}/system/ping", headers=SEED_HEADERS)
    assert response.status_code == 200
    assert response.content == b""


def test_seed_status_with_a_client_credentials_token(client: TestClient, world: World) -> None:
    issued = _token(client, world.agent.basic)
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 3600 and issued["scope"] == BOOKING
    response = client.get(f"{BASE}/system/status", headers=_bearer(issued["access_token"]))
    assert response.status_code == 200
    assert response.content == b""


def test_several_tokens_at_once_and_revocation(client: TestClient, world: World) -> None:
    first = _token(client, world.agent.basic)["access_token"]
    form = client.post(
        f"{BASE}/oauth2/token", data={"grant_type": "client_credentials"}, auth=world.agent.basic
    )
    second = form.json()["access_token"]
    assert first != second
    for token in (first, second):
        assert client.get(f"{BASE}/system/status", headers=_bearer(token)).status_code == 200
    revoked = client.post(f"{BASE}/oauth2/revoke", json={"token": first}, auth=world.agent.basic)
    assert revoked.status_code == 200
    refused = client.get(f"{BASE}/system/status", headers=_bearer(first))
    assert refused.status_code == 403
    _assert_error_model(refused.json(), "TOKEN_REVOKED")
    assert client.get(f"{BASE}/system/status", headers=_bearer(second)).status_code == 200


def test_token_requests_that_fail(client: TestClient, world: World) -> None:
    url = f"{BASE}/oauth2/token"
    cases: list[tuple[dict[str, Any], int, str]] = [
        (
            {"json": {"grant_type": "client_credentials"}, "auth": (world.agent.key_id, "wrong")},
            401,
            "invalid_client",
        ),
        ({"json": {"grant_type": "client_credentials"}}, 400, "INVALID_REQUEST"),
        ({"json": {"scope": BOOKING}, "auth": world.agent.basic}, 400, "invalid_request"),
        ({"json": {"grant_type": "password"}, "auth": world.agent.basic}, 400, "unsupported_grant_type"),
        (
            {"json": {"grant_type": "client_credentials", "scope": "everything"}, "auth": world.agent.basic},
            400,
            "invalid_scope",
        ),
        (
            {
                "content": b"{not json",
                "headers": {"Content-Type": "application/json"},
                "auth": world.agent.basic,
            },
            400,
            "INVALID_REQUEST",
        ),
        (
            {
                "content": b"[1, 2]",
                "headers": {"Content-Type": "application/json"},
                "auth": world.agent.basic,
            },
            422,
            "UNPROCESSABLE_ENTITY",
        ),
        ({"json": {"grant_type": 5}, "auth": world.agent.basic}, 422, "UNPROCESSABLE_ENTITY"),
    ]
    for kwargs, status, error in cases:
        response = client.post(url, **kwargs)
        assert response.status_code == status, (kwargs, response.text)
        _assert_error_model(response.json(), error)


def test_status_refusals(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    missing = client.get(f"{BASE}/system/status", headers=SEED_HEADERS)
    assert missing.status_code == 400
    _assert_error_model(missing.json(), "INVALID_REQUEST")
    bad = client.get(f"{BASE}/system/status", headers=_bearer("not-a-token"))
    assert bad.status_code == 401
    _assert_error_model(bad.json(), "AUTHENTICATION_FAILED")
    key_id, key_secret = scoped_key(sessions, world.agent, "writer", {"tickets:write"})
    scoped = client.post(
        f"{BASE}/oauth2/token", json={"grant_type": "client_credentials"}, auth=(key_id, key_secret)
    )
    assert scoped.status_code == 400  # the key cannot have the booking scope at all
    _assert_error_model(scoped.json(), "invalid_scope")


def test_insufficient_scope_is_403(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    token = _token(client, world.agent.basic)["access_token"]
    # The client's key loses its read scope after the token was issued.
    with unit_of_work(sessions, write=True) as db:
        from ticketd.store.tables import ApiKey

        key = db.get(ApiKey, world.agent.key_id)
        assert key is not None
        key.scopes = "tickets:write"
        db.commit()
    response = client.get(f"{BASE}/system/status", headers=_bearer(token))
    assert response.status_code == 403
    _assert_error_model(response.json(), "INSUFFICIENT_SCOPE")


def test_references_are_unique_and_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ticketd.faces.prioticket"):
        first = client.get(f"{BASE}/system/status", headers=_bearer("x")).json()["error_reference"]
        second = client.get(f"{BASE}/system/status", headers=_bearer("x")).json()["error_reference"]
    assert first != second
    assert first in caplog.text and second in caplog.text


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "error"),
    [
        ("POST", "/system/ping", {}, 405, "METHOD_NOT_ALLOWED"),
        ("DELETE", "/system/status", {}, 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/system/ping", {"headers": {"Accept": "text/html"}}, 406, "NOT_ACCEPTABLE"),
        (
            "POST",
            "/oauth2/token",
            {"content": b"<x/>", "headers": {"Content-Type": "text/xml"}},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "POST",
            "/oauth2/token",
            {"content": b"x" * 2_000_000, "headers": {"Content-Type": "application/json"}},
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        ("GET", "/system/ping", {"headers": {"X-Big": "y" * 20_000}}, 431, "REQUEST_HEADER_FIELDS_TOO_LARGE"),
        ("GET", "/products", {}, 501, "NOT_IMPLEMENTED"),
        ("POST", "/orders/123/vouchers", {}, 501, "NOT_IMPLEMENTED"),
        ("GET", "/nothing-here", {}, 404, "NOT_FOUND"),
    ],
)
def test_catalogue_statuses(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int, error: str
) -> None:
    response = client.request(method, f"{BASE}{path}", **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    _assert_error_model(response.json(), error)


def test_an_unexpected_fault_is_500_and_leaks_nothing(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ticketd.faces.prioticket import routes_system

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(routes_system, "require_store", explode)
    token = _token(client, world.agent.basic)["access_token"]
    response = client.get(f"{BASE}/system/status", headers=_bearer(token))
    assert response.status_code == 500
    _assert_error_model(response.json(), "INTERNAL_SERVER_ERROR")
    assert "secret internal detail" not in response.text and "Traceback" not in response.text


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def garbage_server() -> Iterator[int]:
    """Answers anything with something that is not PostgreSQL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 200 OK\r\n\r\nnot a database")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


@pytest.mark.parametrize(("server", "status"), [("refused", 503), ("silent", 504), ("garbage", 502)])
def test_dependency_failures(request: pytest.FixtureRequest, server: str, status: int) -> None:
    port = 1 if server == "refused" else request.getfixturevalue(f"{server}_server")
    settings = Settings(
        database_url=f"postgresql+psycopg://nobody@127.0.0.1:{port}/none",
        secret_key="k" * 40,
        database_connect_timeout_seconds=2,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get(f"{BASE}/system/status", headers=_bearer("some-token"))
        assert response.status_code == status, response.text
        _assert_error_model(response.json())
        assert client.get(f"{BASE}/system/ping").status_code == 200


def test_openapi_document_under_its_prefix(client: TestClient) -> None:
    document = client.get(f"{BASE}/openapi.json").json()
    assert {f"{BASE}/system/ping", f"{BASE}/system/status", f"{BASE}/oauth2/token"} <= set(document["paths"])


def test_access_tokens_end_with_their_api_key(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    key_id, key_secret = scoped_key(sessions, world.agent, "client", {"tickets:read"})
    auth = (key_id, key_secret)
    token = _token(client, auth)["access_token"]
    assert client.get(f"{BASE}/system/status", headers=_bearer(token)).status_code == 200
    with unit_of_work(sessions, write=True) as db:
        key = db.get(ApiKey, key_id)
        assert key is not None
        key.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
    assert client.get(f"{BASE}/system/status", headers=_bearer(token)).status_code == 401
    with unit_of_work(sessions, write=True) as db:
        identity.revoke_api_key(db, key_id=key_id)
        db.commit()
    revoked = client.get(f"{BASE}/system/status", headers=_bearer(token))
    assert revoked.status_code == 403 and revoked.json()["error"] == "TOKEN_REVOKED"
