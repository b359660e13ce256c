"""The edge's one rule for text the store cannot hold, part by part of a request."""

from __future__ import annotations

import asyncio

import pytest

from ticketd.web.storable_text import unstorable_text

BOUNDARY = b"x-boundary"
MULTIPART_HEADERS = [(b"content-type", b"multipart/form-data; boundary=" + BOUNDARY)]


def multipart(name: bytes, value: bytes, filename: bytes | None = None) -> bytes:
    disposition = (
        b'form-data; name="' + name + b'"' + (b'; filename="' + filename + b'"' if filename else b"")
    )
    return (
        b"--"
        + BOUNDARY
        + b"\r\nContent-Disposition: "
        + disposition
        + b"\r\n\r\n"
        + value
        + b"\r\n--"
        + BOUNDARY
        + b"--\r\n"
    )


def reason(
    path: str = "/x",
    query: bytes = b"",
    media_type: str = "",
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> str | None:
    return asyncio.run(unstorable_text(path, query, media_type, body, headers or []))


@pytest.mark.parametrize(
    ("arguments", "refused"),
    [
        ({"path": "/tickets/a\x00b"}, "the path"),
        ({"query": b"tag=a%00b"}, "the query"),
        ({"media_type": "application/x-www-form-urlencoded", "body": b"tenant=x%00"}, "a form field"),
        ({"media_type": "application/json", "body": b'{"tenant": "x\\u0000y"}'}, "a JSON value"),
        ({"media_type": "application/json", "body": b'{"a": ["\\ud800"]}'}, "a JSON value"),
        ({"media_type": "application/merge-patch+json", "body": b'{"x\\u0000": 1}'}, "a JSON value"),
        (
            {
                "media_type": "multipart/form-data",
                "body": multipart(b"email", b"a\x00@x"),
                "headers": MULTIPART_HEADERS,
            },
            "a form field",
        ),
    ],
)
def test_each_part_is_refused_by_the_one_rule(arguments: dict[str, object], refused: str) -> None:
    found = reason(**arguments)  # type: ignore[arg-type]
    assert found is not None and found.startswith(refused)


@pytest.mark.parametrize(
    "arguments",
    [
        {"path": "/tickets/1", "query": b"tag=%2500&q=caf%C3%A9"},
        {
            "media_type": "application/json",
            "body": b'{"a": "\\\\u0000 is how JSON spells NUL", "b": "\\ud83d\\ude00"}',
        },
        {"media_type": "application/json", "body": b"{not json \\u0000"},  # the route refuses it
        {"media_type": "application/x-www-form-urlencoded", "body": b"a=%2500&b=\x07"},
        # A file's bytes are stored as they are: only its name and the text fields are text.
        {
            "media_type": "multipart/form-data",
            "body": multipart(b"file", b"\x00\x01", b"a.bin"),
            "headers": MULTIPART_HEADERS,
        },
    ],
)
def test_text_the_store_holds_passes(arguments: dict[str, object]) -> None:
    assert reason(**arguments) is None  # type: ignore[arg-type]
