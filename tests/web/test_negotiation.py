from __future__ import annotations

import pytest

from ticketd.web.negotiation import acceptable, media_type_of

OFFERED = ("application/json", "application/problem+json")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("application/problem+json", "application/problem+json"),
        ("text/html, application/json;q=0.1", "application/json"),
        ("text/html", None),
        ("application/json;q=0", None),
        ("garbage", None),
        ("application/json;q=abc", None),
    ],
)
def test_acceptable(accept: str | None, expected: str | None) -> None:
    assert acceptable(accept, OFFERED) == expected


def test_media_type_of() -> None:
    assert media_type_of("Application/JSON; charset=utf-8") == "application/json"
    assert media_type_of(None) == ""
