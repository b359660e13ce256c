"""`GET /v2/servicerequest/cases/{case_id}/status`, answered on the lean path like the native lookup."""

from __future__ import annotations

import orjson

from ticketd.core.errors import DomainError
from ticketd.core.ids import is_id
from ticketd.core.status_lookup import visible_status
from ticketd.faces.error_handlers import outage_response
from ticketd.faces.huawei.auth import HuaweiAuth
from ticketd.faces.huawei.errors import CASE_NOT_FOUND, FACE_ERRORS, JSON, PARAM_INVALID, body, response_for
from ticketd.faces.huawei.paths import CASES
from ticketd.faces.huawei.times import zone_of
from ticketd.faces.huawei.vocabulary import STATUS_CODES
from ticketd.store.errors import STORE_ERRORS
from ticketd.web.asgi import Scope, Send
from ticketd.web.hot_path import HotRoute, respond_hot, respond_hot_with
from ticketd.web.negotiation import acceptable
from ticketd.web.rate_limits import admit

JSON_TYPE = (b"content-type", JSON.encode())
OFFERED = ("application/json",)
# What this path reads before it knows whether the request is signed.
WANTED = frozenset({b"accept", b"x-auth-token", b"x-language", b"x-time-zone"})


def case_status_route(auth: HuaweiAuth) -> HotRoute:
    reader = auth.services.reader
    authenticator = auth.services.authenticator

    async def handle(scope: Scope, send: Send, case_id: str) -> int:
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in WANTED
        }
        accept = headers.get("accept")
        if accept is not None and acceptable(accept, OFFERED) is None:
            return await _error(send, 406, "OSM.0001", "Failed: this API answers in application/json")
        for name in ("x-language", "x-time-zone"):
            value = headers.get(name)
            if value is not None and not 1 <= len(value) <= 32:
                return await _error(send, 400, *PARAM_INVALID)
        if zone_of(headers.get("x-time-zone")) is None or not 1 <= len(case_id) <= 64:
            return await _error(send, 400, *PARAM_INVALID)
        if not is_id(case_id):
            return await _error(send, 404, *CASE_NOT_FOUND)
        ticket_id = int(case_id)
        try:
            token = headers.get("x-auth-token")
            if token is not None:
                principal, ticket = authenticator.claims_with_ticket(auth.token_claims(token), ticket_id)
            else:
                query = scope.get("query_string", b"").decode("latin-1")
                # A signature may cover any header: hand them all over.
                every = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
                principal = auth.principal("GET", scope["path"], query, every, b"")
                ticket = reader.ticket_status(ticket_id)
            await admit(scope, principal)
            view = visible_status(principal, ticket_id, ticket)
        except DomainError as exc:
            return await respond_hot_with(send, response_for(exc))
        except STORE_ERRORS as exc:
            return await respond_hot_with(send, outage_response(FACE_ERRORS, "GET", scope["path"], exc))
        payload = orjson.dumps({"status": STATUS_CODES[view.status]})
        return await respond_hot(send, 200, [JSON_TYPE, (b"content-length", b"%d" % len(payload))], payload)

    return HotRoute(
        prefix=f"{CASES}/cases/",
        suffix="/status",
        handler=handle,
        face="huawei",
        template=f"{CASES}/cases/{{case_id}}/status",
    )


async def _error(send: Send, status: int, code: str, message: str) -> int:
    payload = body(code, message)
    return await respond_hot(send, status, [JSON_TYPE, (b"content-length", b"%d" % len(payload))], payload)
