"""The native face's polled path: `GET /api/v1/tickets/{id}/status`, answered without the framework."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header

from ticketd.core.authenticate import Authenticator
from ticketd.core.errors import Forbidden, NotFound, RateLimited, Unauthenticated
from ticketd.core.etags import none_match
from ticketd.core.ids import is_id
from ticketd.core.status_lookup import visible_status
from ticketd.faces.error_handlers import outage_response
from ticketd.faces.native.errors import FACE_ERRORS, rate_limited
from ticketd.faces.native.paths import PREFIX
from ticketd.faces.native.responses import PROBLEM_RESPONSES
from ticketd.faces.native.routes_tickets import TicketId
from ticketd.faces.native.schemas import StatusOut
from ticketd.limiting.admission import RequestLimits
from ticketd.store.errors import STORE_ERRORS
from ticketd.store.fast_reads import to_datetime
from ticketd.web.asgi import Scope, Send
from ticketd.web.credentials import CHALLENGE, parse_authorization
from ticketd.web.hot_path import HotRoute, respond_hot, respond_hot_with
from ticketd.web.negotiation import acceptable
from ticketd.web.problems import problem, problem_headers
from ticketd.web.rate_limits import LIMITS_KEY

OFFERED = ("application/json", "application/problem+json")
CACHE_CONTROL = (b"cache-control", b"private, no-cache")
JSON_TYPE = (b"content-type", b"application/json")
CHALLENGE_HEADER = [(b"www-authenticate", CHALLENGE.encode())]


def describe_status_route(router: APIRouter) -> None:
    """The route as the document describes it; `native_status_route` below is what answers it."""

    @router.get(
        f"{PREFIX}/tickets/{{ticket_id}}/status",
        response_model=StatusOut,
        summary="Get a ticket's status (cheap to poll)",
        tags=["tickets"],
        responses=PROBLEM_RESPONSES,
    )
    def get_status(ticket_id: TicketId, if_none_match: Annotated[str | None, Header()] = None) -> None:
        raise AssertionError("answered on the hot path: this declaration is never served")


def native_status_route(authenticator: Authenticator) -> HotRoute:
    async def handle(scope: Scope, send: Send, ticket_text: str) -> int:
        limits: RequestLimits | None = scope.get(LIMITS_KEY)
        if not is_id(ticket_text):
            return await _problem(send, limits, 404, f"no resource at {scope['path']}")
        ticket_id = int(ticket_text)
        authorization = accept = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        if accept is not None and acceptable(accept, OFFERED) is None:
            return await _problem(send, limits, 406, "this resource is served as application/json")
        try:
            principal, row = authenticator.authenticate_with_ticket(
                parse_authorization(authorization), ticket_id
            )
            if limits is not None and (pending := limits.admit(principal)) is not None:
                await pending
            view = visible_status(principal, ticket_id, row)
        except RateLimited as exc:
            return await respond_hot_with(send, rate_limited(exc), _fields(limits))
        except Unauthenticated as exc:
            return await _problem(send, limits, 401, exc.message, CHALLENGE_HEADER)
        except Forbidden as exc:
            return await _problem(send, limits, 403, exc.message)
        except NotFound as exc:
            return await _problem(send, limits, 404, exc.message)
        except STORE_ERRORS as exc:
            outage = outage_response(FACE_ERRORS, "GET", scope["path"], exc)
            return await respond_hot_with(send, outage, _fields(limits))
        etag = view.etag
        if if_none_match is not None and none_match(if_none_match, etag):
            headers = [(b"etag", etag.encode()), CACHE_CONTROL]
            if limits is not None:
                headers += limits.header_fields()
            return await respond_hot(send, 304, headers)
        body = orjson.dumps(
            {"id": ticket_id, "status": view.status, "updated_at": to_datetime(view.updated_at)},
            option=orjson.OPT_UTC_Z,
        )
        headers = [JSON_TYPE, (b"content-length", b"%d" % len(body)), (b"etag", etag.encode()), CACHE_CONTROL]
        if limits is not None:
            headers += limits.header_fields()
        return await respond_hot(send, 200, headers, body)

    return HotRoute(
        prefix=f"{PREFIX}/tickets/",
        suffix="/status",
        handler=handle,
        face="native",
        template=f"{PREFIX}/tickets/{{ticket_id}}/status",
    )


def _fields(limits: RequestLimits | None) -> list[tuple[bytes, bytes]]:
    return limits.header_fields() if limits is not None else []


async def _problem(
    send: Send,
    limits: RequestLimits | None,
    status: int,
    detail: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> int:
    body = problem(status, detail)
    return await respond_hot(send, status, problem_headers(body, [*(extra or []), *_fields(limits)]), body)
