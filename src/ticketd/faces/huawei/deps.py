"""What every OSM route depends on: the caller with its language and time zone, a unit of work,
and OSM's paging parameters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from sqlalchemy.orm import Session

from ticketd.core import tickets
from ticketd.core.errors import InvalidInput
from ticketd.core.ids import parse_id
from ticketd.core.principal import Principal
from ticketd.faces.huawei.auth import HuaweiAuth
from ticketd.faces.huawei.times import local, zone_of
from ticketd.faces.huawei.vocabulary import language
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Ticket
from ticketd.web.negotiation import media_type_of
from ticketd.web.rate_limits import admit
from ticketd.web.services import Services

READ_METHODS = frozenset({"GET", "HEAD"})


class Context:
    """What every OSM request carries: the caller, the display language and the time zone."""

    def __init__(self, principal: Principal, lang: str, zone: tzinfo) -> None:
        self.principal = principal
        self.lang = lang
        self.zone = zone

    def time(self, value: datetime | None) -> str | None:
        return local(value, self.zone)


async def _context(
    request: Request,
    x_language: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=32,
            description="zh-cn (the default) or en-us; another en-* reads as en-us, anything else as zh-cn",
            examples=["en-us"],
        ),
    ] = None,
    x_time_zone: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=32,
            description="GMT+8 (the default); GMT±H[:MM] or UTC±H[:MM] up to 14 hours, or an IANA name "
            "such as Asia/Shanghai. Any other value is refused (400 OSM.01010001)",
            examples=["GMT+8"],
        ),
    ] = None,
) -> Context:
    zone = zone_of(x_time_zone)
    if zone is None:
        raise InvalidInput("X-Time-Zone names no time zone")
    auth: HuaweiAuth = request.app.state.auth
    headers = {k.lower(): v for k, v in request.headers.items()}
    # A form's file is never read whole for its signature (the SDK signs it UNSIGNED-PAYLOAD):
    # the route streams it to disk. Any other body the guards have read, to their limit, already.
    form = media_type_of(headers.get("content-type")) == "multipart/form-data"
    body = None if form else await request.body()
    principal = auth.principal(request.method, request.url.path, request.url.query, headers, body)
    await admit(request.scope, principal)
    return Context(principal, language(x_language), zone)


def _session(request: Request) -> Iterator[Session]:
    services: Services = request.app.state.services
    # A read never takes the write lock (SQLite's BEGIN IMMEDIATE): it cannot wait on a writer.
    with unit_of_work(services.sessions, write=request.method not in READ_METHODS) as db:
        yield db


Ctx = Annotated[Context, Depends(_context)]
Db = Annotated[Session, Depends(_session)]
# OSM's paging parameters, the same on every list.
Offset = Annotated[int, Query(ge=0, le=65535)]
Limit = Annotated[int, Query(ge=0, le=100)]
GroupId = Annotated[str | None, Query(max_length=64)]


def case_number(case_id: str) -> int:
    return parse_id(case_id, "no such case")


def visible_case(db: Session, ctx: Context, case_id: str) -> Ticket:
    if not 1 <= len(case_id) <= 64:
        raise InvalidInput("case_id must be 1 to 64 characters")
    return tickets.get_ticket(db, ctx.principal, case_number(case_id))
