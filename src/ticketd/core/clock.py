"""Time as ticketd keeps it: aware, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...


@overload
def as_utc(value: None) -> None: ...


def as_utc(value: datetime | None) -> datetime | None:
    """A time without a zone means UTC (as every face's times and the store's do); one with a zone
    is kept as it is. (The store's own column type and driver reads say the same for what they read
    back: store/tables.py, store/fast_reads.to_datetime, a layer below this one.)"""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
