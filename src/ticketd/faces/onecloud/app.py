"""The OneCloud routes. Paths, fields, codes and error bodies follow the vendor's documents."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ticketd.core import tickets
from ticketd.core.clock import utcnow
from ticketd.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from ticketd.core.identity import login_by_email, users_by_id
from ticketd.core.principal import Principal
from ticketd.core.sla import sla_figures
from ticketd.core.tokens import ExpiredToken
from ticketd.faces.onecloud import tokens
from ticketd.faces.onecloud.codes import category_name
from ticketd.faces.onecloud.errors import (
    EXPIRED_TOKEN_RECORDS,
    envelope,
    error_body,
    error_response,
    failed_login_body,
    rate_limited,
)
from ticketd.faces.onecloud.records import RecordFormat
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Comment, Ticket, TicketEvent
from ticketd.web.negotiation import media_type_of
from ticketd.web.rate_limits import admit
from ticketd.web.services import Services

log = logging.getLogger(__name__)

PREFIXES = ("/api/authenticate", "/api/ticketrz", "/api/ticket", "/api/onecloud")
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
CREATE_REQUIRED = ("fullName", "contact", "subject", "category", "content")
MAX_LIMIT = 100


def build_onecloud_app(services: Services) -> FastAPI:
    settings = services.settings
    secret = tokens.face_secret(services.token_secret)
    records = RecordFormat(settings.onecloud_time_zone)
    app = FastAPI(
        title="OneCloud helpdesk API (ticketd)",
        version="1",
        description="Ciptadrasoft OneCloud's ticket API as ticketd serves it. See docs/faces/onecloud.md.",
        openapi_url="/api/onecloud/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    app.state.token_secret = secret
    _install_error_handlers(app)

    @app.post("/api/authenticate", summary="The token API")
    async def authenticate(request: Request) -> Response:
        fields = await _fields(request)
        email, password, site_id = (
            fields.get("email", ""),
            fields.get("password", ""),
            fields.get("siteId", ""),
        )
        if not (email and password and site_id):
            return error_response(400, error_body(400, "email, password and siteId are required"))

        def check() -> Response:
            with unit_of_work(services.sessions, write=False) as db:
                try:
                    user = login_by_email(db, site_id=site_id, email=email, password=password)
                except Unauthenticated:
                    return error_response(401, failed_login_body(site_id))
                token = tokens.issue(
                    secret,
                    issuer=request.headers.get("host", "ticketd"),
                    user_id=user.id,
                    site_id=user.tenant_id,
                    credential_version=user.credential_version,
                    now=utcnow(),
                    ttl=timedelta(seconds=settings.onecloud_token_ttl_seconds),
                )
            return _json({"response_code": "200", "response_status": "Success", "token": token})

        return await run_in_threadpool(check)

    @app.get("/api/ticketrz/{ticket_id}", summary="Tiket - Get")
    def get_ticket(ticket_id: str, caller: Caller, db: Db) -> Response:
        ticket = tickets.get_ticket(db, caller, _ticket_id(ticket_id))
        events = list(
            db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
        )
        people = users_by_id(db, {ticket.requester_id, *ticket.assignee_ids, *(e.actor_id for e in events)})
        staff = {user.id for user in people.values() if user.role != "customer"}
        comments = (
            db.scalar(select(func.count()).select_from(Comment).where(Comment.ticket_id == ticket.id)) or 0
        )
        sla = sla_figures(events, requester_id=ticket.requester_id, staff_ids=staff, now=utcnow())
        usernames = {uid: user.username for uid, user in people.items()}
        return _json(records.record(ticket, usernames=usernames, comment_count=comments, sla=sla))

    @app.get("/api/ticketrz", summary="Tiket - Find")
    def find_tickets(
        caller: Caller,
        db: Db,
        since_id: Annotated[int, Query(alias="sinceId", ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Response:
        conditions = [*tickets.visible_conditions(caller), Ticket.id > since_id]
        total = db.scalar(select(func.count()).select_from(Ticket).where(*conditions)) or 0
        rows = list(
            db.scalars(select(Ticket).where(*conditions).order_by(Ticket.id).offset(offset).limit(limit))
        )
        people = users_by_id(db, {t.requester_id for t in rows} | {a for t in rows for a in t.assignee_ids})
        names = {uid: user.display_name for uid, user in people.items()}
        usernames = {uid: user.username for uid, user in people.items()}
        data = [records.summary(t, names=names, usernames=usernames) for t in rows]
        return _json(
            {"limit": str(limit), "offset": offset, "count": len(data), "total": total, "data": data}
        )

    @app.post("/api/ticket/create", summary="Tiket - Create")
    async def create_ticket(request: Request, caller: Caller) -> Response:
        fields = await _fields(request)
        missing = [name for name in CREATE_REQUIRED if not fields.get(name, "").strip()]
        if missing:
            return error_response(400, error_body(400, f"{', '.join(missing)} required"))

        def create() -> str:
            with unit_of_work(services.sessions, write=True) as db:
                custom = {"fullName": fields["fullName"]}
                if fields.get("coordinate"):
                    custom["coordinate"] = fields["coordinate"]
                changes = tickets.Changes(
                    values={
                        "subject": fields["subject"],
                        "content": fields["content"],
                        "category": category_name(fields["category"]),
                        "contact": fields["contact"],
                        "custom_fields": custom,
                        **({} if caller.is_customer else {"channel": "web"}),
                    }
                )
                ticket = tickets.create_ticket(db, caller, changes)
                db.commit()
                return str(ticket.id)

        ticket_id = await run_in_threadpool(create)
        return _json({"response_code": "200", "response_status": "Success", "ticketId": ticket_id})

    @app.delete("/api/ticketrz/{ticket_id}", summary="Tiket - Remove")
    def remove_ticket(ticket_id: str, caller: Caller, db: Db) -> Response:
        tickets.delete_ticket(db, caller, _ticket_id(ticket_id))
        db.commit()
        return _json({})

    @app.get("/api/ticket/conversations/{ticket_id}", summary="Tiket - Conversations")
    def conversations(ticket_id: str, caller: Caller, db: Db) -> Response:
        comments = tickets.list_comments(db, caller, _ticket_id(ticket_id))
        names = {
            uid: user.display_name for uid, user in users_by_id(db, {c.author_id for c in comments}).items()
        }
        data = [records.message(c, names=names) for c in comments]
        return _json(
            {
                "response_code": "200",
                "response_status": "Success",
                "type": "message",
                "ticketId": ticket_id,
                "data": data,
            }
        )

    return app


def _principal(request: Request) -> Principal:
    services: Services = request.app.state.services
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Token not provided")
    claims = tokens.read(request.app.state.token_secret, token.strip())
    return services.authenticator.token_principal(claims, services.reader.user(claims.user_id))


def _session(request: Request) -> Iterator[Session]:
    services: Services = request.app.state.services
    with unit_of_work(services.sessions, write=True) as db:
        yield db


async def _caller(request: Request, principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    """The caller, once the site's quota and the rate limits admit this request."""
    await admit(request.scope, principal)
    return principal


