"""Checks the fuzzer runs on every answer besides its own (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

from typing import Any

import schemathesis

LEAKS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "psycopg.", "sqlite3.")


@schemathesis.check
def no_stack_trace(ctx: Any, response: Any, case: Any) -> bool | None:
    """No answer shows the server's insides: a traceback, a source path, a driver's error."""
    # A file's bytes are no text: read whatever the answer holds, as text where it can be.
    body = response.content.decode("utf-8", errors="replace") if hasattr(response, "content") else ""
    for leak in LEAKS:
        if leak in body:
            raise AssertionError(f"the body shows {leak!r}")
    return None


# A raw mail message (POST /api/v1/mail/inbound) goes on the wire as the bytes generated for it.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
