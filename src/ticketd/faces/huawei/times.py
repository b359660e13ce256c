"""X-Time-Zone: `GMT+8` by default; `GMT±H[:MM]`, `UTC±H[:MM]` or an IANA name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ticketd.faces.huawei.vocabulary import DEFAULT_TIME_ZONE

OFFSET = re.compile(
    r"^(?:GMT|UTC)(?:(?P<sign>[+-])(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?)?$", re.IGNORECASE
)


@lru_cache(maxsize=256)
def zone_of(header: str | None) -> tzinfo | None:
    """The zone, or None when the header names none that exists."""
    value = (header or DEFAULT_TIME_ZONE).strip()
    match = OFFSET.match(value)
    if match:
        if not match["sign"]:
            return UTC
        hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
        if hours > 14 or minutes >= 60:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(delta if match["sign"] == "+" else -delta)
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local(value: datetime | None, zone: tzinfo) -> str | None:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else None
