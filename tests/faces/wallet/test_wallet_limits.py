"""Rate limits on the Wallet face: 429 in Wallet's error body."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.assembly.app import create_app
from ticketd.settings import Settings


def test_429_in_the_wallet_error_body(settings: Settings, world: World) -> None:
    app = create_app(settings.model_copy(update={"limit_credential": "2/minute", "limit_ip": "5/minute"}))
    with TestClient(app, raise_server_exceptions=False) as client:
        statuses = [client.get("/v1/ticket/1", auth=world.agent.basic).status_code for _ in range(3)]
        assert statuses == [404, 404, 429]
        refused = client.put("/v1/tag/vip/tickets", json={"status": "open"}, auth=world.agent.basic)
        assert refused.status_code == 429
        body = refused.json()
        assert body["code"] == 429 and body["description"] == "Too Many Requests" and body["details"]
        assert int(refused.headers["retry-after"]) > 0
        # The client IP's limit covers requests without credentials too.
        statuses = [client.get("/v1/system/status").status_code for _ in range(2)]
        assert statuses == [200, 429]
        assert client.get("/v1/system/status").json()["code"] == 429
