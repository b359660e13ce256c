"""Files on tickets through the native API, on both stores: upload as a body or a form, the type
from the bytes, downloads that resume and revalidate and never run, limits, visibility, removal."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import Actor, World, count_rows
from ticketd.assembly.app import create_app
from ticketd.core import tickets
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work

API = "/api/v1"


def png(width: int = 1, height: int = 1) -> bytes:
    """A real PNG: a browser would draw it, and the detector knows it from its first bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def ticket(client: TestClient, actor: Actor) -> int:
    response = client.post(f"{API}/tickets", json={"subject": "printer on fire"}, auth=actor.basic)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def upload(
    client: TestClient,
    actor: Actor,
    ticket_id: int,
    data: bytes,
    *,
    name: str = "notes.txt",
    media_type: str = "text/plain",
    headers: dict[str, str] | None = None,
) -> Any:
    return client.post(
        f"{API}/tickets/{ticket_id}/attachments",
        content=data,
        headers={
            "Content-Type": media_type,
            "Content-Disposition": f'attachment; filename="{name}"',
            **(headers or {}),
        },
        auth=actor.basic,
    )


def test_upload_as_body_then_list_describe_and_download(client: TestClient, world: World) -> None:
    ticket_id = ticket(client, world.customer)
    data = b"the printer says PC LOAD LETTER\n"
    response = upload(client, world.customer, ticket_id, data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"].endswith(f"/api/v1/attachments/{body['id']}")
    assert body["ticket_id"] == ticket_id and body["comment_id"] is None
    assert body["filename"] == "notes.txt" and body["content_type"] == "text/plain"
    assert body["size"] == len(data) and body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["created_by"] == world.customer.user_id and body["created_at"]

    listed = client.get(f"{API}/tickets/{ticket_id}/attachments", auth=world.agent.basic)
    assert listed.status_code == 200 and [item["id"] for item in listed.json()] == [body["id"]]
    described = client.get(f"{API}/attachments/{body['id']}", auth=world.agent.basic)
    assert described.json() == body

    content = client.get(f"{API}/attachments/{body['id']}/content", auth=world.agent.basic)
    assert content.status_code == 200 and content.content == data
    assert content.headers["content-type"].startswith("text/plain")
    assert content.headers["content-disposition"].startswith("attachment;")
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-security-policy"].startswith("sandbox")
    assert content.headers["etag"] == f'"{body["sha256"]}"'
    assert content.headers["content-length"] == str(len(data))


def test_a_browser_form_uploads_the_file_field(client: TestClient, world: World) -> None:
    ticket_id = ticket(client, world.customer)
    response = client.post(
        f"{API}/tickets/{ticket_id}/attachments",
        files={"file": ("screen shot.png", png(), "application/octet-stream")},
        auth=world.customer.basic,
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "screen shot.png"
    assert response.json()["content_type"] == "image/png"
    content = client.get(f"{API}/attachments/{response.json()['id']}/content", auth=world.customer.basic)
    # A plain image may be shown in place; still no sniffing and a sandbox.
    assert content.headers["content-disposition"].startswith("inline;")
    assert content.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("data", "claimed", "stored"),
    [
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "image/png", "text/html"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/png",
            "image/svg+xml",
        ),
        (b"<script>alert(1)</script>", "text/html", "text/plain"),
        (b"\x00\x01\x02binary", "image/png", "application/octet-stream"),
        (b"%PDF-1.4\n%...", "text/plain", "application/pdf"),
    ],
)
def test_the_type_comes_from_the_bytes_and_active_content_is_always_a_download(
    client: TestClient, world: World, data: bytes, claimed: str, stored: str
) -> None:
    ticket_id = ticket(client, world.customer)
    response = upload(client, world.customer, ticket_id, data, name="x.png", media_type=claimed)
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == stored
    content = client.get(f"{API}/attachments/{response.json()['id']}/content", auth=world.agent.basic)
    assert content.headers["content-disposition"].startswith("attachment;")
    assert content.headers["content-security-policy"].startswith("sandbox")
    assert content.headers["x-content-type-options"] == "nosniff"


