"""Log lines that a client cannot forge: control characters in logged values are escaped.

A request path or header may carry `%0a` (a line feed once decoded); logged as it is, it would
start a line of its own that reads as the server's. Every record's string arguments are escaped
when the record is made, whichever logger and handler then print it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    return CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


def _escaped(value: Any) -> Any:
    return escape_controls(value) if isinstance(value, str) else value


def install() -> None:
    """Wraps the process's log record factory once (calling it again changes nothing)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "escapes_controls", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_escaped(value) for value in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _escaped(value) for key, value in record.args.items()}
        if isinstance(record.msg, str) and not record.args:
            record.msg = escape_controls(record.msg)
        return record

    factory.escapes_controls = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
