"""A full disk. SQLite is made to refuse every write that needs another page (`PRAGMA
max_page_count` at the store's size, on every connection the app opens); then each face's write
answers its own 503 with Retry-After, nothing is half-written, reads go on, and writes succeed again
by themselves once the limit is lifted."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from tests.faces.huawei.test_huawei_api import _iam
from ticketd.assembly.app import TicketdApp
from ticketd.faces.error_handlers import OUTAGE_RETRY_SECONDS, FaceErrors
from ticketd.faces.huawei.errors import FACE_ERRORS as HUAWEI
from ticketd.faces.native.errors import FACE_ERRORS as NATIVE
from ticketd.faces.onecloud.errors import FACE_ERRORS as ONECLOUD
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Ticket

pytestmark = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
BIG = "a long description " * 2000  # 38 kB: needs new pages whatever the free space


@contextmanager
def disk_full(engine: Engine) -> Iterator[None]:
    """Every connection of `engine`, pooled or new, may not grow the store from now on."""

    def limit(connection: sqlite3.Connection, _record: Any) -> None:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", limit)
    engine.dispose()  # the pooled connections go; new ones take the limit
    try:
        yield
    finally:
        event.remove(engine, "connect", limit)
        engine.dispose()


def _expected(errors: FaceErrors, path: str) -> bytes:
    return bytes(errors.answer(path, 503, errors.outage_detail).body)


def _tickets(sessions: sessionmaker[Session]) -> int:
    with unit_of_work(sessions, write=False) as db:
        return db.scalar(select(func.count()).select_from(Ticket)) or 0


def test_a_full_disk_is_answered_503_by_every_face_and_passes(
    app: TicketdApp, client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    app_engine = app.services.engine
    before = _tickets(sessions)
    seen = client.post("/api/v1/tickets", auth=world.agent.basic, json={"subject": "Before"}).json()["id"]
    token = _iam(client, world.agent)
    onecloud = client.post(
        "/api/authenticate",
        data={
            "email": f"{world.agent.username}@acme.example",
            "password": world.agent.password,
            "siteId": str(world.tenant_id),
        },
    ).json()["token"]
    onecloud = client.post(
        "/api/authenticate",
        data={
            "email": f"{world.agent.username}@acme.example",
            "password": world.agent.password,
            "siteId": str(world.tenant_id),
        },
    ).json()["token"]
    writes: list[tuple[FaceErrors, str, dict[str, Any]]] = [
        (NATIVE, "/api/v1/tickets", {"auth": world.agent.basic, "json": {"subject": "Full", "content": BIG}}),
        (
            HUAWEI,
            "/v2/servicerequest/cases",
            {
                "headers": {"X-Auth-Token": token},
                "json": {"simple_description": BIG[:2000], "business_type_id": "1", "incident_id": "2"},
            },
        ),
        (
            ONECLOUD,
            "/api/ticket/create",
            {
                "headers": {"Authorization": f"Bearer {onecloud}"},
                "json": {
                    "fullName": "A",
                    "contact": "a@b.c",
                    "subject": "Full",
                    "category": "Question",
                    "content": BIG,
                },
            },
        ),
    ]
    accepted = 0
    with disk_full(app_engine):
        for errors, path, arguments in writes:
            # The store fills up as they write: each write lands whole (2xx) until one is refused.
            for _ in range(500):
                answer = client.post(path, **arguments)
                if answer.status_code != 503:
                    assert answer.status_code in (200, 201), (path, answer.status_code, answer.text[:300])
                    accepted += 1
                    continue
                assert answer.headers["retry-after"] == str(OUTAGE_RETRY_SECONDS), path
                expected = json.loads(_expected(errors, path))
                found = json.loads(answer.content)
                # The face's own 503, word for word, except for the request's id where it carries one.
                assert {k: v for k, v in found.items() if "request" not in k.lower()} == expected, path
                break
            else:
                raise AssertionError(f"{path}: the store never filled up")
        # Reads go on: the list, a ticket, its status (the hot path).
        assert client.get("/api/v1/tickets", auth=world.agent.basic).status_code == 200
        assert client.get(f"/api/v1/tickets/{seen}", auth=world.agent.basic).status_code == 200
        assert client.get(f"/api/v1/tickets/{seen}/status", auth=world.agent.basic).status_code == 200
        assert _tickets(sessions) == before + 1 + accepted  # nothing half-written
    # Space came back: the same write succeeds, with nothing restarted.
    again = client.post("/api/v1/tickets", auth=world.agent.basic, json={"subject": "After", "content": BIG})
    assert again.status_code == 201, again.text
    assert _tickets(sessions) == before + 2 + accepted
