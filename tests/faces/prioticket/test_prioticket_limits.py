"""The Distributor API's fair use: 1000 requests per rolling minute per IP, and more than 60
responses in the 4xx range within a minute block the client for one minute. Both 429, ErrorModel."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import World
from tests.faces.prioticket.test_prioticket_api import (
    BASE,
    SEED_HEADERS,
    _assert_error_model,
    _bearer,
    _token,
)
from ticketd.assembly.app import create_app
from ticketd.settings import Settings


def test_more_than_1000_requests_a_minute_from_one_ip(settings: Settings) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        statuses = [client.get(f"{BASE}/system/ping", headers=SEED_HEADERS).status_code for _ in range(1001)]
        assert statuses.count(200) == 1000 and statuses[-1] == 429
        refused = client.get(f"{BASE}/system/ping", headers=SEED_HEADERS)
        assert refused.status_code == 429
        _assert_error_model(refused.json(), "TOO_MANY_REQUESTS")
        assert int(refused.headers["retry-after"]) > 0


def test_more_than_60_client_errors_block_the_client(settings: Settings, world: World) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        token = _token(client, world.agent.basic)["access_token"]
        assert client.get(f"{BASE}/system/status", headers=_bearer(token)).status_code == 200
        bad = {**SEED_HEADERS, "Authorization": "Bearer not-a-token"}
        statuses = [client.get(f"{BASE}/system/status", headers=bad).status_code for _ in range(61)]
        assert set(statuses) == {401}
        # Blocked now: even a good request is refused, with the ErrorModel and how long to wait.
        refused = client.get(f"{BASE}/system/status", headers=_bearer(token))
        assert refused.status_code == 429
        _assert_error_model(refused.json(), "TOO_MANY_REQUESTS")
        assert 50 <= int(refused.headers["retry-after"]) <= 60
        # The 429s of the block do not count as client errors that would make it last for ever.
        assert client.get(f"{BASE}/system/ping", headers=SEED_HEADERS).status_code == 429


def test_60_client_errors_do_not_block(settings: Settings, world: World) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        statuses = [client.get(f"{BASE}/nowhere", headers=SEED_HEADERS).status_code for _ in range(60)]
        assert set(statuses) == {404}
        assert client.get(f"{BASE}/system/ping", headers=SEED_HEADERS).status_code == 200
