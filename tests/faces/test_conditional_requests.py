"""Every answer that carries an ETag takes `If-None-Match` as RFC 9110 says: the weak comparison
(`W/"x"` matches `"x"`), a list, and `*`, each answering 304 while the entity is unchanged; and the
status page's public, cached answers never carry what a request's `Host` header said."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import World


def _etag_routes(client: TestClient, world: World) -> list[tuple[str, tuple[str, str] | None]]:
    """(path, credentials) of one answer of each kind that carries an ETag."""
    created = client.post("/api/v1/tickets", auth=world.agent.basic, json={"subject": "Etags"})
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    started = client.post(
        "/api/v1/operations/imports",
        content=b"subject\nOne\n",
        auth=world.agent.basic,
        headers={"Content-Type": "text/csv"},
    )
    assert started.status_code == 202, started.text
    published = client.patch("/api/v1/status-page", auth=world.admin.basic, json={"published": True})
    assert published.status_code == 200, published.text
    return [
        (f"/api/v1/tickets/{ticket_id}", world.agent.basic),
        (f"/api/v1/tickets/{ticket_id}/status", world.agent.basic),
        (f"/api/v1/operations/{started.json()['id']}", world.agent.basic),
        ("/status/acme", None),
        ("/status/acme/api/v2/summary.json", None),
    ]


@pytest.mark.parametrize("form", ["strong", "weak", "star", "in a list", "weak in a list"])
def test_if_none_match_answers_304_on_every_face_that_tags(
    client: TestClient, world: World, form: str
) -> None:
    for path, auth in _etag_routes(client, world):
        first = client.get(path, auth=auth)
        assert first.status_code == 200, (path, first.text)
        etag = first.headers["etag"]
        presented = {
            "strong": etag,
            "weak": f"W/{etag}",
            "star": "*",
            "in a list": f'"nope", {etag}',
            "weak in a list": f'W/"nope", W/{etag}',
        }[form]
        again = client.get(path, auth=auth, headers={"if-none-match": presented})
        assert again.status_code == 304, (path, presented, again.status_code)
        assert again.content == b""
        assert again.headers["etag"] == etag
        other = client.get(path, auth=auth, headers={"if-none-match": 'W/"nope", "other"'})
        assert other.status_code == 200, path


def test_the_status_page_never_writes_the_host_header_into_its_answers(
    client: TestClient, world: World
) -> None:
    client.patch("/api/v1/status-page", auth=world.admin.basic, json={"published": True})
    made = client.post(
        "/api/v1/status-page/incidents",
        auth=world.admin.basic,
        json={"name": "Slow", "status": "investigating", "impact": "minor", "body": "Looking"},
    )
    assert made.status_code == 201, made.text
    for path in ("/status/acme", "/status/acme/api/v2/summary.json", "/status/acme/api/v2/incidents.json"):
        plain = client.get(path)
        hostile = client.get(path, headers={"host": "evil.example", "x-forwarded-host": "evil.example"})
        assert hostile.status_code == 200
        assert "evil.example" not in hostile.text, path
        # The same answer, whoever asks: a cache may hand it to anyone.
        assert hostile.content == plain.content and hostile.headers["etag"] == plain.headers["etag"]
    summary = client.get("/status/acme/api/v2/summary.json").json()
    assert summary["page"]["url"].endswith("/status/acme")
    assert summary["incidents"][0]["shortlink"].startswith(summary["page"]["url"])
