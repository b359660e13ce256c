from __future__ import annotations

from starlette.testclient import TestClient

from ticketd.assembly.app import create_app
from ticketd.settings import Settings


def test_store_down_is_503_not_500() -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", secret_key="k" * 40)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/tickets/1/status", auth=("tk_x", "secret"))
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "Traceback" not in response.text


def test_non_numeric_ids_name_no_ticket_and_other_methods_fall_through() -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", secret_key="k" * 40)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for path in (
            "/api/v1/tickets/abc/status",
            "/api/v1/tickets/1e5/status",
            "/api/v1/tickets/%20/status",
        ):
            response = client.get(path)
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
        assert client.delete("/api/v1/tickets/1/status").status_code == 405
