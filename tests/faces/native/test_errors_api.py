"""Bad input gets a problem with the right status and changes nothing."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import World

API = "/api/v1"
PROBLEM = "application/problem+json"


def _count(client: TestClient, world: World) -> int:
    total: int = client.get(f"{API}/tickets", auth=world.agent.basic).json()["total"]
    return total


def test_wrong_method_is_405_with_allow(client: TestClient, world: World) -> None:
    response = client.put(f"{API}/tickets", json={}, auth=world.agent.basic)
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}
    assert response.headers["content-type"] == PROBLEM
    status = client.post(f"{API}/tickets/1/status", auth=world.agent.basic)
    assert status.status_code == 405 and status.headers["allow"] == "GET, HEAD"


def test_head_answers_like_get_without_a_body(client: TestClient, world: World) -> None:
    created = client.post(f"{API}/tickets", json={"subject": "x"}, auth=world.agent.basic).json()
    for path in (f"/tickets/{created['id']}", "/tickets"):
        get = client.get(f"{API}{path}", auth=world.agent.basic)
        head = client.head(f"{API}{path}", auth=world.agent.basic)
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]


def test_unacceptable_accept_is_406(client: TestClient, world: World) -> None:
    for path in ("/tickets", "/tickets/1/status", "/tickets/1"):
        response = client.get(f"{API}{path}", auth=world.agent.basic, headers={"Accept": "text/csv"})
        assert response.status_code == 406, path
        assert response.headers["content-type"] == PROBLEM
    for accept in ("application/json", "*/*", "application/*", "text/csv, application/json;q=0.5"):
        assert (
            client.get(f"{API}/tickets", auth=world.agent.basic, headers={"Accept": accept}).status_code
            == 200
        )
    refused = client.get(f"{API}/tickets", auth=world.agent.basic, headers={"Accept": "application/json;q=0"})
    assert refused.status_code == 406


def test_wrong_body_media_type_is_415(client: TestClient, world: World) -> None:
    for content_type in ("text/plain", "application/xml", "multipart/form-data; boundary=x"):
        response = client.post(
            f"{API}/tickets",
            content=b'{"subject": "x"}',
            auth=world.agent.basic,
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 415, content_type
        assert response.headers["content-type"] == PROBLEM
    assert _count(client, world) == 0


def test_oversized_body_is_413(client: TestClient, world: World) -> None:
    big = b'{"subject": "' + b"x" * 1_100_000 + b'"}'
    response = client.post(
        f"{API}/tickets", content=big, auth=world.agent.basic, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert _count(client, world) == 0


def test_malformed_json_is_400(client: TestClient, world: World) -> None:
    for body in (b"{", b'{"subject": }', b"\xff\xfe", b"[1, 2"):
        response = client.post(
            f"{API}/tickets",
            content=body,
            auth=world.agent.basic,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400, (body, response.text)
        assert response.headers["content-type"] == PROBLEM
    assert _count(client, world) == 0


def test_validation_errors_list_each_field(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/tickets",
        json={"subject": "", "priority": "asap", "progress": 101, "bogus": 1},
        auth=world.agent.basic,
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "urn:ticketd:problem:validation-error" and body["status"] == 422
    assert {e["pointer"] for e in body["errors"]} == {"/subject", "/priority", "/progress", "/bogus"}
    wrong_shape = client.post(f"{API}/tickets", json=["subject"], auth=world.agent.basic)
    assert wrong_shape.status_code == 422
    assert _count(client, world) == 0


def test_oversized_headers_are_431(client: TestClient, world: World) -> None:
    for path in ("/tickets", "/tickets/1/status"):
        response = client.get(f"{API}{path}", auth=world.agent.basic, headers={"X-Filler": "y" * 20_000})
        assert response.status_code == 431
        assert response.headers["content-type"] == PROBLEM


def test_unknown_paths_and_ids(client: TestClient, world: World) -> None:
    # A malformed id in a ticket's path fails its validation (422); the polled status path, answered
    # before validation, knows only tickets that exist (404), as the unknown path does.
    for path, expected in (
        ("/nothing", 404),
        ("/tickets/abc", 422),
        ("/tickets/0", 422),
        ("/tickets/99999999999999999999999/status", 404),
        ("/tickets/-1/status", 404),
        ("/tickets/%00/status", 404),
    ):
        response = client.get(f"{API}{path}", auth=world.agent.basic)
        assert response.status_code == expected, (path, response.status_code)
        assert response.headers["content-type"] == PROBLEM
        assert "Traceback" not in response.text


def test_garbage_never_gives_500(client: TestClient, world: World) -> None:
    attempts = [
        ("POST", "/tickets", b"null"),
        ("POST", "/tickets", b'"text"'),
        ("POST", "/tickets", b"1e999999"),
        ("POST", "/tickets", b'{"subject": "x", "due_at": "yesterday"}'),
        ("POST", "/tickets", b'{"subject": "x", "assignee_ids": ["me"]}'),
        ("POST", "/tickets", b'{"subject": "x", "assignee_ids": [424242]}'),
        ("POST", "/tickets", b'{"subject": "x", "requester_id": 99999999999999999999999}'),
        ("PATCH", "/tickets/1", b'{"status": "exploded"}'),
        ("POST", "/tickets/1/transitions", b'{"to": "open", "extra": true}'),
        ("POST", "/tickets/1/comments", b'{"body": ""}'),
        ("POST", "/auth/token", b"tenant=acme&username=&password="),
        ("POST", "/auth/token", b"\x00\x01\x02"),
    ]
    for method, path, body in attempts:
        response = client.request(
            method,
            f"{API}{path}",
            content=body,
            auth=world.agent.basic,
            headers={"Content-Type": "application/json"},
        )
        assert 400 <= response.status_code < 500, (path, body, response.status_code, response.text)
        assert response.headers["content-type"] == PROBLEM
    assert _count(client, world) == 0
