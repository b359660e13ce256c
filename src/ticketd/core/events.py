"""What the event log records: one kind per change, written in the transaction of the change."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    CREATED = "created"
    FIELD_CHANGED = "field_changed"
    STATUS_CHANGED = "status_changed"
    REOPENED = "reopened"
    COMMENTED = "commented"
    DELETED = "deleted"
    ATTACHMENT_ADDED = "attachment_added"
    ATTACHMENT_REMOVED = "attachment_removed"


# Kinds a ticket's requester sees only when the event says it is public: a comment, and a file
# on the ticket or on a public comment.
PUBLIC_WHEN_MARKED = frozenset(
    {EventKind.COMMENTED, EventKind.ATTACHMENT_ADDED, EventKind.ATTACHMENT_REMOVED}
)


def seen_by_requester(kind: str, new_value: Any) -> bool:
    """Whether a ticket's requester may see this event (as the history, webhooks and streams
    show it): not a deletion, and a comment or file only when the event marks it public. The SQL
    form of this rule is core/event_feed._public."""
    if kind == EventKind.DELETED:
        return False
    if kind in PUBLIC_WHEN_MARKED:
        return isinstance(new_value, Mapping) and bool(new_value.get("public"))
    return True
