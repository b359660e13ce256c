"""Entity-tag comparison for conditional requests (RFC 9110 §13.1)."""

from __future__ import annotations


def ticket_etag(ticket_id: int, version: int) -> str:
    """A ticket's strong entity tag: its id and version, so any change anywhere gives a new one."""
    return f'"{ticket_id}-{version}"'


def operation_etag(operation_id: int, version: int) -> str:
    """An operation's: prefixed, so it never equals the tag of the ticket with the same id."""
    return f'"op{operation_id}-{version}"'


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
