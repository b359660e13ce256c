"""What a limit is: a named quota over a window, and a daily window of service hours.

Quotas are written in the `limits` library's notation ("600/minute", "10 per second", "5000/day"),
which is also what its strategies count with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time

from limits import RateLimitItem, parse


class PolicyError(ValueError):
    pass


KEY_MEMO_LIMIT = 10_000


@dataclass(frozen=True, eq=False)
class Policy:
    """A quota named as clients see it in `RateLimit-Policy` ("ip", "credential", ...)."""

    name: str
    item: RateLimitItem
    # A rolling window (the moving-window strategy) rather than a fixed one.
    rolling: bool = False
    quota: int = field(init=False)
    window: int = field(init=False)
    header: str = field(init=False)
    # This policy's item of `RateLimit`, to be filled with what is left and the seconds to reset.
    state_format: bytes = field(init=False)
    # Counter keys by identifiers: the same few are counted on every request, and building a key
    # costs more than the count.
    key_memo: dict[tuple[str, ...], str] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "quota", int(self.item.amount))
        object.__setattr__(self, "window", int(self.item.get_expiry()))
        # This policy as an item of `RateLimit-Policy`.
        object.__setattr__(self, "header", f'"{self.name}";q={self.quota};w={self.window}')
        object.__setattr__(self, "state_format", f'"{self.name}";r=%d;t=%d'.encode())

    def key_for(self, identifiers: tuple[str, ...]) -> str:
        key = self.key_memo.get(identifiers)
        if key is None:
            key = self.item.key_for(*identifiers)
            if len(self.key_memo) >= KEY_MEMO_LIMIT:
                self.key_memo.clear()
            self.key_memo[identifiers] = key
        return key


def parse_policy(name: str, text: str, *, rolling: bool = False) -> Policy:
    try:
        item = parse(text)
    except ValueError as exc:
        raise PolicyError(f"{text!r} is not a rate limit such as '600/minute'") from exc
    if item.amount < 1:
        raise PolicyError(f"{text!r} admits nothing; a limit needs a quota of at least 1")
    return Policy(name, item, rolling)


HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class ServiceHours:
    """A daily window in local time. `start` == `end` or 00:00-24:00 is the whole day; a start later
    than the end wraps midnight (18:00-06:00 is open in the evening and the night)."""

    start: int  # minutes after midnight
    end: int

    @property
    def whole_day(self) -> bool:
        return self.start == self.end or (self.start == 0 and self.end == 24 * 60)

    def is_open(self, local: datetime) -> bool:
        if self.whole_day:
            return True
        minute = local.hour * 60 + local.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def seconds_until_open(self, local: datetime) -> int:
        if self.is_open(local):
            return 0
        now = local.hour * 3600 + local.minute * 60 + local.second
        wait = self.start * 60 - now
        return wait if wait > 0 else wait + 86_400

    @property
    def text(self) -> str:
        """As the OneCloud refusal writes it: "18:00 - 06:00"."""
        return f"{_clock(self.start)} - {_clock(self.end)}"


def parse_service_hours(text: str) -> ServiceHours:
    match = HOURS.match(text)
    if match is None:
        raise PolicyError(f"{text!r} is not a daily window such as '08:00-17:00'")
    sh, sm, eh, em = (int(part) for part in match.groups())
    start, end = sh * 60 + sm, eh * 60 + em
    if not (sh < 24 and sm < 60 and em < 60 and (eh < 24 or end == 24 * 60)):
        raise PolicyError(f"{text!r} is not a daily window such as '08:00-17:00'")
    return ServiceHours(start, end)


def _clock(minutes: int) -> str:
    return time(minutes // 60, minutes % 60).strftime("%H:%M") if minutes < 24 * 60 else "24:00"
