from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import World

API = "/api/v1"


def _create(client: TestClient, world: World, **fields: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/tickets", json={"subject": "VPN drops", **fields}, auth=world.customer.basic
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_then_get_with_etag_and_location(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/tickets", json={"subject": "VPN drops", "content": "every 10 min"}, auth=world.customer.basic
    )
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"].endswith(f"/api/v1/tickets/{created['id']}")
    got = client.get(f"{API}/tickets/{created['id']}", auth=world.agent.basic)
    assert got.status_code == 200
    assert got.headers["etag"] == response.headers["etag"] == f'"{created["id"]}-1"'
    body = got.json()
    assert body["status"] == "new" and body["requester_id"] == world.customer.user_id
    assert body["sla"] == {
        "response_time": None,
        "resolution_time": None,
        "handling_time": 0,
        "waiting_time": 0,
    }
    for field in (
        "subject",
        "content",
        "description",
        "solution",
        "remarks",
        "product",
        "project",
        "region",
        "contact",
        "priority",
        "category",
        "type",
        "channel",
        "progress",
        "organisation",
        "branch",
        "location",
        "business_type",
        "sub_type",
        "simple_description",
        "severity",
        "labels",
        "tags",
        "custom_fields",
        "cc",
        "assignee_ids",
        "due_at",
        "viewed_at",
        "opened_at",
        "reopened_at",
        "solved_at",
        "closed_at",
        "pending_at",
        "commented_at",
        "status_changed_at",
        "assigned_at",
        "expires_at",
        "created_at",
        "updated_at",
        "creator_id",
        "modifier_id",
        "solver_id",
        "closer_id",
        "responder_id",
        "handler_id",
    ):
        assert field in body


def test_if_none_match_answers_304(client: TestClient, world: World) -> None:
    ticket = _create(client, world)
    first = client.get(f"{API}/tickets/{ticket['id']}", auth=world.agent.basic)
    again = client.get(
        f"{API}/tickets/{ticket['id']}",
        auth=world.agent.basic,
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


def test_patch_with_if_match(client: TestClient, world: World) -> None:
    ticket = _create(client, world)
    url = f"{API}/tickets/{ticket['id']}"
    etag = client.get(url, auth=world.agent.basic).headers["etag"]
    ok = client.patch(
        url, json={"priority": "high", "tags": ["vip"]}, auth=world.agent.basic, headers={"If-Match": etag}
    )
    assert ok.status_code == 200 and ok.json()["priority"] == "high" and ok.json()["tags"] == ["vip"]
    assert ok.headers["etag"] != etag
    stale = client.patch(url, json={"priority": "low"}, auth=world.agent.basic, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert client.get(url, auth=world.agent.basic).json()["priority"] == "high"
    merge = client.patch(
        url,
        content=b'{"progress": 50}',
        auth=world.agent.basic,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merge.status_code == 200 and merge.json()["progress"] == 50


def test_status_endpoint_and_304(client: TestClient, world: World) -> None:
    ticket = _create(client, world)
    url = f"{API}/tickets/{ticket['id']}/status"
    response = client.get(url, auth=world.customer.basic)
    assert response.status_code == 200
    assert response.json()["status"] == "new" and response.json()["id"] == ticket["id"]
    assert response.json()["updated_at"].endswith("Z")
    etag = response.headers["etag"]
    assert client.get(url, auth=world.customer.basic, headers={"If-None-Match": etag}).status_code == 304
    client.post(f"{API}/tickets/{ticket['id']}/transitions", json={"to": "open"}, auth=world.agent.basic)
    changed = client.get(url, auth=world.customer.basic, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["status"] == "open"


def test_tenants_and_customers_are_isolated(client: TestClient, world: World) -> None:
    ticket = _create(client, world)
    for path in ("", "/status", "/comments", "/events"):
        mine = client.get(f"{API}/tickets/{ticket['id']}{path}", auth=world.outsider.basic)
        missing = client.get(f"{API}/tickets/987654{path}", auth=world.outsider.basic)
        assert mine.status_code == missing.status_code == 404
        assert mine.json()["title"] == missing.json()["title"]
        assert (
            client.get(f"{API}/tickets/{ticket['id']}{path}", auth=world.customer2.basic).status_code == 404
        )
    listing = client.get(f"{API}/tickets", auth=world.customer2.basic).json()
    assert listing["total"] == 0 and listing["items"] == []
    patch = client.patch(f"{API}/tickets/{ticket['id']}", json={"priority": "low"}, auth=world.outsider.basic)
    assert patch.status_code == 404


def test_list_with_filters_and_cursor(client: TestClient, world: World) -> None:
    ids = [_create(client, world, subject=f"case {n}")["id"] for n in range(5)]
    client.patch(
        f"{API}/tickets/{ids[2]}",
        json={"tags": ["red"], "assignee_ids": [world.agent.user_id]},
        auth=world.agent.basic,
    )
    client.post(f"{API}/tickets/{ids[3]}/transitions", json={"to": "pending"}, auth=world.agent.basic)
    page = client.get(f"{API}/tickets", params={"limit": 2}, auth=world.agent.basic).json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["next_cursor"]
    collected = [t["id"] for t in page["items"]]
    while page["next_cursor"]:
        page = client.get(
            f"{API}/tickets", params={"limit": 2, "cursor": page["next_cursor"]}, auth=world.agent.basic
        ).json()
        collected += [t["id"] for t in page["items"]]
    assert sorted(collected) == sorted(ids)

    def ids_for(**params: Any) -> list[int]:
        response = client.get(f"{API}/tickets", params=params, auth=world.agent.basic)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert ids_for(tag="red") == [ids[2]]
    assert ids_for(assignee=world.agent.user_id) == [ids[2]]
    assert ids_for(status="pending") == [ids[3]]
    assert sorted(ids_for(status=["pending", "new"])) == sorted(ids)
    assert ids_for(q="case 4") == [ids[4]]
    assert len(ids_for(requester=world.customer.user_id)) == 5
    assert ids_for(created_after="2999-01-01T00:00:00Z") == []
    assert len(ids_for(updated_before="2999-01-01T00:00:00Z")) == 5
    bad = client.get(f"{API}/tickets", params={"status": "bogus", "limit": 0}, auth=world.agent.basic)
    assert bad.status_code == 422
    assert {e["parameter"] for e in bad.json()["errors"]} == {"status", "limit"}


def test_transitions_reopen_comments_events(client: TestClient, world: World) -> None:
    ticket = _create(client, world)
    base = f"{API}/tickets/{ticket['id']}"
    for target in ("open", "solved", "closed"):
        response = client.post(f"{base}/transitions", json={"to": target}, auth=world.agent.basic)
        assert response.status_code == 200 and response.json()["status"] == target
    refused = client.post(f"{base}/transitions", json={"to": "pending"}, auth=world.agent.basic)
    assert refused.status_code == 409
    assert refused.json()["current_status"] == "closed"
    reopened = client.post(f"{base}/reopen", auth=world.customer.basic)
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    comment = client.post(f"{base}/comments", json={"body": "Still broken"}, auth=world.customer.basic)
    assert comment.status_code == 201 and comment.json()["public"] is True
    internal = client.post(f"{base}/comments", json={"body": "note", "public": False}, auth=world.agent.basic)
    assert internal.status_code == 201
    assert len(client.get(f"{base}/comments", auth=world.customer.basic).json()) == 1
    assert len(client.get(f"{base}/comments", auth=world.agent.basic).json()) == 2
    kinds = [e["kind"] for e in client.get(f"{base}/events", auth=world.agent.basic).json()]
    assert kinds == [
        "created",
        "status_changed",
        "status_changed",
        "status_changed",
        "reopened",
        "commented",
        "commented",
    ]
    sla = client.get(base, auth=world.agent.basic).json()["sla"]
    assert sla["resolution_time"] is None  # reopened: no resolution in force


def test_customers_cannot_assign_or_set_staff_fields(client: TestClient, world: World) -> None:
    ticket = _create(client, world)
    response = client.patch(
        f"{API}/tickets/{ticket['id']}",
        json={"assignee_ids": [world.agent.user_id]},
        auth=world.customer.basic,
    )
    assert response.status_code == 403
    response = client.post(
        f"{API}/tickets", json={"subject": "x", "priority": "urgent"}, auth=world.customer.basic
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"pointer": "/priority", "detail": "customers cannot set this field"}
    ]
