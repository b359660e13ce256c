"""Dependencies of the native routes: the services, a unit of work, the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ticketd.core.errors import Forbidden
from ticketd.core.principal import Principal, Role, Scope
from ticketd.store.engine import unit_of_work
from ticketd.web.credentials import principal_from_header
from ticketd.web.rate_limits import admit
from ticketd.web.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def read_session(services: ServicesDep) -> Iterator[Session]:
    with unit_of_work(services.sessions, write=False) as db:
        yield db


def write_session(services: ServicesDep) -> Iterator[Session]:
    # The route commits once its work is done; whatever it did not commit is rolled back.
    with unit_of_work(services.sessions, write=True) as db:
        yield db


ReadDb = Annotated[Session, Depends(read_session)]
WriteDb = Annotated[Session, Depends(write_session)]


def current_principal(request: Request, services: ServicesDep) -> Principal:
    return principal_from_header(services.authenticator, request.headers.get("authorization"))


async def admitted_principal(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Principal:
    """The caller, once its credential's and tenant's limits admit this request."""
    await admit(request.scope, principal)
    return principal


def reader(principal: Annotated[Principal, Depends(admitted_principal)]) -> Principal:
    if not principal.has_scope(Scope.TICKETS_READ):
        raise Forbidden("the credential lacks the tickets:read scope")
    return principal


def writer(principal: Annotated[Principal, Depends(admitted_principal)]) -> Principal:
    if not principal.has_scope(Scope.TICKETS_WRITE):
        raise Forbidden("the credential lacks the tickets:write scope")
    return principal


def admin(principal: Annotated[Principal, Depends(admitted_principal)]) -> Principal:
    if principal.role is not Role.ADMIN or not principal.has_scope(Scope.ADMIN):
        raise Forbidden("only an admin's credential with the admin scope may do this")
    return principal


Admin = Annotated[Principal, Depends(admin)]
Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]
