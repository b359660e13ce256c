"""Text the store cannot hold is refused at the edge, on every face (web/storable_text.py).

The sweep reads every face's OpenAPI document, like the cross-tenant sweep: every operation, every
string parameter and body field, sent with a NUL, an unpaired surrogate, a control character and an
over-long value, as the face's user and unauthenticated, on both stores. Never a 5xx, never an
operation that fails for its input. The console's forms and every face's sign-in are swept too.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from tests.faces.huawei.test_huawei_api import _iam
from ticketd.assembly.registry import API_FACES
from ticketd.core.operations import FINISHED
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation

NUL, SURROGATE, CONTROL, LONG = "a\x00b", "a\ud800b", "a\x07\x1bb", "x" * 20_000
BAD_VALUES = {"nul": NUL, "surrogate": SURROGATE, "control": CONTROL, "long": LONG}
JSON_TYPES = ("application/json", "application/merge-patch+json")
FORM = "application/x-www-form-urlencoded"


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            options = [_resolve(document, option) for option in schema[combined]]
            typed = [option for option in options if option.get("type") not in (None, "null")]
            return typed[0] if typed else options[0]
    return schema


def _takes_text(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "string" or (isinstance(kind, list) and "string" in kind) or kind is None


def _plausible(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A value the schema takes, for the fields that are not the one under test."""
    schema = _resolve(document, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {
            name: _plausible(document, sub)
            for name, sub in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    if schema.get("format") == "date-time":
        return "2026-01-01T00:00:00Z"
    return "plain"


def _requests(document: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, what is bad, request arguments) for every text each operation takes."""
    found: list[tuple[str, str, str, dict[str, Any]]] = []
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            parameters = [p for p in operation.get("parameters", []) if "$ref" not in p]
            base_path = re.sub(r"{\w+}", "1", template)
            content = operation.get("requestBody", {}).get("content", {})
            media = next((m for m in (*JSON_TYPES, FORM) if m in content), None)
            body_schema = _resolve(document, content[media]["schema"]) if media else {}
            base_body = _plausible(document, body_schema) if media else None
            spots: list[tuple[str, dict[str, Any]]] = []
            for parameter in parameters:
                if not _takes_text(_resolve(document, parameter.get("schema", {}))):
                    continue
                name, where = parameter["name"], parameter["in"]
                for label, bad in BAD_VALUES.items():
                    if where == "path":
                        # Percent-encoded as a client sends it; the server decodes it.
                        quoted = (
                            "".join(c if c.isalnum() else f"%{ord(c):02X}" for c in bad[:200])
                            if label != "surrogate"
                            else "a%ED%A0%80b"
                        )
                        path = template.replace("{" + name + "}", quoted)
                        spots.append((f"{where} {name} {label}", {"url": re.sub(r"{\w+}", "1", path)}))
                    elif where == "query" and label == "surrogate":
                        # UTF-8 on the wire cannot spell one: the bytes a client might send instead.
                        spots.append((f"{where} {name} {label}", {"url": f"{base_path}?{name}=a%ED%A0%80b"}))
                    elif where == "query":
                        spots.append((f"{where} {name} {label}", {"url": base_path, "params": {name: bad}}))
                    elif where == "header" and label in ("control", "long"):
                        # A header cannot carry NUL or a surrogate on the wire.
                        spots.append((f"{where} {name} {label}", {"url": base_path, "headers": {name: bad}}))
            if media is not None and isinstance(base_body, dict):
                for name, sub in body_schema.get("properties", {}).items():
                    if not _takes_text(_resolve(document, sub)):
                        continue
                    for label, bad in BAD_VALUES.items():
                        body = {**base_body, name: bad}
                        if media == FORM:
                            if label == "surrogate":
                                continue  # a form is UTF-8 on the wire: it cannot spell one
                            arguments: dict[str, Any] = {"url": base_path, "data": body}
                        else:
                            # Spelt as JSON spells it (\\u0000, \\ud800), which is how it arrives.
                            arguments = {
                                "url": base_path,
                                "content": json.dumps(body).encode(),
                                "headers": {"content-type": media},
                            }
                        spots.append((f"body {name} {label}", arguments))
            found += [(method.upper(), template, spot, arguments) for spot, arguments in spots]
    return found


def _callers(client: TestClient, world: World) -> dict[str, list[dict[str, Any]]]:
    onecloud = client.post(
        "/api/authenticate",
        data={"email": "admin@acme.example", "password": world.admin.password, "siteId": "1"},
    ).json()["token"]
    anonymous: dict[str, Any] = {}
    return {
        "native": [{"auth": world.admin.basic}, anonymous],
        "wallet": [{"auth": world.admin.basic}, anonymous],
        "onecloud": [{"headers": {"Authorization": f"Bearer {onecloud}"}}, anonymous],
        "prioticket": [anonymous],
        "huawei": [{"headers": {"X-Auth-Token": _iam(client, world.admin)}}, anonymous],
        "status": [anonymous],
    }


def _merged(caller: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    merged = {**caller, **arguments}
    if "headers" in caller and "headers" in arguments:
        merged["headers"] = {**caller["headers"], **arguments["headers"]}
    return merged


def test_every_face_refuses_text_the_store_cannot_hold_without_failing(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    client.post(
        "/api/v1/tickets", json={"subject": "the one ticket", "tags": ["vip"]}, auth=world.admin.basic
    )
    callers = _callers(client, world)
    failures: list[str] = []
    swept = 0
    for face in API_FACES:
        assert face.openapi_path is not None
        document = client.get(face.openapi_path).json()
        for method, template, spot, arguments in _requests(document):
            for caller in callers[face.name]:
                answer = client.request(method, **_merged(caller, arguments))
                swept += 1
                if answer.status_code >= 500:
                    failures.append(f"{method} {template} [{spot}]: {answer.status_code} {answer.text[:160]}")
    assert failures == []
    assert swept >= 1_000
    # The operations the sweep started run on the worker: each finishes, none for its input.
    deadline = time.monotonic() + 60
    while True:
        with unit_of_work(sessions, write=False) as db:
            statuses = [operation.status for operation in db.scalars(select(Operation)).all()]
            failed = db.scalars(select(Operation).where(Operation.status == "failed")).all()
            errors = [operation.error for operation in failed]
        if all(status in FINISHED for status in statuses) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert errors == []
    assert all(status in FINISHED for status in statuses), statuses


@pytest.mark.parametrize("label", ["nul", "surrogate"])
def test_each_face_refuses_it_in_its_own_format_before_any_store_work(
    client: TestClient, world: World, label: str
) -> None:
    bad = BAD_VALUES[label]
    body = json.dumps({"subject": bad}).encode()
    native = client.post(
        "/api/v1/tickets", content=body, headers={"content-type": "application/json"}, auth=world.admin.basic
    )
    assert native.status_code == 400 and native.headers["content-type"] == "application/problem+json"
    assert "cannot hold" in native.json()["detail"]
    token = json.dumps({"grant_type": "password", "tenant": bad, "username": "a", "password": "b"})
    refused = client.post(
        "/api/v1/auth/token", content=token.encode(), headers={"content-type": "application/json"}
    )
    assert refused.status_code == 400
    onecloud = client.post(
        "/api/authenticate",
        content=json.dumps({"email": bad, "password": "x"}).encode(),
        headers={"content-type": "application/json"},
    )
    assert onecloud.status_code == 400 and onecloud.json()["_meta"]["status"] == "ERROR"
    assert client.get("/api/v1/tickets", params={"tag": NUL}, auth=world.admin.basic).status_code == 400
    listed = client.get("/api/v1/tickets", auth=world.admin.basic).json()
    assert listed["total"] == 0  # nothing of it was stored


def test_the_console_and_every_sign_in_refuse_it(client: TestClient, world: World) -> None:
    origin = {"origin": "http://testserver"}
    for field in ("tenant", "username", "password"):
        form = {"tenant": "acme", "username": "admin", "password": world.admin.password, field: NUL}
        answer = client.post("/console/sign-in", data=form, headers=origin, follow_redirects=False)
        assert answer.status_code == 400, (field, answer.status_code, answer.text[:200])
        assert answer.headers["content-type"].startswith("text/html")
    ticket = client.post("/api/v1/tickets", json={"subject": "mine"}, auth=world.customer.basic).json()
    signed = client.post(
        "/console/sign-in",
        data={"tenant": "acme", "username": "customer", "password": world.customer.password},
        headers=origin,
        follow_redirects=False,
    )
    assert signed.status_code == 303
    page = client.get("/console/portal/new")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    for label, bad in BAD_VALUES.items():
        if label == "surrogate":
            continue  # a form is UTF-8 on the wire: it cannot spell one
        for path, form in (
            ("/console/portal/new", {"subject": bad, "content": bad}),
            (f"/console/tickets/{ticket['id']}/reply", {"body": bad}),
        ):
            answer = client.post(
                path, data={"csrf": csrf.group(1), **form}, headers=origin, follow_redirects=False
            )
            assert answer.status_code < 500, (path, label, answer.status_code)
            if label == "nul":
                assert answer.status_code == 400, (path, answer.status_code)
    huawei = client.post(
        "/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": NUL, "password": "x", "domain": {"name": "acme"}}},
                }
            }
        },
    )
    assert huawei.status_code == 400 and "error_code" in huawei.json()
    prioticket = client.post(
        "/v3.8/distributor/oauth2/token", data={"grant_type": "client_credentials", "client_id": NUL}
    )
    assert prioticket.status_code == 400
