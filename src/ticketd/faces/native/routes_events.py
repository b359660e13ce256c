"""The live event stream: `GET /api/v1/events/stream` as server-sent events.

Each event is sent with its event-log id as the SSE `id`, so a client that reconnects with
`Last-Event-ID` resumes after the last event it got, with nothing missing and nothing repeated.
A customer sees only its own tickets' public events, as the REST history shows them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from ticketd.core.errors import FieldError, InvalidInput
from ticketd.core.event_stream import StreamFilter
from ticketd.core.ids import MAX_ID, is_id
from ticketd.core.webhooks.messages import EventType
from ticketd.faces.native.deps import Reader, ServicesDep
from ticketd.faces.native.responses import PROBLEM_RESPONSES
from ticketd.web.credentials import still_stands
from ticketd.web.event_frames import StreamCaller, event_stream_response

router = APIRouter(prefix="/events", tags=["events"], responses=PROBLEM_RESPONSES)
TICKET_TYPES = frozenset(event_type for event_type in EventType if event_type.value.startswith("ticket."))


@router.get(
    "/stream",
    summary="Follow the caller's visible ticket events as they commit (text/event-stream)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def stream_events(
    request: Request,
    principal: Reader,
    services: ServicesDep,
    types: Annotated[
        str | None,
        Query(max_length=1000, description="Comma-separated event types (default: all ticket events)."),
    ] = None,
    ticket_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this ticket's events.")] = None,
    last_event_id: Annotated[
        str | None, Header(max_length=40, description="Resume after this event (sent by EventSource).")
    ] = None,
) -> StreamingResponse:
    wanted = StreamFilter(types=_types(types), ticket_id=ticket_id)
    authorization = request.headers.get("authorization")
    caller = StreamCaller(
        principal,
        request.client.host if request.client else "",
        lambda: still_stands(services.authenticator, authorization, principal),
    )
    return await event_stream_response(caller, services, wanted, _event_id(last_event_id))


def _types(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    asked = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = asked - TICKET_TYPES
    if unknown:
        raise InvalidInput(
            "unknown event types",
            [FieldError("/types", f"unknown: {', '.join(sorted(unknown))}")],
        )
    return asked


def _event_id(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    if not is_id(text.strip()):
        raise InvalidInput("Last-Event-ID is not an event id", [FieldError("/Last-Event-ID", "not a number")])
    return int(text.strip())
