"""The request guards: every body on every face and method is bounded before anything reads it."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.testclient import TestClient

from tests.conftest import World

FACE_PATHS = {
    "/api/v1/tickets": "application/problem+json",
    "/v2/servicerequest/cases": "application/json;charset=UTF-8",
    "/api/ticketrz": "application/json",
    "/v1/system/status": "application/json",
    "/v3.8/distributor/system/ping": "application/json",
}


def _chunks() -> Iterator[bytes]:
    for _ in range(4):
        yield b"x" * 1024


def test_a_body_on_a_get_is_refused_unread_on_every_face(client: TestClient, world: World) -> None:
    for path, content_type in FACE_PATHS.items():
        for body in (b"x" * 10, _chunks()):
            response = client.request("GET", path, content=body, auth=world.agent.basic)
            assert response.status_code == 413, (path, response.text)
            assert response.headers["content-type"] == content_type, path


def test_a_get_without_a_body_or_with_an_empty_one_is_served(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/tickets", auth=world.agent.basic).status_code == 200
    empty = client.request("GET", "/api/v1/tickets", headers={"Content-Length": "0"}, auth=world.agent.basic)
    assert empty.status_code == 200


def test_a_body_over_the_limit_is_refused_on_every_face(client: TestClient, world: World) -> None:
    big = b"{" + b" " * (1_048_576 + 10) + b"}"
    for path in (
        "/api/v1/tickets",
        "/v2/servicerequest/cases",
        "/api/ticket/create",
        "/v3.8/distributor/oauth2/token",
    ):
        response = client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, path
