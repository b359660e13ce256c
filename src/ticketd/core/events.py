"""What the event log records: one kind per change, written in the transaction of the change."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    CREATED = "created"
    FIELD_CHANGED = "field_changed"
    STATUS_CHANGED = "status_changed"
    REOPENED = "reopened"
    COMMENTED = "commented"
    DELETED = "deleted"
