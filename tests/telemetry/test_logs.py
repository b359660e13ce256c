"""Log lines: JSON objects carrying the request's id, nothing that looks like a credential."""

from __future__ import annotations

import io
import json
import logging
import secrets
import time

import pytest

from ticketd.telemetry.logs import RepeatedProblems, formatter
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


def _fail(secret_local: str) -> None:
    reply_of_another_receiver = f"the reply {secret_local}"
    raise ValueError("the store refused " + reply_of_another_receiver[:3])


@pytest.mark.parametrize("format_name", ["json", "console"])
def test_no_format_prints_a_tracebacks_locals(format_name: str) -> None:
    local_value = "hunter3-" + secrets.token_hex(8)  # made here, so no source line shows it
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(format_name))
    logger = logging.getLogger(f"ticketd.test.locals.{format_name}")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            _fail(local_value)
        except ValueError:
            logger.exception("recording failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "Traceback" in written or "traceback" in written.lower()
    assert "_fail" in written  # the frames are there...
    assert local_value not in written  # ...their locals are not


def test_a_repeated_problem_is_written_once_a_while_then_counted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    handler.addFilter(RepeatedProblems(window=0.5))
    logger = logging.getLogger("ticketd.test.repeats")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for _ in range(1000):
            try:
                _fail("x")
            except ValueError:
                logger.exception("a request failed")
        logger.warning("something else")  # another problem is written at once
        logger.info("every info line is written")
        time.sleep(0.6)
        try:
            _fail("x")
        except ValueError:
            logger.exception("a request failed")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    events = [line["event"] for line in lines]
    assert events == [
        "a request failed",
        "something else",
        "every info line is written",
        "a request failed (repeated 999 times in the last 1 s, not shown)",
    ]
    assert all("exception" in line for line in (lines[0], lines[3]))
