"""The OSM face over HTTP: IAM tokens, the seed's status request, the case lifecycle, errors."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import Actor, World
from ticketd.core import identity
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import User

CASES = "/v2/servicerequest"


def _iam(client: TestClient, actor: Actor, domain: str = "acme") -> str:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": actor.username, "password": actor.password, "domain": {"name": domain}}
                },
            },
            "scope": {},
        }
    }
    response = client.post("/v3/auth/tokens", json=body)
    assert response.status_code == 201, response.text
    token = response.headers["x-subject-token"]
    info = response.json()["token"]
    assert info["methods"] == ["password"] and info["user"]["name"] == actor.username
    assert info["expires_at"].endswith("Z") and info["issued_at"].endswith("Z")
    return token


def _create(client: TestClient, token: str, **extra: Any) -> str:
    body = {
        "business_type_id": "1",
        "simple_description": "Disk is full",
        "incident_sub_type_id": "101",
        **extra,
    }
    response = client.post(f"{CASES}/cases", json=body, headers={"X-Auth-Token": token})
    assert response.status_code == 200, response.text
    case_id: str = response.json()["incident_id"]
    return case_id


def test_seed_status_request(client: TestClient, world: World) -> None:
    token = _iam(client, world.customer)
    case_id = _create(client, token)
    response = client.get(
        f"{CASES}/cases/{case_id}/status",
        headers={"X-Auth-Token": token, "X-Language": "zh-cn", "X-Time-Zone": "GMT+8"},
    )
    assert response.status_code == 200
    assert response.json() == {"status": 0}
    assert client.get(f"{CASES}/cases/{case_id}/status", headers={"X-Auth-Token": token}).json() == {
        "status": 0
    }


@pytest.mark.parametrize(
    ("target", "code"), [("open", 1), ("pending", 17), ("solved", 2), ("invalid", 12), ("canceled", 4)]
)
def test_status_codes_follow_the_seed(client: TestClient, world: World, target: str, code: int) -> None:
    token = _iam(client, world.agent)
    case_id = _create(client, token)
    if target in ("pending", "solved"):
        client.post(f"/api/v1/tickets/{case_id}/transitions", json={"to": "open"}, auth=world.agent.basic)
    client.post(f"/api/v1/tickets/{case_id}/transitions", json={"to": target}, auth=world.agent.basic)
    assert client.get(f"{CASES}/cases/{case_id}/status", headers={"X-Auth-Token": token}).json() == {
        "status": code
    }


def test_headers_are_validated(client: TestClient, world: World) -> None:
    token = _iam(client, world.agent)
    case_id = _create(client, token)
    for headers in ({"X-Language": "x" * 33}, {"X-Time-Zone": "y" * 33}, {"X-Time-Zone": "Mars/Olympus"}):
        for path in (f"{CASES}/cases/{case_id}/status", f"{CASES}/cases/{case_id}"):
            response = client.get(path, headers={"X-Auth-Token": token, **headers})
            assert response.status_code == 400, (path, headers, response.text)
            assert response.json()["error_code"] == "OSM.01010001"
    long_id = client.get(f"{CASES}/cases/{'9' * 65}/status", headers={"X-Auth-Token": token})
    assert long_id.status_code == 400


def test_languages_and_time_zones(client: TestClient, world: World) -> None:
    token = _iam(client, world.agent)
    case_id = _create(client, token, severity_id="4")
    english = client.get(
        f"{CASES}/cases/{case_id}", headers={"X-Auth-Token": token, "X-Language": "en-us"}
    ).json()
    chinese = client.get(f"{CASES}/cases/{case_id}", headers={"X-Auth-Token": token}).json()
    assert english["incident_detail_info"]["severity_name"] == "Urgent"
    assert chinese["incident_detail_info"]["severity_name"] == "紧急"
    utc = client.get(
        f"{CASES}/cases/{case_id}", headers={"X-Auth-Token": token, "X-Time-Zone": "GMT+0"}
    ).json()
    plus8 = chinese["incident_detail_info"]["create_time"]
    assert int(plus8[11:13]) == (int(utc["incident_detail_info"]["create_time"][11:13]) + 8) % 24
    severities = client.get(
        f"{CASES}/config/severities", headers={"X-Auth-Token": token, "X-Language": "en-us"}
    )
    assert [s["severity_name"] for s in severities.json()["severity_list"]] == [
        "Minor",
        "Major",
        "Critical",
        "Urgent",
    ]
    categories = client.get(f"{CASES}/config/categories", headers={"X-Auth-Token": token}).json()
    assert categories["total_count"] == len(categories["incident_sub_type_list"]) > 0


def test_list_filters_count_actions_and_logs(client: TestClient, world: World) -> None:
    token = _iam(client, world.agent)
    headers = {"X-Auth-Token": token}
    first = _create(client, token, simple_description="VPN flaps")
    second = _create(client, token, simple_description="Bill too high", business_type_id="2")
    listed = client.get(f"{CASES}/cases", params={"limit": 1, "offset": 0}, headers=headers).json()
    assert listed["total_count"] == 2 and len(listed["incident_info_list"]) == 1
    found = client.get(f"{CASES}/cases", params={"search_key": "VPN"}, headers=headers).json()
    assert [c["incident_id"] for c in found["incident_info_list"]] == [first]
    client.post(f"{CASES}/cases/{second}/action", params={"action_id": "close"}, json={}, headers=headers)
    closed = client.get(f"{CASES}/cases", params={"status": 3}, headers=headers).json()
    assert [c["incident_id"] for c in closed["incident_info_list"]] == [second]
    counts = {
        e["status"]: e["count"]
        for e in client.get(f"{CASES}/cases/count", headers=headers).json()["incident_status_counts"]
    }
    assert counts[0] == 1 and counts[3] == 1
    refused = client.post(
        f"{CASES}/cases/{first}/action", params={"action_id": "confirm"}, json={}, headers=headers
    )
    assert refused.status_code == 400 and refused.json()["error_code"] == "OSM.01040002"
    unknown = client.post(
        f"{CASES}/cases/{first}/action", params={"action_id": "explode"}, json={}, headers=headers
    )
    assert unknown.status_code == 400
    logs = client.get(f"{CASES}/cases/{second}/operate-logs", headers=headers).json()
    assert logs["total_count"] == 2 and logs["incident_operate_log_list"][0]["operate_type"] == 1


def test_labels(client: TestClient, world: World) -> None:
    token = _iam(client, world.agent)
    headers = {"X-Auth-Token": token}
    case_id = _create(client, token)
    assert (
        client.post(f"{CASES}/labels", json={"name": "vip", "color": "#ff0000"}, headers=headers).status_code
        == 200
    )
    labels = client.get(f"{CASES}/labels", headers=headers).json()
    assert labels["total_count"] == 1
    label_id = labels["label_list"][0]["label_id"]
    added = client.post(
        f"{CASES}/cases/{case_id}/labels", params={"label_ids": str(label_id)}, headers=headers
    )
    assert added.status_code == 200
    assert (
        client.get(f"{CASES}/cases/{case_id}/labels", headers=headers).json()["case_label_list"][0]["name"]
        == "vip"
    )
    by_label = client.get(f"{CASES}/cases", params={"label_id_list": str(label_id)}, headers=headers).json()
    assert by_label["total_count"] == 1
    client.delete(f"{CASES}/cases/{case_id}/labels", params={"label_ids": str(label_id)}, headers=headers)
    assert client.get(f"{CASES}/cases/{case_id}/labels", headers=headers).json()["case_label_list"] == []
    bad = client.post(f"{CASES}/cases/{case_id}/labels", params={"label_ids": "424242"}, headers=headers)
    assert bad.status_code == 400


def test_tokens_stop_at_once_on_disable_or_password_change(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    token = _iam(client, world.agent)
    case_id = _create(client, token)
    path = f"{CASES}/cases/{case_id}/status"
    assert client.get(path, headers={"X-Auth-Token": token}).status_code == 200
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, world.agent.user_id)
        assert user is not None
        identity.set_password(db, user, "brand new password")
        db.commit()
    for url in (path, f"{CASES}/cases"):
        refused = client.get(url, headers={"X-Auth-Token": token})
        assert refused.status_code == 401 and refused.json()["error_code"] == "APIGW.0301"
    world.agent.password = "brand new password"
    token = _iam(client, world.agent)
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, world.agent.user_id)
        assert user is not None
        identity.set_disabled(db, user, True)
        db.commit()
    assert client.get(path, headers={"X-Auth-Token": token}).status_code == 401


def test_other_tenants_cases_answer_as_missing(client: TestClient, world: World) -> None:
    case_id = _create(client, _iam(client, world.agent))
    outsider = _iam(client, world.outsider, domain="other")
    for path in (
        f"{CASES}/cases/{case_id}/status",
        f"{CASES}/cases/{case_id}",
        f"{CASES}/cases/{case_id}/messages",
    ):
        theirs = client.get(path, headers={"X-Auth-Token": outsider})
        missing = client.get(path.replace(case_id, "987654"), headers={"X-Auth-Token": outsider})
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/cases/1/status", {}, 401),
        ("GET", "/cases", {"headers": {"X-Auth-Token": "garbage"}}, 401),
        ("GET", "/cases/1/status", {"headers": {"X-Auth-Token": "x" * 5001}}, 401),
        ("GET", "/cases", {"headers": {"Authorization": "SDK-HMAC-SHA256 nonsense"}}, 401),
        ("PUT", "/cases", {}, 405),
        ("POST", "/cases", {"content": b"<x/>", "headers": {"Content-Type": "text/xml"}}, 415),
        ("GET", "/cases/1/status", {"headers": {"Accept": "text/html"}}, 406),
        ("GET", "/cases", {"headers": {"X-Big": "y" * 20_000}}, 431),
        ("GET", "/nowhere", {}, 404),
    ],
)
def test_bad_requests_get_the_error_body(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = client.request(method, f"{CASES}{path}", **kwargs)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error_code", "error_msg"}


def test_bad_bodies(client: TestClient, world: World) -> None:
    token = _iam(client, world.agent)
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
    for content in (
        b"{",
        b"[]",
        b'{"simple_description": "no type"}',
        b'{"business_type_id": "99", "simple_description": "x"}',
    ):
        response = client.post(f"{CASES}/cases", content=content, headers=headers)
        assert response.status_code == 400, (content, response.text)
        assert response.json()["error_code"] == "OSM.01010001"
    for body in (b"{", b'{"auth": {}}', b"[]"):
        assert (
            client.post(
                "/v3/auth/tokens", content=body, headers={"Content-Type": "application/json"}
            ).status_code
            == 400
        )
    wrong = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "agent", "password": "nope", "domain": {"name": "acme"}}},
            }
        }
    }
    assert client.post("/v3/auth/tokens", json=wrong).status_code == 401


def test_openapi_document_under_its_prefix(client: TestClient) -> None:
    document = client.get(f"{CASES}/openapi.json").json()
    assert {f"{CASES}/cases/{{case_id}}/status", f"{CASES}/cases", "/v3/auth/tokens"} <= set(
        document["paths"]
    )
