"""Every face's interactive reference, opened in a real browser (Debian's Chromium, driven by
Playwright), lists every operation of its document and sends a request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, Request

from tests.web.test_server import _demo, _free_port, serving
from ticketd.assembly.registry import API_FACES
from ticketd.settings import Settings

# An operation each page can send without credentials, and what it must answer.
TRY = {
    "native": ("getHealth", "200"),
    "wallet": ("getSystemStatus", "200"),
    "onecloud": ("authenticate", "400"),
    "prioticket": ("getSystemPing", "200"),
    "huawei": ("ListSeverities", "401"),
    "status": ("getSummary", "200"),  # the demo tenant publishes its page
}


@pytest.mark.slow
def test_every_face_has_a_working_interactive_reference(tmp_path: Path, browser: Browser) -> None:
    # The pages are the same on every store: checked on the embedded default.
    settings = Settings(database_path=tmp_path / "docs.sqlite3")
    _demo(settings)
    port = _free_port()
    with serving(settings, port):
        base = f"http://127.0.0.1:{port}"
        for face in API_FACES:
            assert face.openapi_path is not None
            document: dict[str, Any] = httpx2.get(base + face.openapi_path).json()
            operations = [op for path in document["paths"].values() for op in path.values()]
            page = browser.new_page()
            try:
                requests_out: list[str] = []

                def record(request: Request, sink: list[str] = requests_out) -> None:
                    sink.append(request.url)

                page.on("request", record)
                docs = base + face.openapi_path.rsplit("/", 1)[0] + "/docs"
                page.goto(docs)
                page.wait_for_selector(".opblock", timeout=20_000)
                assert page.locator(".opblock").count() == len(operations), face.name
                # Nothing but this server was asked for anything.
                assert all(url.startswith(base) for url in requests_out), requests_out
                operation_id, expected = TRY[face.name]
                block = page.locator(f"#operations-{_tag(document, operation_id)}-{operation_id}")
                block.locator(".opblock-summary").click()
                try_out = block.locator("button.try-out__btn", has_text="Try it out")
                if try_out.count():
                    try_out.click()
                block.locator("button.execute").click()
                status = block.locator(".live-responses-table tbody .response-col_status").first
                status.wait_for(timeout=20_000)
                assert status.inner_text().strip().startswith(expected), (face.name, status.inner_text())
            finally:
                page.close()


def _tag(document: dict[str, Any], operation_id: str) -> str:
    for path in document["paths"].values():
        for operation in path.values():
            if operation["operationId"] == operation_id:
                tags = operation.get("tags") or ["default"]
                return str(tags[0]).replace(" ", "_")
    raise AssertionError(operation_id)
