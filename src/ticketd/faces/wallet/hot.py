"""`GET /v1/ticket/{ticketId}`, polled like a status lookup and answered on the same lean path."""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter

from ticketd.core.authenticate import Authenticator
from ticketd.core.errors import DomainError, Unauthenticated
from ticketd.core.ids import parse_id
from ticketd.core.principal import Scope
from ticketd.faces.error_handlers import outage_response
from ticketd.faces.wallet.errors import FACE_ERRORS, JSON, error_body, response_for
from ticketd.faces.wallet.paths import PREFIX
from ticketd.faces.wallet.tickets import wallet_ticket
from ticketd.store.errors import STORE_ERRORS
from ticketd.store.fast_reads import FastReader
from ticketd.web.asgi import Scope as AsgiScope
from ticketd.web.asgi import Send
from ticketd.web.credentials import decode_basic
from ticketd.web.hot_path import HotRoute, respond_hot, respond_hot_with
from ticketd.web.negotiation import acceptable
from ticketd.web.rate_limits import admit

JSON_TYPE = (b"content-type", JSON.encode())


def describe_ticket_route(router: APIRouter) -> None:
    """The route as the document describes it; `ticket_route` below is what answers it."""

    @router.get(
        f"{PREFIX}/ticket/{{ticketId}}",
        summary="Get ticket status",
        description="Answered on the lean path in front of this app (faces/wallet/hot.py).",
    )
    def ticket(ticketId: str) -> None:
        raise AssertionError("answered on the hot path: this declaration is never served")


def ticket_route(authenticator: Authenticator, reader: FastReader) -> HotRoute:
    async def handle(scope: AsgiScope, send: Send, ticket_text: str) -> int:
        authorization = accept = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
        if accept is not None and acceptable(accept, ("application/json",)) is None:
            return await _error(send, 406, "this resource is served as application/json")
        try:
            scheme, _, value = (authorization or "").partition(" ")
            if scheme.lower() != "basic":
                raise Unauthenticated("HTTP Basic with the project key and secret is required")
            key, secret = decode_basic(value.strip())
            principal = authenticator.by_api_key(key, secret)
            await admit(scope, principal)
            if not principal.has_scope(Scope.TICKETS_READ):
                return await _error(send, 403, "the project key lacks the tickets:read scope")
            ticket_id = parse_id(ticket_text, f"ticket {ticket_text} does not exist")
            if reader.blocks:
                # Operations are not mirrored: on PostgreSQL the read is a round trip, made on a
                # thread so the event loop goes on serving meanwhile.
                found = await asyncio.to_thread(wallet_ticket, reader, principal, ticket_id)
            else:
                found = wallet_ticket(reader, principal, ticket_id)
            body = orjson.dumps(found)
        except DomainError as exc:
            return await respond_hot_with(send, response_for(exc))
        except STORE_ERRORS as exc:
            return await respond_hot_with(send, outage_response(FACE_ERRORS, "GET", scope["path"], exc))
        return await respond_hot(send, 200, [JSON_TYPE, (b"content-length", b"%d" % len(body))], body)

    return HotRoute(
        prefix=f"{PREFIX}/ticket/",
        suffix="",
        handler=handle,
        face="wallet",
        template=f"{PREFIX}/ticket/{{ticketId}}",
    )


async def _error(
    send: Send, status: int, details: str, extra: list[tuple[bytes, bytes]] | None = None
) -> int:
    body = error_body(status, details)
    return await respond_hot(
        send, status, [JSON_TYPE, (b"content-length", b"%d" % len(body)), *(extra or [])], body
    )
