"""What the OneCloud routes depend on: the caller (a OneCloud bearer token, admitted by the site's
quota), a unit of work, the request's fields, and the ticket id in a path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import orjson
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ticketd.core.errors import InvalidInput, Unauthenticated
from ticketd.core.ids import parse_id
from ticketd.core.principal import Principal
from ticketd.faces.onecloud import tokens
from ticketd.store.engine import unit_of_work
from ticketd.web.negotiation import media_type_of
from ticketd.web.rate_limits import admit
from ticketd.web.services import Services

READ_METHODS = frozenset({"GET", "HEAD"})
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Token not provided")
    claims = tokens.read(request.app.state.token_secret, token.strip())
    return services_of(request).authenticator.by_claims(claims)


def _session(request: Request) -> Iterator[Session]:
    # A read never takes the write lock (SQLite's BEGIN IMMEDIATE): it cannot wait on a writer.
    with unit_of_work(services_of(request).sessions, write=request.method not in READ_METHODS) as db:
        yield db


async def _caller(request: Request, principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    """The caller, once the site's quota and the rate limits admit this request."""
    await admit(request.scope, principal)
    return principal


Caller = Annotated[Principal, Depends(_caller)]
Db = Annotated[Session, Depends(_session)]


def ticket_id_of(text: str) -> int:
    return parse_id(text, "Data not found")


async def fields_of(request: Request) -> dict[str, str]:
    """The vendor takes form fields; JSON bodies are taken too. Values come back as text."""
    media_type = media_type_of(request.headers.get("content-type"))
    if media_type in (FORM, MULTIPART):
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    return {str(k): str(v) for k, v in data.items() if v is not None and not isinstance(v, dict | list)}
