"""RFC 9457 problem details: the native face's error body."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson

from ticketd.telemetry.request_ids import current_request_id

PROBLEM_JSON = "application/problem+json"
VALIDATION_TYPE = "urn:ticketd:problem:validation-error"
MALFORMED_TYPE = "urn:ticketd:problem:malformed-request"
TRANSITION_TYPE = "urn:ticketd:problem:invalid-transition"
QUOTA_TYPE = "https://iana.org/assignments/http-problem-types#quota-exceeded"


def problem(
    status: int,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> bytes:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    # An extension member (RFC 9457 §3.2): the id the logs carry for this request.
    request_id = current_request_id()
    if request_id is not None:
        body.setdefault("request_id", request_id)
    return orjson.dumps(body)


def problem_headers(body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return headers + (extra or [])