Caller = Annotated[Principal, Depends(_caller)]
Db = Annotated[Session, Depends(_session)]


def _json(body: Any) -> Response:
    return Response(content=orjson.dumps(body), media_type="application/json")


def _ticket_id(text: str) -> int:
    # Anything that is not a ticket id names no ticket: the same answer as a missing one.
    if not text.isdecimal() or len(text) > 18:
        raise NotFound("Data not found")
    return int(text)


async def _fields(request: Request) -> dict[str, str]:
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


STATUS_OF: list[tuple[type[DomainError], int, str | None]] = [
    (NotFound, 404, "Data not found"),
    (Forbidden, 403, None),
    (InvalidInput, 400, None),
    (Unauthenticated, 401, None),
]


def _install_error_handlers(app: FastAPI) -> None:
    async def domain_error(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, ExpiredToken):
            return error_response(401, envelope(EXPIRED_TOKEN_RECORDS))
        if isinstance(exc, RateLimited):
            return rate_limited(exc)
        for kind, status, message in STATUS_OF:
            if isinstance(exc, kind):
                assert isinstance(exc, DomainError)
                details = "; ".join(f"{e.pointer}: {e.detail}" for e in getattr(exc, "errors", [])) or None
                return error_response(status, error_body(status, message or exc.message, details))
        assert isinstance(exc, DomainError)
        return error_response(409, error_body(409, exc.message))

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return error_response(400, error_body(400, "Bad request", problems))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = "Data not found" if exc.status_code == 404 else f"{request.method} is not allowed here"
        if exc.status_code not in (404, 405):
            message = str(exc.detail)
        return error_response(exc.status_code, error_body(exc.status_code, message), dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, error_body(500, "Internal server error"))

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
