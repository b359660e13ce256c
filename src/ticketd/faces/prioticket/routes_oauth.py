"""OAuth 2.0 for the Distributor API: client-credentials tokens (RFC 6749 §4.4) and revocation
(RFC 7009). The client is an API key, verified as every API key is."""

from __future__ import annotations

from datetime import timedelta

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ticketd.core import access_tokens
from ticketd.core.principal import Scope
from ticketd.faces.prioticket.deps import FACE, client, form_fields, services_of, store
from ticketd.faces.prioticket.errors import error_response
from ticketd.faces.prioticket.paths import PREFIX

router = APIRouter(prefix=f"{PREFIX}/oauth2")
TOKEN_TTL = timedelta(hours=1)
BOOKING_SCOPE = "https://www.prioticketapis.com/auth/distributor.booking"
# The Distributor API's scopes and the ticketd scopes each needs from the client's key.
SCOPES: dict[str, frozenset[str]] = {
    BOOKING_SCOPE: frozenset({Scope.TICKETS_READ.value}),
    "https://www.prioticketapis.com/auth/distributor.readonly": frozenset({Scope.TICKETS_READ.value}),
}


@router.post("/token", summary="Request an access token (client credentials)")
async def token(request: Request) -> Response:
    fields = await form_fields(request)
    grant_type = fields.get("grant_type")
    if not grant_type:
        return oauth_error(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    requested = str(fields.get("scope") or BOOKING_SCOPE).split()
    unknown = [scope for scope in requested if scope not in SCOPES]
    if unknown:
        return oauth_error(400, "invalid_scope", f"unknown scope: {' '.join(unknown)}")
    services = services_of(request)

    def issue() -> access_tokens.IssuedToken | None:
        with store(services) as db:
            key_id, principal = client(services, request)
            needed = frozenset().union(*(SCOPES[scope] for scope in requested))
            if not needed <= principal.scopes:
                return None
            issued = access_tokens.issue(
                db, face=FACE, client=principal, key_id=key_id, scope=" ".join(requested), ttl=TOKEN_TTL
            )
            db.commit()
        return issued

    # The store's round trips run off the event loop.
    issued = await run_in_threadpool(issue)
    if issued is None:
        return oauth_error(400, "invalid_scope", "the client may not have this scope")
    body = {
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": int(TOKEN_TTL.total_seconds()),
        "scope": issued.scope,
    }
    return Response(orjson.dumps(body), 200, {"Cache-Control": "no-store"}, media_type="application/json")


@router.post("/revoke", summary="Revoke an access token (RFC 7009)")
async def revoke(request: Request) -> Response:
    fields = await form_fields(request)
    token_value = fields.get("token")
    if not isinstance(token_value, str) or not token_value:
        return oauth_error(400, "invalid_request", "token is required")
    services = services_of(request)

    def revoke_token() -> None:
        with store(services) as db:
            key_id, _principal = client(services, request)
            access_tokens.revoke(db, face=FACE, token=token_value, key_id=key_id)
            db.commit()

    await run_in_threadpool(revoke_token)
    return Response(b"{}", 200, media_type="application/json")


def oauth_error(status: int, error: str, message: str) -> Response:
    return error_response(status, message, error=error, headers={"Cache-Control": "no-store"})
