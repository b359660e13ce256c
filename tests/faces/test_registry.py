from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from ticketd.assembly.app import create_app
from ticketd.assembly.registry import FACES
from ticketd.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
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


def test_every_face_is_served_by_default_with_its_document(tmp_path: Path) -> None:
    settings = Settings(database_path=tmp_path / "all.sqlite3", secret_key="k" * 40)
    assert len({face.name for face in FACES}) == len(FACES)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for face in FACES:
            assert (ROOT / face.docs).is_file(), face.docs
            if face.openapi_path is not None:
                document = client.get(face.openapi_path)
                assert document.status_code == 200, face.name
                assert document.json()["paths"], face.name
            face.limits(settings)