def test_file_names_are_cleaned_and_sent_as_rfc_6266_filename_star(client: TestClient, world: World) -> None:
    ticket_id = ticket(client, world.customer)
    response = client.post(
        f"{API}/tickets/{ticket_id}/attachments",
        content=b"x",
        headers={
            "Content-Disposition": "attachment; filename*=UTF-8''..%2F..%2Fetc%2Fr%C3%A9sum%C3%A9%0A.txt"
        },
        auth=world.customer.basic,
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "résumé.txt"
    content = client.get(f"{API}/attachments/{response.json()['id']}/content", auth=world.customer.basic)
    disposition = content.headers["content-disposition"]
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9.txt" in disposition
    assert 'filename="r_sum_.txt"' in disposition
    unnamed = client.post(f"{API}/tickets/{ticket_id}/attachments", content=b"y", auth=world.customer.basic)
    assert unnamed.status_code == 201 and unnamed.json()["filename"] == "file"


def test_ranges_resume_and_etags_revalidate(client: TestClient, world: World) -> None:
    ticket_id = ticket(client, world.agent)
    data = bytes(range(256)) * 9000  # 2.2 MB: across the store's one-megabyte parts
    created = upload(client, world.agent, ticket_id, data, media_type="application/octet-stream").json()
    url = f"{API}/attachments/{created['id']}/content"
    for header, expected, first, last in [
        ("bytes=0-9", data[:10], 0, 9),
        ("bytes=1048570-1048590", data[1048570:1048591], 1048570, 1048590),
        ("bytes=2000000-", data[2000000:], 2000000, len(data) - 1),
        ("bytes=-100", data[-100:], len(data) - 100, len(data) - 1),
    ]:
        part = client.get(url, headers={"Range": header}, auth=world.agent.basic)
        assert part.status_code == 206, header
        assert part.content == expected
        assert part.headers["content-range"] == f"bytes {first}-{last}/{len(data)}"
    whole = client.get(url, auth=world.agent.basic)
    assert whole.content == data and whole.headers["accept-ranges"] == "bytes"
    outside = client.get(url, headers={"Range": f"bytes={len(data)}-"}, auth=world.agent.basic)
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(data)}"
    assert outside.headers["content-type"] == "application/problem+json"
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'}, auth=world.agent.basic)
    assert stale.status_code == 200 and stale.content == data
    current = client.get(url, headers={"If-None-Match": whole.headers["etag"]}, auth=world.agent.basic)
    assert current.status_code == 304 and current.content == b""


