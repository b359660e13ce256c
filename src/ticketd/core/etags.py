"""Entity-tag comparison for conditional requests (RFC 9110 §13.1)."""

from __future__ import annotations


def none_match(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match: weak comparison, so `W/"x"` matches `"x"`; `*` matches any current entity."""
    if if_none_match is None:
        return False
    if if_none_match == etag:
        return True
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or etag in (tag.removeprefix("W/") for tag in tags)


def match(if_match: str, etag: str) -> bool:
    """If-Match: strong comparison, so a weak tag never matches; `*` matches any current entity."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return "*" in tags or etag in tags
