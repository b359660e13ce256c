"""Imports as long-running operations: 202 and a place to poll, bad rows reported, bad files refused."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.assembly.app import create_app
from ticketd.core import operations
from ticketd.core.operations import Upload
from ticketd.core.worker import worker_for
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation, Ticket, User

API = "/api/v1"
CSV = "text/csv"


def _wait(client: TestClient, world: World, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = client.get(location, auth=world.agent.basic).json()
        if body["status"] in ("completed", "failed", "canceled"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_import_runs_in_the_background(client: TestClient, world: World) -> None:
    rows = "subject,priority,status,tags\n" + "".join(f"Case {n},high,open,bulk\n" for n in range(250))
    rows += ",low,new,\nBad priority,whenever,new,\n"
    response = client.post(
        f"{API}/operations/imports",
        content=rows.encode(),
        auth=world.agent.basic,
        headers={"Content-Type": CSV},
    )
    assert response.status_code == 202
    assert response.headers["retry-after"] == "1"
    location = response.headers["operation-location"]
    assert location.startswith("http") and location.endswith(f"/api/v1/operations/{response.json()['id']}")
    assert response.json()["status"] in ("pending", "running", "completed")
    done = _wait(client, world, location)
    assert done["status"] == "completed"
    assert done["result"]["imported"] == 250 and done["result"]["rejected_rows"] == 2
    assert {(e["row"], e["field"]) for e in done["result"]["errors"]} == {(251, "subject"), (252, "priority")}
    assert done["progress"] == {"done": 252, "total": 252}
    tagged = client.get(f"{API}/tickets", params={"tag": "bulk", "limit": 1}, auth=world.agent.basic).json()
    assert tagged["total"] == 250
    etag = client.get(location, auth=world.agent.basic).headers["etag"]
    assert client.get(location, auth=world.agent.basic, headers={"If-None-Match": etag}).status_code == 304
    wallet = client.get(f"/v1/ticket/{done['id']}", auth=world.agent.basic).json()
    assert wallet["Status"] == "COMPLETED"
    listed = client.get(f"{API}/operations", auth=world.agent.basic).json()
    assert [o["id"] for o in listed["items"]] == [done["id"]]
    assert client.get(location, auth=world.outsider.basic).status_code == 404


def test_json_lines_import(client: TestClient, world: World) -> None:
    lines = b"".join(b'{"subject": "Line %d", "priority": "low"}\n' % n for n in range(10))
    response = client.post(
        f"{API}/operations/imports",
        content=lines,
        auth=world.agent.basic,
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 202
    assert _wait(client, world, response.headers["operation-location"])["result"]["imported"] == 10


@pytest.fixture
def idle_client(settings: Settings) -> Iterator[TestClient]:
    """An app without the embedded worker, with a small upload limit."""
    quiet = settings.model_copy(update={"embedded_worker": False, "max_upload_bytes": 10_000})
    with TestClient(create_app(quiet), raise_server_exceptions=False) as client:
        yield client


def test_bad_uploads_are_refused_at_once(idle_client: TestClient, world: World) -> None:
    url = f"{API}/operations/imports"
    cases = [
        (b"\x89PNG\r\n\x1a\n\x00\x00", CSV, 422),
        (b"name,priority\nx,low\n", CSV, 422),
        (b"[1, 2, 3]\n", "application/x-ndjson", 422),
        (b"", CSV, 422),
        (b"subject\nx\n", "application/pdf", 415),
        (b"subject\n" + b"x\n" * 6000, CSV, 413),
    ]
    for body, content_type, status in cases:
        response = idle_client.post(
            url, content=body, auth=world.agent.basic, headers={"Content-Type": content_type}
        )
        assert response.status_code == status, (body[:20], response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert idle_client.get(f"{API}/operations", auth=world.agent.basic).json()["items"] == []


def test_cancel_a_pending_operation(idle_client: TestClient, world: World) -> None:
    response = idle_client.post(
        f"{API}/operations/imports",
        content=b"subject\nx\n",
        auth=world.agent.basic,
        headers={"Content-Type": CSV},
    )
    operation_id = response.json()["id"]
    canceled = idle_client.post(f"{API}/operations/{operation_id}/cancel", auth=world.agent.basic)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    again = idle_client.post(f"{API}/operations/{operation_id}/cancel", auth=world.agent.basic)
    assert again.status_code == 409


def test_export_then_download(client: TestClient, world: World) -> None:
    for n, tag in enumerate(["x", "x", "y"]):
        client.post(f"{API}/tickets", json={"subject": f"export {n}", "tags": [tag]}, auth=world.agent.basic)
    response = client.post(
        f"{API}/operations/exports", json={"format": "csv", "filter": {"tag": "x"}}, auth=world.agent.basic
    )
    assert response.status_code == 202
    done = _wait(client, world, response.headers["operation-location"])
    assert done["status"] == "completed" and done["progress"] == {"done": 2, "total": 2}
    file = client.get(f"{API}/operations/{done['id']}/file", auth=world.agent.basic)
    assert file.status_code == 200 and file.headers["content-type"].startswith("text/csv")
    lines = file.text.splitlines()
    assert lines[0].startswith("id,subject") and len(lines) == 3
    jsonl = client.post(f"{API}/operations/exports", json={"format": "jsonl"}, auth=world.agent.basic)
    finished = _wait(client, world, jsonl.headers["operation-location"])
    body = client.get(f"{API}/operations/{finished['id']}/file", auth=world.agent.basic).text
    assert len(body.splitlines()) == 3
    assert client.post(f"{API}/operations/exports", json={}, auth=world.customer.basic).status_code == 403
    assert (
        client.post(f"{API}/operations/exports", json={"format": "xml"}, auth=world.agent.basic).status_code
        == 422
    )


def test_a_file_is_there_only_when_done(idle_client: TestClient, world: World) -> None:
    response = idle_client.post(f"{API}/operations/exports", json={}, auth=world.agent.basic)
    missing = idle_client.get(f"{API}/operations/{response.json()['id']}/file", auth=world.agent.basic)
    assert missing.status_code == 409


def test_customers_cannot_import(
    idle_client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    rows = b"subject,requester_id,status\nBackdated,1,closed\n"
    for caller in (world.customer.basic, world.customer.basic):
        refused = idle_client.post(
            f"{API}/operations/imports", content=rows, auth=caller, headers={"Content-Type": CSV}
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
    with unit_of_work(sessions, write=False) as db:
        assert db.scalar(select(func.count()).select_from(Operation)) == 0


def test_the_worker_checks_the_importers_role_again(
    sessions: sessionmaker[Session], world: World, settings: Settings
) -> None:
    data = b"subject\nWas staff when it started\n"
    with unit_of_work(sessions, write=True) as db:
        operation = operations.start_import(
            db, tenant_id=world.tenant_id, by=world.agent.principal, upload=Upload("csv", iter([data]), 1000)
        )
        agent = db.get(User, world.agent.user_id)
        assert agent is not None
        agent.role = "customer"
        db.commit()
        operation_id = operation.id
    assert worker_for(settings, sessions).run_once()
    with unit_of_work(sessions, write=False) as db:
        finished = db.get(Operation, operation_id)
        assert finished is not None and finished.status == "failed"
        assert db.scalar(select(func.count()).select_from(Ticket)) == 0


def test_exported_cells_never_start_a_formula(client: TestClient, world: World) -> None:
    for subject in ('=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTab", "plain"):
        client.post(f"{API}/tickets", json={"subject": subject, "tags": ["csv"]}, auth=world.agent.basic)
    response = client.post(
        f"{API}/operations/exports", json={"format": "csv", "filter": {"tag": "csv"}}, auth=world.agent.basic
    )
    done = _wait(client, world, response.headers["operation-location"])
    text = client.get(f"{API}/operations/{done['id']}/file", auth=world.agent.basic).text
    subjects = [row[1] for row in csv.reader(io.StringIO(text))][1:]
    assert sorted(subjects) == sorted(
        ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "'\tTab", "plain"]
    )
