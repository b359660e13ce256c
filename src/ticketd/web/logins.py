"""A password sign-in as every face runs it: the account's failures checked first, the password
checked on a thread (never on the event loop), a failure counted for the account and the source."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from ticketd.core.errors import Unauthenticated
from ticketd.web.asgi import Scope
from ticketd.web.services import Services

T = TypeVar("T")


async def password_sign_in(
    services: Services, scope: Scope, tenant: str, username: str, attempt: Callable[[], T]
) -> T:
    """Runs `attempt` (which checks the password and raises Unauthenticated when it is wrong) unless
    this account is blocked for this client; raises RateLimited then."""
    client = scope.get("client")
    source = client[0] if client else "unknown"
    guard = services.login_guard
    await guard.check(tenant, username, source)
    try:
        return await run_in_threadpool(attempt)
    except Unauthenticated:
        await guard.failed(tenant, username, source)
        raise
