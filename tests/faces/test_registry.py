from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from ticketd.faces.limits import FACE_NAMES
from ticketd.faces.registry import BUILDERS
from ticketd.settings import Settings
from ticketd.web.app import create_app

SWITCHED_OFF = (
    "/v1/system/status",
    "/v3.8/distributor/system/ping",
    "/v2/servicerequest/cases/1/status",
)


def test_faces_can_be_switched_off(tmp_path: Path) -> None:
    settings = Settings(database_path=tmp_path / "off.sqlite3", secret_key="k" * 40, faces="native,onecloud")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for path in SWITCHED_OFF:
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"
        assert client.get("/api/onecloud/openapi.json").status_code == 200


def test_an_unknown_face_is_a_configuration_error(tmp_path: Path) -> None:
    settings = Settings(database_path=tmp_path / "bad.sqlite3", secret_key="k" * 40, faces="native,zendesk")
    with pytest.raises(ValueError, match="zendesk"):
        create_app(settings)


def test_every_face_has_its_default_limits() -> None:
    assert tuple(BUILDERS) == FACE_NAMES
