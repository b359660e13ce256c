"""Nothing crosses tenants: every id-bearing path of every face, read from the faces' own OpenAPI
documents, asked with another tenant's ids by a caller of that face, finds nothing and changes
nothing. A path added later is swept too (it is read from the document)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx2
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from tests.faces.huawei.test_huawei_api import _iam
from ticketd.assembly.app import TicketdApp
from ticketd.assembly.registry import API_FACES
from ticketd.core import signing_keys, status_page
from ticketd.core.signing_keys import Sealer
from ticketd.core.status_page import Impact
from ticketd.core.webhooks import endpoints
from ticketd.core.webhooks.fanout import announce
from ticketd.core.webhooks.messages import EventType
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Ticket, User

SECRET_SUBJECT = "acme's confidential subject"
# Bodies and queries that get a request past validation, so that what answers is the ownership rule.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("patch", "/api/v1/tickets/{ticket_id}"): {"json": {"priority": "high"}},
    ("post", "/api/v1/tickets/{ticket_id}/transitions"): {"json": {"to": "open"}},
    ("post", "/api/v1/tickets/{ticket_id}/comments"): {"json": {"body": "hello"}},
    ("post", "/v2/servicerequest/cases/{case_id}/message"): {"json": {"message": {"content": "hello"}}},
    ("post", "/v2/servicerequest/cases/{case_id}/action"): {"params": {"action_id": "close"}},
    ("post", "/v2/servicerequest/cases/{case_id}/labels"): {"params": {"label_ids": "1"}},
    ("delete", "/v2/servicerequest/cases/{case_id}/labels"): {"params": {"label_ids": "1"}},
    ("patch", "/api/v1/webhooks/{endpoint_id}"): {"json": {"description": "mine now"}},
    ("patch", "/api/v1/channels/email/{channel_id}"): {"json": {"on_closed": "new"}},
    ("patch", "/api/v1/status-page/components/{component_id}"): {"json": {"name": "mine now"}},
    ("post", "/api/v1/status-page/incidents/{incident_id}/updates"): {
        "json": {"status": "resolved", "body": "x"}
    },
    # A link of another's file, signed by no key of this server's.
    ("get", "/v2/servicerequest/accessorys/{accessory_id}/content"): {
        "params": {"expires": str(2**40), "signature": "0" * 64}
    },
    ("post", "/api/v1/webhooks/{endpoint_id}/replay"): {"json": {"since": "2000-01-01T00:00:00Z"}},
}


def _seed(
    client: TestClient, app: TicketdApp, sessions: sessionmaker[Session], world: World
) -> dict[str, str]:
    """Acme's ticket, comment, file, operation, label and access key; their ids by parameter name."""
    auth = world.agent.basic
    ticket = client.post(
        "/api/v1/tickets", json={"subject": SECRET_SUBJECT, "tags": ["vip"]}, auth=auth
    ).json()
    client.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": SECRET_SUBJECT}, auth=auth)
    channel = client.post(
        "/api/v1/channels/email", json={"address": "support@acme.example"}, auth=world.admin.basic
    ).json()
    attachment = client.post(
        f"/api/v1/tickets/{ticket['id']}/attachments",
        content=SECRET_SUBJECT.encode(),
        headers={"Content-Disposition": f'attachment; filename="{SECRET_SUBJECT}.txt"'},
        auth=auth,
    ).json()
    export = client.post("/api/v1/operations/exports", json={"format": "csv"}, auth=auth).json()
    deadline = time.monotonic() + 30
    while client.get(f"/api/v1/operations/{export['id']}", auth=auth).json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    iam = {"X-Auth-Token": _iam(client, world.agent)}
    client.post("/v2/servicerequest/labels", json={"name": "acme-only", "color": "red"}, headers=iam)
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, world.agent.user_id)
        assert user is not None
        pair = signing_keys.create(db, Sealer(app.services.token_secret), user=user)
        db.commit()
    with unit_of_work(sessions, write=True) as db:
        endpoint, _ = endpoints.create_endpoint(
            db,
            Sealer(app.services.token_secret),
            tenant_id=world.tenant_id,
            url="https://8.8.8.8/x",
            allow_private=False,
        )
        message_id = announce(
            db,
            tenant_id=world.tenant_id,
            event_type=EventType.TICKET_CREATED,
            data={"secret": SECRET_SUBJECT},
        )
        db.commit()
    with unit_of_work(sessions, write=True) as db:
        component = status_page.create_component(db, world.tenant_id, name=SECRET_SUBJECT)
        incident = status_page.open_incident(
            db,
            world.tenant_id,
            name=SECRET_SUBJECT,
            body=SECRET_SUBJECT,
            impact=Impact.MINOR,
            status="investigating",
        )
        db.commit()
    ticket_id, operation_id = str(ticket["id"]), str(export["id"])
    return {
        "component_id": component.id,
        "incident_id": incident.id,
        # Acme has not published its status page: another tenant's caller finds nothing there either.
        "tenant": "acme",
        "endpoint_id": endpoint.id,
        "message_id": str(message_id),
        "ticket_id": ticket_id,
        "case_id": ticket_id,
        "operation_id": operation_id,
        "ticketId": operation_id,  # a Wallet ticket is an operation
        "access_key": pair.access_key,
        "label_id": "1",
        "attachment_id": str(attachment["id"]),
        "channel_id": str(channel["id"]),
        "accessory_id": str(attachment["id"]),
    }


def _outsider(client: TestClient, world: World) -> dict[str, dict[str, Any]]:
    """How the other tenant's admin calls each face."""
    onecloud = client.post(
        "/api/authenticate",
        data={"email": "outsider@other.example", "password": world.outsider.password, "siteId": "2"},
    ).json()["token"]
    return {
        "native": {"auth": world.outsider.basic},
        "wallet": {"auth": world.outsider.basic},
        "onecloud": {"headers": {"Authorization": f"Bearer {onecloud}"}},
        "prioticket": {},
        "huawei": {"headers": {"X-Auth-Token": _iam(client, world.outsider, domain="other")}},
        "status": {},
    }


def test_another_tenants_ids_find_nothing_on_any_face(
    client: TestClient, app: TicketdApp, sessions: sessionmaker[Session], world: World
) -> None:
    ids = _seed(client, app, sessions, world)
    with unit_of_work(sessions, write=False) as db:
        before = {(t.id, t.version) for t in db.query(Ticket).all()}
    callers = _outsider(client, world)
    swept = 0
    leaks: list[str] = []
    for face in API_FACES:
        assert face.openapi_path is not None
        document = client.get(face.openapi_path).json()
        for template, operations in document["paths"].items():
            names = re.findall(r"{(\w+)}", template)
            # A tag names tickets within the caller's own tenant, and a kind of mail its own wording:
            # neither is an id of another's.
            if not names or "tag" in names or "kind" in names:
                continue
            path = template
            for name in names:
                path = path.replace("{" + name + "}", ids[name])
            for method in operations:
                extra = BODIES.get((method, template), {})
                response: httpx2.Response = client.request(
                    method.upper(), path, **callers[face.name], **extra
                )
                swept += 1
                if response.status_code not in (403, 404) or SECRET_SUBJECT in response.text:
                    answer = f"{response.status_code} {response.text[:200]}"
                    leaks.append(f"{face.name} {method.upper()} {template}: {answer}")
    assert leaks == []
    assert swept >= 25
    with unit_of_work(sessions, write=False) as db:
        assert {(t.id, t.version) for t in db.query(Ticket).all()} == before
