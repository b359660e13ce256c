"""The Wallet face: the seed's two examples, operations as tickets with children, its error body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.assembly.app import TicketdApp, create_app
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation


@pytest.fixture
def app(settings: Settings) -> TicketdApp:
    # These tests write operations by hand in every status; a worker in the server would run the pending ones.
    return create_app(settings.model_copy(update={"embedded_worker": False}))


def _operation(
    sessions: sessionmaker[Session],
    world: World,
    status: str,
    parent: int | None = None,
    tenant_id: int | None = None,
    created_by: int | None = None,
) -> int:
    with unit_of_work(sessions, write=True) as db:
        row = Operation(
            tenant_id=tenant_id or world.tenant_id,
            parent_id=parent,
            kind="bulk_update",
            status=status,
            version=1,
            progress_done=0,
            params={},
            created_by=created_by or world.agent.user_id,
            created_at=datetime(2013, 3, 28, 18, 18, 36, tzinfo=UTC),
        )
        db.add(row)
        db.commit()
        return row.id


def test_seed_system_status(client: TestClient) -> None:
    response = client.get("/v1/system/status")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"Hello": "World"}


def test_seed_ticket_status_with_children(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    parent = _operation(sessions, world, "completed")
    first = _operation(sessions, world, "completed", parent)
    second = _operation(sessions, world, "failed", parent)
    response = client.get(f"/v1/ticket/{parent}", auth=world.agent.basic)
    assert response.status_code == 200
    body = response.json()
    assert body["Status"] == body["status"] == "COMPLETED"
    assert body["ID"] == parent and isinstance(body["ID"], int)
    assert body["createdAt"] == "2013-03-28 18:18:36.0"
    assert body["children"] == {
        str(first): {"ID": first, "Status": "COMPLETED", "status": "COMPLETED"},
        str(second): {"ID": second, "Status": "FAILED", "status": "FAILED"},
    }
    head = client.head(f"/v1/ticket/{parent}", auth=world.agent.basic)
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(
    ("status", "shown"), [("pending", "PENDING"), ("running", "IN_PROGRESS"), ("canceled", "CANCELED")]
)
def test_every_operation_status_has_a_wallet_name(
    client: TestClient, world: World, sessions: sessionmaker[Session], status: str, shown: str
) -> None:
    ticket = _operation(sessions, world, status)
    assert client.get(f"/v1/ticket/{ticket}", auth=world.admin.basic).json()["Status"] == shown


def test_other_tenants_and_customers_see_nothing(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    ticket = _operation(sessions, world, "completed")
    for actor in (world.outsider, world.customer):
        theirs = client.get(f"/v1/ticket/{ticket}", auth=actor.basic)
        missing = client.get("/v1/ticket/987654", auth=actor.basic)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["code"] == 404 and set(theirs.json()) == {"code", "description", "details"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/v1/ticket/1", {}, 401),
        ("GET", "/v1/ticket/1", {"headers": {"Authorization": "Basic !!!"}}, 401),
        ("GET", "/v1/ticket/1", {"auth": ("tk_nope", "nope")}, 401),
        ("GET", "/v1/ticket/abc", {"basic": True}, 404),
        ("GET", "/v1/ticket/99999999999999999999999", {"basic": True}, 404),
        ("POST", "/v1/ticket/1", {}, 405),
        ("DELETE", "/v1/system/status", {}, 405),
        ("GET", "/v1/ticket/1", {"headers": {"Accept": "text/html"}}, 406),
        ("GET", "/v1/system/status", {"headers": {"X-Big": "y" * 20_000}}, 431),
        ("GET", "/v1/nothing", {}, 404),
    ],
)
def test_bad_requests_get_the_wallet_error_body(
    client: TestClient, world: World, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    kwargs = dict(kwargs)  # parameters are shared between the two backends
    if kwargs.pop("basic", False):
        kwargs["auth"] = world.agent.basic
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status and set(body) == {"code", "description", "details"}


def test_openapi_document_under_its_prefix(client: TestClient) -> None:
    document = client.get("/v1/openapi.json").json()
    assert {"/v1/system/status", "/v1/ticket/{ticketId}"} <= set(document["paths"])
