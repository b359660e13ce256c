"""Domain errors. They carry no HTTP status: each API face maps them to its own wire format once."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


@dataclass(frozen=True)
class FieldError:
    # A JSON pointer into the offending input ("/priority") and what is wrong with it.
    pointer: str
    detail: str


class InvalidInput(DomainError):
    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class TooLarge(InvalidInput):
    """More bytes than a limit takes (an upload, a file)."""


class LimitReached(Conflict):
    """A count that may not grow further (a ticket's attachments)."""


class StorageFull(DomainError):
    """The tenant's storage quota would be exceeded."""


class InvalidTransition(Conflict):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"a ticket in status {current!r} cannot move to {target!r}")
        self.current = current
        self.target = target


class PreconditionFailed(DomainError):
    pass


class Unauthenticated(DomainError):
    pass


class Forbidden(DomainError):
    pass


class Revoked(Forbidden):
    """The credential was good once and has been revoked (a face may answer this apart)."""


class QuotaExceeded(DomainError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(QuotaExceeded):
    """A limit or quota refused the request.

    `violated` names the policies as `RateLimit-Policy` does; `reason` says which kind of refusal it
    is, for faces that answer them differently: "rate", "blocked" (fair use), "service-hours" or
    "allowance" (a daily quota); `service_hours` is the window, as "18:00 - 06:00", when one applies.
    """

    def __init__(
        self,
        message: str,
        retry_after: int,
        violated: tuple[str, ...],
        reason: str = "rate",
        service_hours: str = "00:00 - 24:00",
    ) -> None:
        super().__init__(message, retry_after)
        self.violated = violated
        self.reason = reason
        self.service_hours = service_hours


class Unavailable(DomainError):
    """Cannot serve this now (too many streams, too many password checks at once): try again in
    `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after
