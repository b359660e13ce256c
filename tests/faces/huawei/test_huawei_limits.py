"""Throttling on the OSM face: the API gateway's 429 APIGW.0308."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import World
from tests.faces.huawei.test_huawei_api import CASES, _create, _iam
from ticketd.assembly.app import create_app
from ticketd.settings import Settings


def test_throttling_is_an_apigw_error(settings: Settings, world: World) -> None:
    app = create_app(settings.model_copy(update={"limit_credential": "3/minute"}))
    with TestClient(app, raise_server_exceptions=False) as client:
        token = _iam(client, world.agent)
        case_id = _create(client, token)
        headers = {"X-Auth-Token": token}
        statuses = [
            client.get(f"{CASES}/cases/{case_id}/status", headers=headers).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        for path in (f"{CASES}/cases/{case_id}/status", f"{CASES}/cases"):
            refused = client.get(path, headers=headers)
            assert refused.status_code == 429
            assert refused.json() == {
                "error_code": "APIGW.0308",
                "error_msg": "The throttling threshold has been reached",
            }
            assert int(refused.headers["retry-after"]) > 0
