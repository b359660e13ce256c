"""JSON responses with the headers the native API promises (ETag, cache control)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter

from ticketd.web.problems import PROBLEM_JSON

JSON = "application/json"


def json_response(
    model: BaseModel, *, status: int = 200, etag: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    all_headers = dict(headers or {})
    if etag is not None:
        all_headers["ETag"] = etag
        all_headers["Cache-Control"] = "private, no-cache"
    return Response(content=model.model_dump_json(), status_code=status, media_type=JSON, headers=all_headers)


def json_list_response(adapter: TypeAdapter[list[Any]], items: Sequence[Any]) -> Response:
    return Response(content=adapter.dump_json(list(items)), media_type=JSON)


# For GETs that take If-None-Match.
NOT_MODIFIED: dict[int | str, dict[str, object]] = {
    304: {"description": "Not modified: the entity tag in If-None-Match is current"}
}


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "private, no-cache"})


# The error responses every route can give, for the OpenAPI document.
PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, description in [
        (400, "Malformed request"),
        (401, "Missing or invalid credentials"),
        (403, "The credential may not do this"),
        (404, "No such resource (or not visible to the caller)"),
        (406, "Cannot answer in a media type the client accepts"),
        (413, "Body too large"),
        (
            409,
            "The resource's state does not allow this (a move the lifecycle forbids, a finished operation)",
        ),
        (415, "Body media type not supported"),
        (422, "Invalid fields"),
    ]
}
