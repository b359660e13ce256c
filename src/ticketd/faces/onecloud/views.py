"""OneCloud's success bodies carry no envelope: plain JSON objects."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


def json_response(body: Any) -> Response:
    return Response(content=orjson.dumps(body), media_type="application/json")
