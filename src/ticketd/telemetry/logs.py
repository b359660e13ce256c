"""Logs: one JSON object a line (or a human format for a terminal: TICKETD_LOG_FORMAT=console), each
line of a request carrying its request id, and nothing that could be a secret.

structlog renders the standard library's records (ticketd's own, uvicorn's, the libraries'), so
every line of the process has the same shape. `ticketd serve` hands uvicorn a logging
configuration that uses `formatter` (see cli/serve.py), so even the server's first lines are JSON.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import MutableMapping
from typing import Any

import structlog

from ticketd.telemetry.request_ids import current_request_id

# Values that must never reach a log: credentials in a query string or a form, a header's value.
SECRET_FIELDS = re.compile(
    r"(?i)\b(password|passwd|secret|token|access_token|client_secret|sk|authorization|x-auth-token|api[_-]?key)"
    r"([\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|Basic\s+\S+|Bearer\s+\S+|[^\s&,;\"']+)"
)
REDACTED = "[redacted]"
SECRET_KEYS = {"password", "secret", "token", "authorization", "sk", "secret_key", "access_token"}


def _add_request_id(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    request_id = current_request_id()
    if request_id is not None and "request_id" not in event:
        event["request_id"] = request_id
    return event


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
    for key, value in list(event.items()):
        if key.lower() in SECRET_KEYS:
            event[key] = REDACTED
        elif isinstance(value, str) and SECRET_FIELDS.search(value):
            event[key] = SECRET_FIELDS.sub(_redacted, value)
    return event


def _redacted(found: re.Match[str]) -> str:
    return f"{found.group(1)}{found.group(2)}{REDACTED}"


def _shared_processors() -> list[Any]:
    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
    ]


def formatter(format_name: str = "json") -> logging.Formatter:
    """A logging.Formatter for the standard library's handlers (used by dictConfig's "()")."""
    renderer: Any
    if format_name == "console":
        # A plain traceback, never one with each frame's locals (structlog's default renders them
        # with Rich): locals can hold secrets and others' data, and rendering them costs seconds.
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    else:
        renderer = structlog.processors.JSONRenderer()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if format_name != "console" else _keep,
            _redact,
            renderer,
        ],
    )


def _keep(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event


class RepeatedProblems(logging.Filter):
    """Warnings and errors that repeat (the same logger, message and exception raised at the same
    place) are written in full once per `window` seconds and counted meanwhile: a client that
    makes every request fail cannot make the server spend its time writing tracebacks."""

    def __init__(self, window: float = 60.0, limit: int = 10_000) -> None:
        super().__init__()
        self.window = window
        self.limit = limit
        self._lock = threading.Lock()
        # key -> (when last written in full, how many since were not)
        self._seen: dict[tuple[object, ...], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = _problem_key(record)
        now = time.monotonic()
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last[0] < self.window:
                self._seen[key] = (last[0], last[1] + 1)
                return False
            if len(self._seen) >= self.limit:
                self._seen.clear()
            self._seen[key] = (now, 0)
        if last is not None and last[1]:
            record.msg = (
                f"{record.msg} (repeated {last[1]} times in the last {round(now - last[0])} s, not shown)"
            )
        return True


def _problem_key(record: logging.LogRecord) -> tuple[object, ...]:
    kind: object = None
    place: object = None
    if record.exc_info and record.exc_info[1] is not None:
        kind = type(record.exc_info[1])
        trace = record.exc_info[2]
        while trace is not None and trace.tb_next is not None:
            trace = trace.tb_next
        if trace is not None:
            place = (trace.tb_frame.f_code.co_filename, trace.tb_lineno)
    return (record.name, str(record.msg), kind, place)


def logging_config(format_name: str, level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for the whole process, uvicorn's loggers included."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "ticketd",
        "stream": "ext://sys.stderr",
        "filters": ["repeats"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ticketd": {"()": "ticketd.telemetry.logs.formatter", "format_name": format_name}},
        "filters": {"repeats": {"()": "ticketd.telemetry.logs.RepeatedProblems"}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["default"], "level": level, "propagate": False},
            # A line per webhook attempt, with the endpoint's URL (which may carry a token in its
            # query): the delivery log has every attempt already; only warnings are logged.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
        "root": {"handlers": ["default"], "level": level},
    }


def configure_logging(format_name: str, level: str = "INFO") -> None:
    """The same configuration in a process uvicorn does not start (`ticketd worker`)."""
    import logging.config

    logging.config.dictConfig(logging_config(format_name, level))
