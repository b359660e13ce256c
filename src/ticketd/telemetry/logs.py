"""Logs: one JSON object a line (or a human format for a terminal: TICKETD_LOG_FORMAT=console), each
line of a request carrying its request id, and nothing that could be a secret.

structlog renders the standard library's records (ticketd's own, uvicorn's, the libraries'), so
every line of the process has the same shape. `ticketd serve` hands uvicorn a logging
configuration that uses `formatter` (see cli/serve.py), so even the server's first lines are JSON.
"""

from __future__ import annotations

import logging
import re
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
        renderer = structlog.dev.ConsoleRenderer(colors=False)
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


def logging_config(format_name: str, level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for the whole process, uvicorn's loggers included."""
    handler = {"class": "logging.StreamHandler", "formatter": "ticketd", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ticketd": {"()": "ticketd.telemetry.logs.formatter", "format_name": format_name}},
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
