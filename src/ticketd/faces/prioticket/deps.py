"""What the Distributor routes depend on: a unit of work whose store failures become the API's
502, 503 or 504, the client authenticating with HTTP Basic, and the bearer token's grant."""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ticketd.core import access_tokens
from ticketd.core.errors import Unauthenticated
from ticketd.core.principal import Principal
from ticketd.faces.prioticket.errors import (
    DependencyFailed,
    InvalidClient,
    Malformed,
    MissingCredentials,
    Unprocessable,
)
from ticketd.store.engine import unit_of_work
from ticketd.store.errors import STORE_ERRORS
from ticketd.store.probe import StoreState, probe_store
from ticketd.web.negotiation import media_type_of
from ticketd.web.rate_limits import admit
from ticketd.web.services import Services

FACE = "prioticket"
STATE_STATUS = {StoreState.DOWN: 503, StoreState.TIMEOUT: 504, StoreState.BAD_RESPONSE: 502}
# What a store failure looks like, from the ORM or from the driver.
STORE_FAILURES: tuple[type[Exception], ...] = (DBAPIError, *STORE_ERRORS)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@contextmanager
def store(services: Services, *, write: bool = True) -> Iterator[Session]:
    """A unit of work whose store failures become the Distributor API's 502, 503 or 504."""
    try:
        with unit_of_work(services.sessions, write=write) as db:
            yield db
    except STORE_FAILURES as exc:
        raise dependency_failure(services) from exc


def dependency_failure(services: Services) -> DependencyFailed:
    probe = probe_store(services.settings)
    status = STATE_STATUS.get(probe.state, 502)
    return DependencyFailed(status, probe.detail or "the store failed while answering")


def require_store(services: Services) -> None:
    probe = probe_store(services.settings)
    if probe.state is not StoreState.OK:
        raise DependencyFailed(STATE_STATUS[probe.state], probe.detail)


def client(services: Services, request: Request) -> tuple[str, Principal]:
    """The client authenticating itself with HTTP Basic: an API key's id and secret, verified by
    the same rule as every API key (core/authenticate.py)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise MissingCredentials("client authentication with HTTP Basic is required")
    try:
        client_id, sep, secret = binascii.a2b_base64(value.strip(), strict_mode=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise MissingCredentials("the Basic credentials are malformed") from exc
    try:
        if not sep:
            raise Unauthenticated("no client secret")
        return client_id, services.authenticator.by_api_key(client_id, secret)
    except Unauthenticated as exc:
        raise InvalidClient("client authentication failed") from exc


def _grant(request: Request) -> access_tokens.TokenGrant:
    services = services_of(request)
    header = request.headers.get("authorization")
    if not header:
        raise MissingCredentials("the Authorization header is required")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise MissingCredentials("the Authorization header must be 'Bearer <access token>'")
    with store(services, write=False) as db:
        return access_tokens.check(db, face=FACE, token=value.strip())


async def _admitted(
    request: Request, grant: Annotated[access_tokens.TokenGrant, Depends(_grant)]
) -> access_tokens.TokenGrant:
    await admit(request.scope, grant.principal)
    return grant


Grant = Annotated[access_tokens.TokenGrant, Depends(_admitted)]


async def form_fields(request: Request) -> dict[str, Any]:
    """The OAuth endpoints' fields, from a form (as RFC 6749 has it) or a JSON object of strings."""
    raw = await request.body()
    if media_type_of(request.headers.get("content-type")) == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Malformed("the body is not valid JSON") from exc
    if not isinstance(data, dict) or any(not isinstance(v, str) for v in data.values()):
        raise Unprocessable("the body must be a JSON object of strings")
    return data
