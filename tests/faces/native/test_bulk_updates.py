"""Bulk updates by tag or filter: parts as children, each ticket through the same rules."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import World

API = "/api/v1"


def _tickets(client: TestClient, world: World, count: int, tag: str) -> list[int]:
    ids = []
    for n in range(count):
        body = {"subject": f"bulk {n}", "tags": [tag]}
        ids.append(client.post(f"{API}/tickets", json=body, auth=world.agent.basic).json()["id"])
    return ids


def _wait(client: TestClient, world: World, operation_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = client.get(f"{API}/operations/{operation_id}", auth=world.agent.basic).json()
        if body["status"] in ("completed", "failed", "canceled"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_bulk_update_by_tag(client: TestClient, world: World) -> None:
    ids = _tickets(client, world, 3, "vip")
    client.post(f"{API}/tickets/{ids[2]}/transitions", json={"to": "canceled"}, auth=world.agent.basic)
    body = {
        "tag": "vip",
        "set": {"status": "open", "priority": "urgent"},
        "add_tags": ["escalated"],
        "remove_tags": ["vip"],
    }
    response = client.post(f"{API}/operations/bulk-updates", json=body, auth=world.agent.basic)
    assert response.status_code == 202 and "operation-location" in response.headers
    done = _wait(client, world, response.json()["id"])
    assert done["status"] == "completed"
    assert done["result"] == {"updated": 2, "failed": 1}
    assert done["progress"] == {"done": 3, "total": 3}
    assert len(done["children"]) == 1 and done["children"][0]["status"] == "completed"
    first = client.get(f"{API}/tickets/{ids[0]}", auth=world.agent.basic).json()
    assert (first["status"], first["priority"], first["tags"]) == ("open", "urgent", ["escalated"])
    refused = client.get(f"{API}/tickets/{ids[2]}", auth=world.agent.basic).json()
    assert refused["status"] == "canceled" and refused["tags"] == ["vip"]  # left exactly as it was
    wallet = client.get(f"/v1/ticket/{done['id']}", auth=world.agent.basic).json()
    assert wallet["Status"] == "COMPLETED" and list(wallet["children"]) == [str(done["children"][0]["id"])]


def test_bulk_update_by_filter_and_bad_requests(client: TestClient, world: World) -> None:
    _tickets(client, world, 2, "a")
    body = {"filter": {"status": ["new"], "tag": "a"}, "set": {"assignee_ids": [world.agent.user_id]}}
    response = client.post(f"{API}/operations/bulk-updates", json=body, auth=world.agent.basic)
    assert _wait(client, world, response.json()["id"])["result"] == {"updated": 2, "failed": 0}
    mine = client.get(
        f"{API}/tickets", params={"assignee": world.agent.user_id}, auth=world.agent.basic
    ).json()
    assert mine["total"] == 2
    for bad in (
        {"set": {"status": "open"}},
        {"tag": "a"},
        {"tag": "a", "filter": {}, "set": {"priority": "low"}},
        {"tag": "a", "set": {"subject": "x"}},
    ):
        assert (
            client.post(f"{API}/operations/bulk-updates", json=bad, auth=world.agent.basic).status_code == 422
        )
    customer = client.post(
        f"{API}/operations/bulk-updates",
        json={"tag": "a", "set": {"priority": "low"}},
        auth=world.customer.basic,
    )
    assert customer.status_code == 403


def test_wallet_update_by_tag_answers_a_ticket_id(client: TestClient, world: World) -> None:
    ids = _tickets(client, world, 2, "promo")
    response = client.put(
        "/v1/tag/promo/tickets", json={"fields": {"priority": "high"}}, auth=world.agent.basic
    )
    assert response.status_code == 200
    ticket_id = response.json()["ticketId"]
    assert isinstance(ticket_id, int)
    _wait(client, world, ticket_id)
    assert client.get(f"/v1/ticket/{ticket_id}", auth=world.agent.basic).json()["status"] == "COMPLETED"
    assert client.get(f"{API}/tickets/{ids[0]}", auth=world.agent.basic).json()["priority"] == "high"
    assert client.put("/v1/tag/promo/tickets", json={"fields": {"priority": "high"}}).status_code == 401
    bad = client.put("/v1/tag/promo/tickets", json={"fields": {"priority": "soon"}}, auth=world.agent.basic)
    assert bad.status_code == 400 and set(bad.json()) == {"code", "description", "details"}


def test_idempotency_key_on_start(client: TestClient, world: World) -> None:
    _tickets(client, world, 1, "k")
    headers = {"Idempotency-Key": "bulk-1"}
    body = {"tag": "k", "set": {"priority": "low"}}
    first = client.post(f"{API}/operations/bulk-updates", json=body, auth=world.agent.basic, headers=headers)
    second = client.post(f"{API}/operations/bulk-updates", json=body, auth=world.agent.basic, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    assert len(client.get(f"{API}/operations", auth=world.agent.basic).json()["items"]) == 1
