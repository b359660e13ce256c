"""Server-sent events of the event stream, as every face that offers one writes them: the native
API's `/api/v1/events/stream` and the console's live pages.

A stream takes a slot before anything else (core/stream_slots.py: caps in all, per credential, per
address), checks its caller's credential again every `events_recheck_seconds` and ends when it no
longer stands (revoked, disabled, signed out, expired: read from the store, so on every process),
and ends after `events_max_stream_seconds` in any case; EventSource reconnects by itself.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import orjson
from fastapi.responses import StreamingResponse

from ticketd.core.event_stream import StartPoint, StreamFilter
from ticketd.core.principal import Principal
from ticketd.core.stream_slots import StreamSlot
from ticketd.telemetry.metrics import EVENT_STREAMS
from ticketd.web.services import Services

RETRY_MS = 2000
OPENED = f"retry: {RETRY_MS}\n: connected\n\n".encode()
KEEP_ALIVE = b": keep-alive\n\n"
# The stream is over: reconnect in a moment (after a restart's grace period too).
RECONNECT = f"retry: {RETRY_MS}\n: reconnect\n\n".encode()
SIGNED_OUT = b": the credential no longer stands\n\n"


@dataclass(frozen=True)
class StreamCaller:
    principal: Principal
    # The client's address as the server sees it (the trusted proxy's forwarded one).
    address: str
    # Whether the credential the stream opened with still stands: run off the event loop.
    still_stands: Callable[[], bool]


async def event_stream_response(
    caller: StreamCaller, services: Services, wanted: StreamFilter, resume: int | None
) -> StreamingResponse:
    """The stream from after `resume` (an event id; None: from now), or 429/503 when the caller
    or the process already holds as many streams as it may."""
    slot = services.stream_slots.take(caller.principal.credential_id, caller.address)
    try:
        start = await services.event_tail.start_point(caller.principal, resume)
    except BaseException:
        slot.release()
        raise
    frames = _frames(caller, services, start, wanted, slot)
    # A response that is never sent never runs its generator's `finally`: the slot goes back when
    # the generator is collected.
    weakref.finalize(frames, slot.release)
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(
    caller: StreamCaller, services: Services, start: StartPoint, wanted: StreamFilter, slot: StreamSlot
) -> AsyncIterator[bytes]:
    settings = services.settings
    EVENT_STREAMS.inc()
    try:
        # At once, so proxies and clients know the stream is open before the first event.
        yield OPENED
        if start.cut:
            yield _cut_notice(start)
        opened = checked = written = time.monotonic()
        idle = min(settings.events_heartbeat_seconds, settings.events_recheck_seconds)
        tail = services.event_tail
        async for event in tail.follow(caller.principal, start.position, wanted, idle):
            now = time.monotonic()
            if now - opened >= settings.events_max_stream_seconds:
                yield RECONNECT
                return
            if now - checked >= settings.events_recheck_seconds:
                checked = now
                if not await asyncio.to_thread(caller.still_stands):
                    yield SIGNED_OUT
                    return
            if event is not None:
                written = now
                yield f"id: {event.id}\nevent: {event.type}\ndata: {event.body}\n\n".encode()
            elif now - written >= settings.events_heartbeat_seconds:
                written = now
                yield KEEP_ALIVE
        # The tail ended every follow: the server is stopping. Come back (to another server).
        yield RECONNECT
    finally:
        slot.release()
        EVENT_STREAMS.dec()


def _cut_notice(start: StartPoint) -> bytes:
    """Tells a client that resumed from further back than the replay window that it missed events:
    the stream goes on from the window's first event (its id is the position before it)."""
    data = orjson.dumps({"type": "stream.truncated", "data": {"resumed_after": start.position.event_id}})
    return b"event: stream.truncated\ndata: " + data + b"\n\n"
