"""Every face's OpenAPI document is valid, names its operations shortly and stably, and says what the
server answers; a client generated from the native document works against a real server."""

from __future__ import annotations

import base64
import importlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from tests.web.test_server import _demo, _free_port, serving
from ticketd.assembly.registry import API_FACES
from ticketd.settings import Settings

CAMEL = r"^[a-z][A-Za-z]+$"
VENDOR_NAMES = {"huawei": {"ShowCaseStatus", "CreateCases", "ListCases", "ShowCaseDetail", "ListMessages"}}


def test_every_document_validates_with_short_operation_ids(client: TestClient) -> None:
    for face in API_FACES:
        assert face.openapi_path is not None
        document = client.get(face.openapi_path).json()
        validate(document)
        ids = [operation["operationId"] for path in document["paths"].values() for operation in path.values()]
        assert len(ids) == len(set(ids)), face.name
        assert all(len(operation_id) <= 40 and "_" not in operation_id for operation_id in ids), ids
        assert VENDOR_NAMES.get(face.name, set()) <= set(ids), face.name
        assert "HTTPValidationError" not in str(document), face.name


def test_native_operation_ids_are_the_documented_ones(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    ids = {operation["operationId"] for path in document["paths"].values() for operation in path.values()}
    assert {
        "createTicket",
        "getTicket",
        "updateTicket",
        "listTickets",
        "getTicketStatus",
        "getOperation",
    } <= ids
    status = document["paths"]["/api/v1/tickets/{ticket_id}/status"]["get"]["responses"]
    assert (
        "304" in status
        and "409" in document["paths"]["/api/v1/tickets/{ticket_id}/transitions"]["post"]["responses"]
    )


def _generate(document_url: str, where: Path) -> None:
    document = where / "native.json"
    document.write_bytes(httpx2.get(document_url).content)
    config = where / "config.yml"
    config.write_text(
        "project_name_override: ticketd-client\npackage_name_override: ticketd_client\npost_hooks: []\n"
    )
    generated = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--config",
            str(config),
            "--output-path",
            str(where / "client"),
        ],
        capture_output=True,
        text=True,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "will not be generated" not in generated.stdout, generated.stdout


@pytest.mark.slow
def test_a_generated_client_works(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo: dict[str, Any] = _demo(settings)
    port = _free_port()
    with serving(settings, port):
        base = f"http://127.0.0.1:{port}"
        _generate(f"{base}/api/v1/openapi.json", tmp_path)
        monkeypatch.syspath_prepend(str(tmp_path / "client"))
        client_module = importlib.import_module("ticketd_client")
        models = importlib.import_module("ticketd_client.models")
        key = f"{demo['native']['api_key_id']}:{demo['native']['api_key_secret']}"
        headers = {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}
        with client_module.Client(base_url=base, headers=headers) as client:
            use(client, models)


def use(client: Any, models: Any) -> None:
    """create, read, patch, list, status, an operation and a 404's problem, as the client's user would."""
    create = importlib.import_module("ticketd_client.api.tickets.create_ticket")
    created = create.sync(client=client, body=models.TicketCreate(subject="From a generated client"))
    assert isinstance(created, models.TicketOut) and created.status == "new"
    get = importlib.import_module("ticketd_client.api.tickets.get_ticket")
    assert get.sync(ticket_id=created.id, client=client).subject == "From a generated client"
    update = importlib.import_module("ticketd_client.api.tickets.update_ticket")
    patched = update.sync(ticket_id=created.id, client=client, body=models.TicketPatch(priority="high"))
    assert patched.priority == "high"
    listed = importlib.import_module("ticketd_client.api.tickets.list_tickets").sync(client=client, limit=5)
    assert listed.total >= 1 and listed.items
    status = importlib.import_module("ticketd_client.api.tickets.get_ticket_status")
    assert status.sync(ticket_id=created.id, client=client).status == "new"
    export = importlib.import_module("ticketd_client.api.operations.start_export")
    started = export.sync(client=client, body=models.ExportIn())
    operation = importlib.import_module("ticketd_client.api.operations.get_operation")
    deadline = time.monotonic() + 30
    while operation.sync(operation_id=started.id, client=client).status not in ("completed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    missing = get.sync_detailed(ticket_id=999_999_999, client=client)
    assert missing.status_code == 404
    problem = missing.parsed
    assert isinstance(problem, models.Problem) and problem.status == 404 and problem.title
