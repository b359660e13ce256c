"""One attempt: a signed POST to the endpoint, to the address that passed the check.

Signing follows the Standard Webhooks specification: `webhook-id` (the message's id, the same on
every attempt), `webhook-timestamp` (unix seconds of this attempt) and `webhook-signature`, a
space-separated list of `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), one entry per
secret that signs (two during a rotation's overlap).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime

import httpx

from ticketd.core.clock import utcnow
from ticketd.core.webhooks.addresses import Refused, Target, target_of
from ticketd.core.webhooks.deliveries import MAX_RESPONSE_CHARS, Claimed, Outcome
from ticketd.core.webhooks.endpoints import secret_key

USER_AGENT = "ticketd-webhooks/1"


def signature(secrets: Sequence[str], message_id: str, timestamp: int, body: str) -> str:
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return " ".join(
        "v1," + base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()
        for secret in secrets
    )


class Sender:
    """Sends attempts; one connection pool per endpoint, kept alive between attempts, so a slow
    endpoint's connections never hold up another's."""

    def __init__(self, *, timeout: float, allow_private: bool) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._used: dict[str, float] = {}

    async def send(self, claimed: Claimed) -> Outcome:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                target = await self._target(claimed.url)
                return await self._post(claimed, target, started)
        except Refused as exc:
            return _failed(claimed, started, f"refused: {exc}")
        except TimeoutError:
            return _failed(claimed, started, f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return _failed(claimed, started, f"{type(exc).__name__}: {exc}"[:500])
        except OSError as exc:
            return _failed(claimed, started, f"{type(exc).__name__}: {exc}"[:500])

    async def _target(self, url: str) -> Target:
        host = httpx.URL(url).host
        try:
            ipaddress.ip_address(host)
        except ValueError:
            # A name: resolved off the event loop, every time (no rebinding between check and use).
            return await asyncio.to_thread(target_of, url, allow_private=self.allow_private)
        return target_of(url, allow_private=self.allow_private)

    async def _post(self, claimed: Claimed, target: Target, started: float) -> Outcome:
        timestamp = int(time.time())
        url = httpx.URL(claimed.url)
        address = f"[{target.address}]" if ":" in target.address else target.address
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "host": url.netloc.decode("ascii"),
            "webhook-id": claimed.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(claimed.secrets, claimed.message_id, timestamp, claimed.payload),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        client = self._client(claimed.endpoint_id)
        request = client.build_request(
            "POST",
            url.copy_with(host=address.strip("[]")),
            content=claimed.payload.encode(),
            headers=headers,
            extensions=extensions,
        )
        response = await client.send(request, stream=True)
        try:
            excerpt = await _first_bytes(response, MAX_RESPONSE_CHARS)
        finally:
            await response.aclose()
        return Outcome(
            delivery_id=claimed.delivery_id,
            endpoint_id=claimed.endpoint_id,
            at=utcnow(),
            latency_ms=round((time.perf_counter() - started) * 1000),
            status_code=response.status_code,
            response=excerpt.decode("utf-8", "replace"),
            retry_after_seconds=_retry_after(response) if response.status_code in (429, 503) else None,
        )

    def _client(self, endpoint_id: str) -> httpx.AsyncClient:
        client = self._clients.get(endpoint_id)
        if client is None:
            client = httpx.AsyncClient(
                timeout=self.timeout,
                follow_redirects=False,  # a redirect is an answer, and not a 2xx
                trust_env=False,  # no proxy from the environment may see the messages
                limits=httpx.Limits(max_keepalive_connections=16, keepalive_expiry=60),
            )
            self._clients[endpoint_id] = client
        self._used[endpoint_id] = time.monotonic()
        return client

    async def close_idle(self, idle_seconds: float = 300) -> None:
        cutoff = time.monotonic() - idle_seconds
        for endpoint_id in [key for key, used in self._used.items() if used < cutoff]:
            self._used.pop(endpoint_id)
            client = self._clients.pop(endpoint_id, None)
            if client is not None:
                await client.aclose()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


async def _first_bytes(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body: a receiver answering with gigabytes costs a kilobyte."""
    collected = bytearray()
    async for chunk in response.aiter_bytes():
        collected += chunk
        if len(collected) >= limit:
            break
    return bytes(collected[:limit])


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None


def _failed(claimed: Claimed, started: float, error: str) -> Outcome:
    return Outcome(
        delivery_id=claimed.delivery_id,
        endpoint_id=claimed.endpoint_id,
        at=utcnow(),
        latency_ms=round((time.perf_counter() - started) * 1000),
        error=error,
    )
