"""When the password checks are saturated (core/passwords.py refuses with Unavailable rather than
queue without end), every face that takes a password answers 503 in its own format with
Retry-After, and signs no one in."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.core import passwords
from ticketd.core.errors import Unavailable


def _busy(_hash: str | None, _password: str) -> bool:
    raise Unavailable("too many sign-ins at once; try again in a moment")


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_busy_password_checks_answer_503_with_retry_after(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passwords.CHECKS, "verify", _busy)
    agent = world.agent
    native = client.post(
        "/api/v1/auth/token", json={"tenant": "acme", "username": agent.username, "password": agent.password}
    )
    assert native.status_code == 503 and native.headers["content-type"] == "application/problem+json"
    user = {"name": agent.username, "password": agent.password, "domain": {"name": "acme"}}
    huawei = client.post(
        "/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    )
    assert huawei.status_code == 503 and huawei.json()["error_code"] == "APIGW.0203"
    onecloud = client.post(
        "/api/authenticate",
        data={
            "email": f"{agent.username}@acme.example",
            "password": agent.password,
            "siteId": str(world.tenant_id),
        },
    )
    assert onecloud.status_code == 503
    console = client.post(
        "/console/sign-in", data={"tenant": "acme", "username": agent.username, "password": agent.password}
    )
    assert console.status_code == 503 and console.headers["content-type"].startswith("text/html")
    assert "ticketd_console" not in console.headers.get("set-cookie", "")
    for answer in (native, huawei, onecloud, console):
        assert answer.headers["retry-after"] == "5", answer.request.url
