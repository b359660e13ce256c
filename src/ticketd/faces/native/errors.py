"""Domain errors and framework errors, rendered once as RFC 9457 problems."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ticketd.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    RateLimited,
    StorageFull,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from ticketd.faces.error_handlers import FaceErrors
from ticketd.web.credentials import CHALLENGE
from ticketd.web.problems import (
    MALFORMED_TYPE,
    PROBLEM_JSON,
    QUOTA_TYPE,
    TRANSITION_TYPE,
    VALIDATION_TYPE,
    problem,
)

log = logging.getLogger(__name__)

STATUS_OF: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (InvalidTransition, 409),
    (Conflict, 409),
    (TooLarge, 413),
    (InvalidInput, 422),
    (PreconditionFailed, 412),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (QuotaExceeded, 429),
    (Unavailable, 503),
    # RFC 4918's Insufficient Storage: the tenant's quota for files is used up.
    (StorageFull, 507),
]


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return PROBLEM_JSON.encode(), problem(status, detail)


def rate_limited(exc: RateLimited) -> Response:
    """429 quota-exceeded, naming the policies the request violated (standards.md)."""
    extensions: dict[str, Any] = {"violated-policies": list(exc.violated)}
    body = problem(429, exc.message, type_=QUOTA_TYPE, **extensions)
    return problem_response(429, body, {"Retry-After": str(exc.retry_after)})


def problem_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _answer(path: str, status: int, detail: str) -> Response:
    return problem_response(status, problem(status, detail, instance=path))


def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 500)
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    type_ = "about:blank"
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = CHALLENGE
    if isinstance(exc, InvalidInput):
        type_ = VALIDATION_TYPE
        extensions["errors"] = [{"pointer": e.pointer, "detail": e.detail} for e in exc.errors]
    if isinstance(exc, InvalidTransition):
        type_ = TRANSITION_TYPE
        extensions.update({"current_status": exc.current, "requested_status": exc.target})
    if isinstance(exc, QuotaExceeded):
        type_ = QUOTA_TYPE
        if isinstance(exc, RateLimited):
            extensions["violated-policies"] = list(exc.violated)
    body = problem(status, exc.message, type_=type_, instance=request.url.path, **extensions)
    return problem_response(status, body, headers)


def _validation_error(request: Request, errors: Sequence[Any]) -> Response:
    if any(error.get("type") == "json_invalid" for error in errors):
        body = problem(400, "the body is not valid JSON", type_=MALFORMED_TYPE, instance=request.url.path)
        return problem_response(400, body)
    entries = [_field_problem(error) for error in errors]
    body = problem(
        422,
        "the request has invalid fields",
        type_=VALIDATION_TYPE,
        instance=request.url.path,
        errors=entries,
    )
    return problem_response(422, body)


def _field_problem(error: Any) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid"))
    if location and location[0] == "body":
        return {"pointer": "/" + "/".join(location[1:]), "detail": message}
    # ("query", "status", 0): the parameter is the second element, whatever follows it.
    name = location[1] if len(location) > 1 else "".join(location)
    return {"parameter": name, "detail": message}


FACE_ERRORS = FaceErrors(
    answer=_answer,
    domain=_domain_error,
    invalid=_validation_error,
    log=log,
)