def test_the_same_bytes_are_stored_once_per_tenant_and_freed_with_the_last_holder(
    client: TestClient, world: World, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    first, second = ticket(client, world.agent), ticket(client, world.agent)
    data = b"same bytes" * 1000
    one = upload(client, world.agent, first, data).json()
    two = upload(client, world.agent, second, data, name="again.txt").json()
    other_ticket = ticket(client, world.outsider)
    upload(client, world.outsider, other_ticket, data)
    assert one["sha256"] == two["sha256"]
    assert count_rows(engine, "attachments") == 3
    assert count_rows(engine, "attachment_blobs") == 2  # one for each tenant
    assert client.delete(f"{API}/attachments/{one['id']}", auth=world.agent.basic).status_code == 204
    assert count_rows(engine, "attachment_blobs") == 2
    with unit_of_work(sessions, write=True) as db:  # as the faces that delete tickets do
        tickets.delete_ticket(db, world.agent.principal, second)
        db.commit()
    assert count_rows(engine, "attachments") == 1
    assert count_rows(engine, "attachment_blobs") == 1
    assert count_rows(engine, "attachment_parts") == 1


def test_comments_carry_files_uploaded_to_their_ticket(client: TestClient, world: World) -> None:
    ticket_id = ticket(client, world.customer)
    file = upload(client, world.customer, ticket_id, b"log line\n", name="app.log").json()
    comment = client.post(
        f"{API}/tickets/{ticket_id}/comments",
        json={"body": "log attached", "attachment_ids": [file["id"]]},
        auth=world.customer.basic,
    )
    assert comment.status_code == 201, comment.text
    assert [item["id"] for item in comment.json()["attachments"]] == [file["id"]]
    listed = client.get(f"{API}/tickets/{ticket_id}/comments", auth=world.agent.basic).json()
    assert listed[0]["attachments"][0]["filename"] == "app.log"
    assert listed[0]["attachments"][0]["comment_id"] == comment.json()["id"]
    other = ticket(client, world.customer)
    wrong = client.post(
        f"{API}/tickets/{other}/comments",
        json={"body": "not yours", "attachment_ids": [file["id"]]},
        auth=world.customer.basic,
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["pointer"] == "/attachment_ids"


def test_customers_see_only_their_tickets_files_and_public_ones(client: TestClient, world: World) -> None:
    ticket_id = ticket(client, world.customer)
    shown = upload(client, world.agent, ticket_id, b"seen already", name="shown.txt").json()
    made_internal = client.post(
        f"{API}/tickets/{ticket_id}/comments",
        json={"body": "for staff", "public": False, "attachment_ids": [shown["id"]]},
        auth=world.agent.basic,
    )
    assert made_internal.status_code == 422  # its requester has seen it on the ticket already
    internal = client.post(  # uploaded ahead of the note: nobody but its uploader sees it meanwhile
        f"{API}/attachments",
        content=b"internal notes",
        headers={"Content-Disposition": 'attachment; filename="internal.txt"'},
        auth=world.agent.basic,
    ).json()
    assert internal["ticket_id"] is None
    assert client.get(f"{API}/attachments/{internal['id']}", auth=world.admin.basic).status_code == 404
    note = client.post(
        f"{API}/tickets/{ticket_id}/comments",
        json={"body": "for staff", "public": False, "attachment_ids": [internal["id"]]},
        auth=world.agent.basic,
    )
    assert note.status_code == 201, note.text
    public = upload(client, world.agent, ticket_id, b"public answer", name="answer.txt").json()

    mine = client.get(f"{API}/tickets/{ticket_id}/attachments", auth=world.customer.basic).json()
    assert [item["id"] for item in mine] == [shown["id"], public["id"]]
    for path in (f"/attachments/{internal['id']}", f"/attachments/{internal['id']}/content"):
        assert client.get(API + path, auth=world.customer.basic).status_code == 404
    history = client.get(f"{API}/tickets/{ticket_id}/events", auth=world.customer.basic).json()
    added = [event["new_value"]["attachment_id"] for event in history if event["kind"] == "attachment_added"]
    assert added == [shown["id"], public["id"]]
    staff_history = client.get(f"{API}/tickets/{ticket_id}/events", auth=world.agent.basic).json()
    assert sum(event["kind"] == "attachment_added" for event in staff_history) == 3

    for outsider in (world.customer2, world.outsider):
        for path in (
            f"/attachments/{public['id']}",
            f"/attachments/{public['id']}/content",
            f"/tickets/{ticket_id}/attachments",
        ):
            refused = client.get(API + path, auth=outsider.basic)
            assert refused.status_code == 404, (outsider.username, path)
    assert client.delete(f"{API}/attachments/{public['id']}", auth=world.outsider.basic).status_code == 404
    assert client.delete(f"{API}/attachments/{public['id']}", auth=world.customer.basic).status_code == 403
    assert client.delete(f"{API}/attachments/{public['id']}", auth=world.agent.basic).status_code == 204
    removed = client.get(f"{API}/tickets/{ticket_id}/events", auth=world.customer.basic).json()[-1]
    assert removed["kind"] == "attachment_removed" and removed["new_value"]["attachment_id"] == public["id"]
    assert client.get(f"{API}/attachments/{public['id']}", auth=world.agent.basic).status_code == 404


@pytest.fixture
def small(settings: Settings) -> Iterator[TestClient]:
    tight = settings.model_copy(
        update={"max_attachment_bytes": 1000, "max_attachments_per_ticket": 2, "attachment_quota_bytes": 2500}
    )
    with TestClient(create_app(tight), raise_server_exceptions=False) as client:
        yield client


def test_limits_refuse_before_anything_is_stored(small: TestClient, world: World, engine: Engine) -> None:
    ticket_id = ticket(small, world.agent)
    too_big = upload(small, world.agent, ticket_id, b"x" * 1001)
    assert too_big.status_code == 413 and too_big.headers["content-type"] == "application/problem+json"

    def chunked() -> Iterator[bytes]:  # no Content-Length: refused as it streams
        yield b"y" * 600
        yield b"y" * 600

    streamed = small.post(f"{API}/tickets/{ticket_id}/attachments", content=chunked(), auth=world.agent.basic)
    assert streamed.status_code == 413
    assert count_rows(engine, "attachments") == 0 and count_rows(engine, "attachment_parts") == 0

    assert upload(small, world.agent, ticket_id, b"a" * 900).status_code == 201
    assert upload(small, world.agent, ticket_id, b"b" * 900).status_code == 201
    third = upload(small, world.agent, ticket_id, b"c" * 10)
    assert third.status_code == 409 and "at most 2 files" in third.json()["detail"]

    other = ticket(small, world.agent)
    assert upload(small, world.agent, other, b"a" * 900).status_code == 201  # the same bytes: no new space
    full = upload(small, world.agent, other, b"d" * 800)
    assert full.status_code == 507, full.text
    assert "1800 of 2500 bytes" in full.json()["detail"]
    assert count_rows(engine, "attachment_blobs") == 2


def test_an_upload_honours_idempotency_key(client: TestClient, world: World, engine: Engine) -> None:
    ticket_id = ticket(client, world.agent)
    key = {"Idempotency-Key": "attach-once"}
    first = upload(client, world.agent, ticket_id, b"once", headers=key)
    again = upload(client, world.agent, ticket_id, b"once", headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert count_rows(engine, "attachments") == 1
    different = upload(client, world.agent, ticket_id, b"twice", headers=key)
    assert different.status_code == 422
