"""The Distributor API's system endpoints: ping, and the status of the system behind it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ticketd.core.errors import Forbidden
from ticketd.core.principal import Scope
from ticketd.faces.prioticket.deps import Grant, require_store, services_of
from ticketd.faces.prioticket.paths import PREFIX

router = APIRouter(prefix=f"{PREFIX}/system")


# Both answer 200 with an empty body and no Content-Type, as the Distributor API does: so documented.
@router.get(
    "/ping",
    summary="Get System Ping",
    response_class=Response,
    responses={200: {"description": "Ping: the service answers (an empty body)"}},
)
def ping() -> Response:
    return Response(status_code=200)


@router.get(
    "/status",
    summary="Get System Status",
    response_class=Response,
    responses={200: {"description": "System OK: the service and its store answer (an empty body)"}},
)
def status(grant: Grant, request: Request) -> Response:
    if not grant.principal.has_scope(Scope.TICKETS_READ):
        raise Forbidden("the token's client lacks the scope to read the system's status")
    require_store(services_of(request))
    return Response(status_code=200)
