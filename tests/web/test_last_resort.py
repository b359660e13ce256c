"""An unexpected fault in any face is a 500 in that face's format, and nothing escapes to the
server (which would close the client's keep-alive connection)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.assembly.app import TicketdApp
from ticketd.core import tickets


def test_a_fault_escapes_no_face(app: TicketdApp, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(tickets, "list_tickets", explode)
    monkeypatch.setattr(tickets, "visible_conditions", explode)
    monkeypatch.setattr(tickets, "get_ticket", explode)
    # raise_server_exceptions: an exception that reached the server would fail this test.
    with TestClient(app) as client:
        native = client.get("/api/v1/tickets", auth=world.agent.basic)
        assert native.status_code == 500 and native.headers["content-type"] == "application/problem+json"
        assert "secret internal detail" not in native.text
        huawei = client.post(
            "/v3/auth/tokens",
            json={
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "name": world.agent.username,
                                "password": world.agent.password,
                                "domain": {"name": "acme"},
                            }
                        },
                    }
                }
            },
        )
        token = huawei.headers["x-subject-token"]
        cases = client.get("/v2/servicerequest/cases", headers={"X-Auth-Token": token})
        assert cases.status_code == 500 and cases.json()["error_code"] == "OSM.0004"
        # The same connection goes on serving.
        assert client.get("/api/v1/health").status_code == 200
