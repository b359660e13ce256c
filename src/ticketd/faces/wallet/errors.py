"""Wallet's error body: `{"code": N, "description": "...", "details": "..."}`."""

from __future__ import annotations

from http import HTTPStatus

import orjson

JSON = "application/json"


def error_body(status: int, details: str) -> bytes:
    return orjson.dumps({"code": status, "description": HTTPStatus(status).phrase, "details": details})


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return JSON.encode(), error_body(status, detail)
