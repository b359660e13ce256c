"""Log lines: JSON objects carrying the request's id, nothing that looks like a credential."""

from __future__ import annotations

import io
import json
import logging

import pytest

from ticketd.telemetry.logs import formatter
from ticketd.telemetry.request_ids import begin


def _render(format_name: str, message: str, *args: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(format_name))
    logger = logging.getLogger(f"ticketd.test.{format_name}")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_line_is_one_json_object_with_the_request_id() -> None:
    begin(b"req-123")
    line = _render("json", "lookup of %s failed", "ticket 7")
    record = json.loads(line)
    assert record["event"] == "lookup of ticket 7 failed"
    assert record["request_id"] == "req-123"
    assert record["level"] == "warning" and "timestamp" in record
    begin(b"")


@pytest.mark.parametrize(
    "message",
    [
        "GET /x?password=hunter2-secret&b=1",
        "Authorization: Basic dGs6aHVudGVyMi1zZWNyZXQ=",
        "Authorization: Bearer eyJhbGciOi.hunter2-secret",
        "client_secret=hunter2-secret",
        'login with {"password": "hunter2-secret"}',
        "X-Auth-Token: hunter2-secret",
    ],
)
def test_credentials_in_a_message_are_redacted(message: str) -> None:
    for format_name in ("json", "console"):
        line = _render(format_name, message)
        assert "hunter2-secret" not in line and "dGs6aHVudGVyMi1zZWNyZXQ" not in line, line
        assert "[redacted]" in line
