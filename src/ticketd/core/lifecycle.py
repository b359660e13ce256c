"""The one status lifecycle every face maps onto."""

from __future__ import annotations

from enum import StrEnum

from ticketd.core.errors import InvalidTransition


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    SOLVED = "solved"
    CLOSED = "closed"
    CANCELED = "canceled"
    INVALID = "invalid"


# Final states leave only through an explicit reopen. A solved ticket may still be reopened
# by an ordinary transition back to open (the requester disagrees), or closed for good.
FINAL_STATES = frozenset({Status.CLOSED, Status.CANCELED, Status.INVALID})

ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset(
        {Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED, Status.CANCELED, Status.INVALID}
    ),
    Status.OPEN: frozenset({Status.PENDING, Status.SOLVED, Status.CLOSED, Status.CANCELED, Status.INVALID}),
    Status.PENDING: frozenset({Status.OPEN, Status.SOLVED, Status.CLOSED, Status.CANCELED, Status.INVALID}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.CANCELED: frozenset(),
    Status.INVALID: frozenset(),
}

REOPENABLE = frozenset({Status.SOLVED, *FINAL_STATES})


def check_transition(current: Status, target: Status) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value)


def check_reopen(current: Status) -> None:
    if current not in REOPENABLE:
        raise InvalidTransition(current.value, Status.OPEN.value)
