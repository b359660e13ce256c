"""Server-sent events of the event stream, as every face that offers one writes them: the native
API's `/api/v1/events/stream` and the console's live pages. One bound on the streams a process
holds open, whichever face opened them."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from ticketd.core.errors import Unavailable
from ticketd.core.event_feed import Position
from ticketd.core.event_stream import StreamFilter
from ticketd.core.principal import Principal
from ticketd.telemetry.metrics import EVENT_STREAMS
from ticketd.web.services import Services

OPEN_STREAMS = [0]  # this process's open streams (one event loop, so a plain counter)


async def event_stream_response(
    principal: Principal, services: Services, wanted: StreamFilter, resume: int | None
) -> StreamingResponse:
    """The stream from after `resume` (an event id; None: from now), or 503 when this process
    already holds as many streams as it may."""
    if OPEN_STREAMS[0] >= services.settings.events_max_streams:
        raise Unavailable("too many event streams are open on this server; retry shortly")
    position = await services.event_tail.start_position(resume)
    return StreamingResponse(
        _frames(principal, services, position, wanted),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(
    principal: Principal, services: Services, position: Position, wanted: StreamFilter
) -> AsyncIterator[bytes]:
    OPEN_STREAMS[0] += 1
    EVENT_STREAMS.inc()
    try:
        # At once, so proxies and clients know the stream is open before the first event.
        yield b"retry: 2000\n: connected\n\n"
        heartbeat = services.settings.events_heartbeat_seconds
        async for event in services.event_tail.follow(principal, position, wanted, heartbeat):
            if event is None:
                yield b": keep-alive\n\n"
            else:
                yield f"id: {event.id}\nevent: {event.type}\ndata: {event.body}\n\n".encode()
    finally:
        OPEN_STREAMS[0] -= 1
        EVENT_STREAMS.dec()
