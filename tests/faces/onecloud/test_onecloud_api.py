"""The OneCloud face replays the vendor's examples and refuses bad input in its own envelope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import Actor, World
from tests.faces.native.test_attachments_api import png
from ticketd.assembly.app import TicketdApp
from ticketd.core import identity
from ticketd.core.clock import utcnow
from ticketd.faces.onecloud import tokens
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import User

# The keys of the seed's example record, in its order.
SEED_RECORD_KEYS = [
    "Id",
    "SiteId",
    "Requestor",
    "Assignee",
    "Cc",
    "Subject",
    "Content",
    "Description",
    "Solution",
    "Remarks",
    "ProductId",
    "ProjectId",
    "RegionId",
    "ContactId",
    "PriorityId",
    "PriorityValue",
    "CategoryId",
    "Progress",
    "OrganizationId",
    "BranchId",
    "DueDate",
    "ViewDate",
    "OpenDate",
    "OpenUser",
    "ReOpenDate",
    "SolveDate",
    "CloseDate",
    "PendingDate",
    "Comment",
    "Viewer",
    "LocationId",
    "MessageId",
    "TypeId",
    "MediaId",
    "StatusId",
    "Responder",
    "Handler",
    "CommentDate",
    "UnseenComment",
    "IsAgentSaveContact",
    "ModifyDate",
    "ResponseTime",
    "ResolutionTime",
    "HandlingTime",
    "WaitingTime",
    "CloseUser",
    "SolveUser",
    "StatusDate",
    "Modifier",
    "Creator",
    "CreateDate",
    "ExpireDate",
    "AssignDate",
    "AssigneeList",
    "AssigneeTextList",
]
EXPIRED_BODY = {
    "_meta": {"status": "ERROR", "count": 1},
    "records": {
        "errorCode": 401,
        "userMessage": "Expired token",
        "devMessage": None,
        "more": None,
        "applicationCode": None,
    },
}


def _login(client: TestClient, world: World, actor: Actor, *, form: bool = True) -> str:
    fields = {
        "email": f"{actor.username}@acme.example",
        "password": actor.password,
        "siteId": str(world.tenant_id),
    }
    response = (
        client.post("/api/authenticate", data=fields)
        if form
        else client.post("/api/authenticate", json=fields)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_code"] == "200" and body["response_status"] == "Success"
    token: str = body["token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _create(client: TestClient, token: str, **extra: str) -> str:
    fields = {
        "fullName": "Dinni",
        "contact": "dinni@example.com",
        "subject": "brosur",
        "category": "332",
        "content": "xxx",
        **extra,
    }
    response = client.post("/api/ticket/create", data=fields, headers=_bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_code"] == "200" and body["response_status"] == "Success"
    ticket_id: str = body["ticketId"]
    return ticket_id


def test_token_has_the_vendors_claims(client: TestClient, world: World) -> None:
    token = _login(client, world, world.agent)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert {"iss", "sub", "sid", "iat", "nbf", "exp"} <= set(claims)
    assert claims["sub"] == str(world.agent.user_id) and claims["sid"] == str(world.tenant_id)
    assert claims["exp"] - claims["iat"] == 900
    assert _login(client, world, world.agent, form=False)


def test_failed_login_body_is_the_vendors(client: TestClient, world: World) -> None:
    for password, site in (("wrong", str(world.tenant_id)), (world.agent.password, "1691")):
        response = client.post(
            "/api/authenticate", data={"email": "agent@acme.example", "password": password, "siteId": site}
        )
        assert response.status_code == 401
        assert response.json() == {
            "_meta": {"status": "ERROR", "count": 1},
            "records": {
                "errorCode": "401",
                "userMessage": f"you are not authorized to log into this site {site}",
                "devMessage": "",
                "more": "",
                "applicationCode": "",
            },
        }
    missing = client.post("/api/authenticate", data={"email": "agent@acme.example"})
    assert missing.status_code == 400 and missing.json()["_meta"]["status"] == "ERROR"


def test_get_record_has_exactly_the_seed_keys_and_types(client: TestClient, world: World) -> None:
    token = _login(client, world, world.agent)
    ticket_id = _create(client, token)
    client.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "open"}, auth=world.agent.basic)
    client.patch(
        f"/api/v1/tickets/{ticket_id}", json={"assignee_ids": [world.agent.user_id]}, auth=world.agent.basic
    )
    client.post(f"/api/v1/tickets/{ticket_id}/comments", json={"body": "on it"}, auth=world.agent.basic)
    for target in ("solved", "closed"):
        client.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": target}, auth=world.agent.basic)
    response = client.get(f"/api/ticketrz/{ticket_id}", headers=_bearer(token))
    assert response.status_code == 200
    record: dict[str, Any] = response.json()
    # The seed's keys in its order, then the files, as the find list's entries carry them.
    assert list(record) == [*SEED_RECORD_KEYS, "Attachments"]
    assert record.pop("Attachments") == []
    assert all(value is None or isinstance(value, str) for value in record.values())
    assert record["Id"] == ticket_id and record["SiteId"] == str(world.tenant_id)
    assert (record["StatusId"], record["PriorityId"], record["PriorityValue"]) == ("TS7", "TP2", "1")
    assert record["CategoryId"] == "332" and record["TypeId"] == "TT1" and record["MediaId"] == "WEB"
    assert record["AssigneeList"] == str(world.agent.user_id) and record["AssigneeTextList"] == "agent"
    assert record["CloseUser"] == record["SolveUser"] == str(world.agent.user_id)
    assert record["ExpireDate"] == "3000-01-01 00:00:00" and record["Comment"] == "1"
    assert record["ResolutionTime"] is not None and record["ResolutionTime"].isdecimal()
    assert len(record["CreateDate"]) == 19


def test_expired_token_gets_the_seeds_exact_body(client: TestClient, world: World, app: TicketdApp) -> None:
    secret = tokens.face_keys(app.services.server_keys)
    stale = tokens.issue(
        secret,
        issuer="x",
        user_id=world.agent.user_id,
        site_id=world.tenant_id,
        credential_version=1,
        now=utcnow() - timedelta(hours=1),
        ttl=timedelta(minutes=15),
    )
    for path in ("/api/ticketrz/1", "/api/ticketrz", "/api/ticket/conversations/1"):
        response = client.get(path, headers=_bearer(stale))
        assert response.status_code == 401
        assert response.json() == EXPIRED_BODY


def test_find_pages_with_since_id_limit_offset(client: TestClient, world: World) -> None:
    token = _login(client, world, world.agent)
    ids = [int(_create(client, token, subject=f"case {n}")) for n in range(5)]
    page = client.get("/api/ticketrz", params={"limit": 2}, headers=_bearer(token)).json()
    assert page["limit"] == "2" and page["offset"] == 0 and page["count"] == 2 and page["total"] == 5
    assert [int(t["Id"]) for t in page["data"]] == ids[:2]
    entry = page["data"][0]
    assert set(entry) == {
        "Id",
        "Requestor",
        "Assignee",
        "Subject",
        "Description",
        "Viewer",
        "DueDate",
        "CreateDate",
        "ModifyDate",
        "Media",
        "Product",
        "Region",
        "Category",
        "Status",
        "Priority",
        "Attachments",
        "Tags",
    }
    assert (entry["Status"], entry["Priority"], entry["Media"], entry["Category"]) == (
        "New",
        "Normal",
        "Web",
        "Question",
    )
    since = client.get(
        "/api/ticketrz", params={"sinceId": ids[2], "offset": 1}, headers=_bearer(token)
    ).json()
    assert since["total"] == 2 and [int(t["Id"]) for t in since["data"]] == [ids[4]]
    bad = client.get("/api/ticketrz", params={"limit": "lots"}, headers=_bearer(token))
    assert bad.status_code == 400 and bad.json()["_meta"]["status"] == "ERROR"


def test_create_is_seen_by_the_native_face_and_remove(client: TestClient, world: World) -> None:
    token = _login(client, world, world.agent)
    ticket_id = _create(client, token, coordinate="-6.2,106.8")
    native = client.get(f"/api/v1/tickets/{ticket_id}", auth=world.agent.basic).json()
    assert native["status"] == "new" and native["category"] == "Question"
    assert native["custom_fields"] == {"fullName": "Dinni", "coordinate": "-6.2,106.8"}
    client.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "pending"}, auth=world.agent.basic)
    assert client.get(f"/api/ticketrz/{ticket_id}", headers=_bearer(token)).json()["StatusId"] == "TS3"
    json_create = client.post(
        "/api/ticket/create",
        json={"fullName": "A", "contact": "a@b.c", "subject": "s", "category": "Question", "content": "c"},
        headers=_bearer(token),
    )
    assert json_create.status_code == 200
    removed = client.delete(f"/api/ticketrz/{ticket_id}", headers=_bearer(token))
    assert removed.status_code == 200 and removed.json() == {}
    gone = client.get(f"/api/ticketrz/{ticket_id}", headers=_bearer(token))
    assert gone.status_code == 404 and gone.json()["records"]["userMessage"] == "Data not found"
    missing = client.post("/api/ticket/create", data={"subject": "only"}, headers=_bearer(token))
    assert missing.status_code == 400
    assert "fullName" in missing.json()["records"]["userMessage"]


def test_conversations_hide_internal_notes_from_customers(client: TestClient, world: World) -> None:
    customer = _login(client, world, world.customer)
    ticket_id = _create(client, customer)
    client.post(f"/api/v1/tickets/{ticket_id}/comments", json={"body": "hello"}, auth=world.agent.basic)
    client.post(
        f"/api/v1/tickets/{ticket_id}/comments",
        json={"body": "note", "public": False},
        auth=world.agent.basic,
    )
    mine = client.get(f"/api/ticket/conversations/{ticket_id}", headers=_bearer(customer)).json()
    assert mine["type"] == "message" and mine["ticketId"] == ticket_id
    assert [m["Message"] for m in mine["data"]] == ["hello"]
    # The record's comment count is what the caller may see, too.
    assert client.get(f"/api/ticketrz/{ticket_id}", headers=_bearer(customer)).json()["Comment"] == "1"
    staff = client.get(
        f"/api/ticket/conversations/{ticket_id}", headers=_bearer(_login(client, world, world.agent))
    )
    assert len(staff.json()["data"]) == 2
    refused = client.delete(f"/api/ticketrz/{ticket_id}", headers=_bearer(customer))
    assert refused.status_code == 403


def test_other_tenants_see_nothing(client: TestClient, world: World) -> None:
    token = _login(client, world, world.agent)
    ticket_id = _create(client, token)
    fields = {
        "email": "outsider@other.example",
        "password": world.outsider.password,
        "siteId": str(world.outsider.principal.tenant_id),
    }
    outsider = client.post("/api/authenticate", data=fields).json()["token"]
    theirs = client.get(f"/api/ticketrz/{ticket_id}", headers=_bearer(outsider))
    missing = client.get("/api/ticketrz/987654", headers=_bearer(outsider))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert client.delete(f"/api/ticketrz/{ticket_id}", headers=_bearer(outsider)).status_code == 404
    assert client.get("/api/ticketrz", headers=_bearer(outsider)).json()["total"] == 0


def test_token_dies_when_the_password_changes(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    token = _login(client, world, world.agent)
    assert client.get("/api/ticketrz", headers=_bearer(token)).status_code == 200
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, world.agent.user_id)
        assert user is not None
        identity.set_password(db, user, "changed password")
        db.commit()
    assert client.get("/api/ticketrz", headers=_bearer(token)).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/api/ticketrz/1", {}, 401),
        ("GET", "/api/ticketrz/1", {"headers": {"Authorization": "Bearer garbage"}}, 401),
        ("GET", "/api/ticketrz/1", {"headers": {"Authorization": "Basic Zm9vOmJhcg=="}}, 401),
        ("PUT", "/api/ticketrz/1", {}, 405),
        (
            "POST",
            "/api/ticket/create",
            {"content": b"<xml/>", "headers": {"Content-Type": "application/xml"}},
            415,
        ),
        (
            "POST",
            "/api/authenticate",
            {"content": b"{bad json", "headers": {"Content-Type": "application/json"}},
            400,
        ),
        (
            "POST",
            "/api/authenticate",
            {"content": b"[1,2]", "headers": {"Content-Type": "application/json"}},
            400,
        ),
        ("GET", "/api/ticketrz/1", {"headers": {"X-Big": "y" * 20_000}}, 431),
        ("GET", "/api/ticketrz/1", {"headers": {"Accept": "text/html"}}, 406),
        (
            "POST",
            "/api/authenticate",
            {"content": b"x" * 2_000_000, "headers": {"Content-Type": "application/json"}},
            413,
        ),
    ],
)
def test_bad_input_gets_the_envelope(
    client: TestClient, world: World, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["_meta"] == {"status": "ERROR", "count": 1}
    assert body["records"]["errorCode"] in (status, str(status))


def test_garbage_ids_name_no_ticket(client: TestClient, world: World) -> None:
    token = _login(client, world, world.agent)
    for ticket_id in ("abc", "99999999999999999999999", "-1", "1.5"):
        response = client.get(f"/api/ticketrz/{ticket_id}", headers=_bearer(token))
        assert response.status_code == 404
        assert response.json()["records"]["userMessage"] == "Data not found"


def test_openapi_document_under_its_prefix(client: TestClient) -> None:
    document = client.get("/api/onecloud/openapi.json").json()
    assert {
        "/api/authenticate",
        "/api/ticketrz/{ticket_id}",
        "/api/ticketrz",
        "/api/ticket/create",
        "/api/ticket/conversations/{ticket_id}",
    } <= set(document["paths"])
    assert not any(path.startswith("/api/v1") for path in document["paths"])


def test_create_takes_files_in_attachment_and_file_and_records_list_them(
    client: TestClient, world: World
) -> None:
    token = _login(client, world, world.customer)
    fields = {"fullName": "Dinni", "contact": "dinni@example.com", "subject": "brosur", "category": "332"}
    response = client.post(
        "/api/ticket/create",
        data={**fields, "content": "scan and photo attached"},
        files=[
            ("attachment", ("scan.pdf", b"%PDF-1.4\n%scan", "application/pdf")),
            ("file", ("photo.png", png(), "image/png")),
        ],
        headers=_bearer(token),
    )
    assert response.status_code == 200, response.text
    ticket_id = response.json()["ticketId"]
    record = client.get(f"/api/ticketrz/{ticket_id}", headers=_bearer(token)).json()
    files = record["Attachments"]
    assert [(f["FileName"], f["FileType"], f["FileSize"]) for f in files] == [
        ("scan.pdf", "application/pdf", "14"),
        ("photo.png", "image/png", str(len(png()))),
    ]
    assert all(isinstance(value, str | None) for entry in files for value in entry.values())
    found = client.get("/api/ticketrz", headers=_bearer(token)).json()["data"]
    (entry,) = [item for item in found if item["Id"] == ticket_id]
    assert entry["Attachments"] == files
    download = client.get(files[1]["Url"], headers=_bearer(token))
    assert download.status_code == 200 and download.content == png()
    assert download.headers["x-content-type-options"] == "nosniff"
    other = _login(client, world, world.customer2)
    assert client.get(files[1]["Url"], headers=_bearer(other)).status_code == 404
    # A value that is no file, in a file's field: refused, and nothing created.
    before = client.get("/api/ticketrz", headers=_bearer(token)).json()["total"]
    refused = client.post(
        "/api/ticket/create",
        data={**fields, "content": "x", "attachment": "not a file"},
        files=[("file", ("a.txt", b"a", "text/plain"))],
        headers=_bearer(token),
    )
    assert refused.status_code == 400 and "attachment must be a file" in refused.text
    assert client.get("/api/ticketrz", headers=_bearer(token)).json()["total"] == before
