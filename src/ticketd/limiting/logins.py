"""Failed sign-ins counted per account and source: 10 failures in 15 minutes for one tenant, user name
and client address, and that address may not try that account again until the window is over.

Counted per account *and* source so that nobody can lock the real user out from elsewhere: a guesser
is stopped at their own address, the user signs in from theirs. (Counted per account alone, ten
wrong passwords from anywhere would lock the user out.) The counters are the rate limits' own, so
with Redis configured every process agrees.
"""

from __future__ import annotations

from ticketd.core.errors import RateLimited
from ticketd.limiting.counters import Counters, counted
from ticketd.limiting.policies import parse_policy

FAILURES = "10/15 minutes"
BLOCK_SECONDS = 15 * 60


class LoginGuard:
    def __init__(
        self, counters: Counters, failures: str = FAILURES, block_seconds: int = BLOCK_SECONDS
    ) -> None:
        self.counters = counters
        self.policy = parse_policy("login", failures)
        self.block_seconds = block_seconds

    @staticmethod
    def _key(tenant: str, username: str, source: str) -> str:
        return f"login-block/{tenant}/{username.lower()}/{source}"

    async def check(self, tenant: str, username: str, source: str) -> None:
        """Raises RateLimited while this source may not try this account."""
        blocked = await self.counters.blocked_for(self._key(tenant, username, source))
        if blocked:
            raise RateLimited(
                f"too many failed sign-ins for this account from this address; try again in {blocked} s",
                blocked,
                ("login",),
                reason="login",
            )

    async def failed(self, tenant: str, username: str, source: str) -> None:
        hit = await counted(self.counters, self.policy, "login", tenant, username.lower(), source)
        # The tenth failure uses the allowance up: the next attempt is refused unchecked.
        if not hit.allowed or hit.remaining == 0:
            await self.counters.block(self._key(tenant, username, source), self.block_seconds)
