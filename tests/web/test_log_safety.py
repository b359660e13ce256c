"""A client cannot forge a log line: control characters in logged values are escaped."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ticketd.assembly.app import TicketdApp
from ticketd.web import log_safety
from ticketd.web.asgi import Message


def test_a_logged_path_with_a_line_feed_stays_on_one_line(
    app: TicketdApp, caplog: pytest.LogCaptureFixture
) -> None:
    # As a server hands it over, decoded. Line feeds are dropped on the way to the route (urlsplit
    # removes them); the other control characters, such as a terminal's escape or a vertical tab,
    # are not.
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v3.8/distributor/nothing\x0bERROR forged line\x1b[2J",
        "raw_path": b"/v3.8/distributor/nothing%0bERROR%20forged%20line%1b[2J",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("10.0.0.9", 5000),
        "server": ("testserver", 80),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    with caplog.at_level(logging.WARNING):
        asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 404
    logged = [record.getMessage() for record in caplog.records]
    assert logged and all(not log_safety.CONTROL.search(line) for line in logged)
    assert any("nothing\\x0bERROR forged line\\x1b[2J" in line for line in logged)


def test_escaping_reaches_every_logger() -> None:
    log_safety.install()
    log_safety.install()  # once only
    record = logging.getLogRecordFactory()("x", logging.INFO, __file__, 1, "%s|%s", ("a\nb", 3), None)
    assert record.getMessage() == "a\\x0ab|3"
