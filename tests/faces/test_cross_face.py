"""One core: a ticket created or changed through any face shows the same status through every other."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.faces.huawei.vocabulary import STATUS_CODES
from ticketd.faces.onecloud.codes import STATUSES as ONECLOUD_STATUSES


def _onecloud_token(client: TestClient, world: World) -> str:
    fields = {"email": "agent@acme.example", "password": world.agent.password, "siteId": str(world.tenant_id)}
    token: str = client.post("/api/authenticate", data=fields).json()["token"]
    return token


def _iam_token(client: TestClient, world: World) -> str:
    user = {"name": "agent", "password": world.agent.password, "domain": {"name": "acme"}}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    token: str = client.post("/v3/auth/tokens", json=body).headers["x-subject-token"]
    return token


def _statuses(
    client: TestClient, world: World, ticket_id: str, onecloud: str, iam: str
) -> tuple[str, str, int]:
    native = client.get(f"/api/v1/tickets/{ticket_id}/status", auth=world.agent.basic).json()["status"]
    one = client.get(f"/api/ticketrz/{ticket_id}", headers={"Authorization": f"Bearer {onecloud}"}).json()
    huawei = client.get(f"/v2/servicerequest/cases/{ticket_id}/status", headers={"X-Auth-Token": iam}).json()
    return native, one["StatusId"], huawei["status"]


def test_created_and_changed_anywhere_seen_everywhere(client: TestClient, world: World) -> None:
    onecloud, iam = _onecloud_token(client, world), _iam_token(client, world)
    created = [
        str(client.post("/api/v1/tickets", json={"subject": "native"}, auth=world.agent.basic).json()["id"]),
        client.post(
            "/api/ticket/create",
            headers={"Authorization": f"Bearer {onecloud}"},
            data={
                "fullName": "A",
                "contact": "a@b.c",
                "subject": "onecloud",
                "category": "332",
                "content": "x",
            },
        ).json()["ticketId"],
        client.post(
            "/v2/servicerequest/cases",
            headers={"X-Auth-Token": iam},
            json={"business_type_id": "1", "simple_description": "huawei"},
        ).json()["incident_id"],
    ]
    for ticket_id in created:
        assert _statuses(client, world, ticket_id, onecloud, iam) == ("new", "TS1", 0)
        client.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "open"}, auth=world.agent.basic)
        assert _statuses(client, world, ticket_id, onecloud, iam) == ("open", "TS2", 1)
        client.post(
            f"/v2/servicerequest/cases/{ticket_id}/action",
            params={"action_id": "close"},
            json={},
            headers={"X-Auth-Token": iam},
        )
        native, one, huawei = _statuses(client, world, ticket_id, onecloud, iam)
        assert (one, huawei) == (ONECLOUD_STATUSES[native][0], STATUS_CODES[native]) == ("TS7", 3)
        client.delete(f"/api/ticketrz/{ticket_id}", headers={"Authorization": f"Bearer {onecloud}"})
        assert client.get(f"/api/v1/tickets/{ticket_id}/status", auth=world.agent.basic).status_code == 404
        assert (
            client.get(
                f"/v2/servicerequest/cases/{ticket_id}/status", headers={"X-Auth-Token": iam}
            ).status_code
            == 404
        )
