"""The Distributor API's system and oauth2 endpoints; the rest of the documented API answers 501."""

from __future__ import annotations

import binascii
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from ticketd.core import access_tokens
from ticketd.core.api_keys import secret_matches
from ticketd.core.clock import utcnow
from ticketd.core.errors import Forbidden, RateLimited, Unauthenticated
from ticketd.core.principal import Scope
from ticketd.faces.prioticket.errors import error_response, rate_limited
from ticketd.store.engine import unit_of_work
from ticketd.store.fast_reads import STORE_ERRORS
from ticketd.store.probe import StoreState, probe_store
from ticketd.store.tables import ApiKey, User
from ticketd.web.negotiation import media_type_of
from ticketd.web.rate_limits import admit
from ticketd.web.services import Services

log = logging.getLogger(__name__)

PREFIX = "/v3.8/distributor"
FACE = "prioticket"
TOKEN_TTL = timedelta(hours=1)
BOOKING_SCOPE = "https://www.prioticketapis.com/auth/distributor.booking"
# The Distributor API's scopes and the ticketd scopes each needs from the client's key.
SCOPES: dict[str, frozenset[str]] = {
    BOOKING_SCOPE: frozenset({Scope.TICKETS_READ.value}),
    "https://www.prioticketapis.com/auth/distributor.readonly": frozenset({Scope.TICKETS_READ.value}),
}
# Sections of the documented Distributor API that ticketd does not provide: 501, not 404.
UNPROVIDED = frozenset(
    {
        "about",
        "products",
        "availability",
        "reservations",
        "carts",
        "promocodes",
        "orders",
        "payments",
        "contacts",
        "notifications",
        "locations",
        "destinations",
        "categories",
        "webhooks",
        "translations",
        "recommendations",
        "promotions",
        "vouchers",
    }
)
PROVIDED = {
    f"{PREFIX}/system/ping": ("GET", "HEAD"),
    f"{PREFIX}/system/status": ("GET", "HEAD"),
    f"{PREFIX}/oauth2/token": ("POST",),
    f"{PREFIX}/oauth2/revoke": ("POST",),
}
STATE_STATUS = {StoreState.DOWN: 503, StoreState.TIMEOUT: 504, StoreState.BAD_RESPONSE: 502}


class DependencyFailed(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def build_prioticket_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Prioticket Distributor API v3.8 (ticketd)",
        version="3.8",
        description="The Distributor API's system and OAuth 2.0 endpoints as ticketd serves them. "
        "See docs/faces/prioticket.md.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    _install_error_handlers(app)

    @app.get(f"{PREFIX}/system/ping", summary="Get System Ping", responses={200: {"description": "Ping"}})
    def ping() -> Response:
        return Response(status_code=200)

    @app.get(
        f"{PREFIX}/system/status", summary="Get System Status", responses={200: {"description": "System OK"}}
    )
    def status(grant: Grant) -> Response:
        if not grant.principal.has_scope(Scope.TICKETS_READ):
            raise Forbidden("the token's client lacks the scope to read the system's status")
        _require_store(services)
        return Response(status_code=200)

    @app.post(f"{PREFIX}/oauth2/token", summary="Request an access token (client credentials)")
    async def token(request: Request) -> Response:
        fields = await _fields(request)
        grant_type = fields.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
        requested = str(fields.get("scope") or BOOKING_SCOPE).split()
        unknown = [scope for scope in requested if scope not in SCOPES]
        if unknown:
            return _oauth_error(400, "invalid_scope", f"unknown scope: {' '.join(unknown)}")
        with _store(services) as db:
            key = _client(db, request)
            needed = frozenset().union(*(SCOPES[scope] for scope in requested))
            if not needed <= set(key.scopes.split()):
                return _oauth_error(400, "invalid_scope", "the client may not have this scope")
            issued = access_tokens.issue(db, face=FACE, key=key, scope=" ".join(requested), ttl=TOKEN_TTL)
            db.commit()
        body = {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": int(TOKEN_TTL.total_seconds()),
            "scope": issued.scope,
        }
        return Response(orjson.dumps(body), 200, {"Cache-Control": "no-store"}, media_type="application/json")

    @app.post(f"{PREFIX}/oauth2/revoke", summary="Revoke an access token (RFC 7009)")
    async def revoke(request: Request) -> Response:
        fields = await _fields(request)
        token_value = fields.get("token")
        if not isinstance(token_value, str) or not token_value:
            return _oauth_error(400, "invalid_request", "token is required")
        with _store(services) as db:
            key = _client(db, request)
            access_tokens.revoke(db, face=FACE, token=token_value, key=key)
            db.commit()
        return Response(b"{}", 200, media_type="application/json")

    @app.api_route(
        f"{PREFIX}/{{section}}/{{rest:path}}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    @app.api_route(
        f"{PREFIX}/{{section}}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unprovided(section: str, request: Request) -> Response:
        allowed = PROVIDED.get(request.url.path)
        if allowed:
            # A provided path with another method: the catch-all must not hide the 405.
            message = f"{request.method} is not allowed here"
            return error_response(405, message, headers={"Allow": ", ".join(allowed)})
        if section in UNPROVIDED:
            return error_response(
                501,
                f"{request.method} {request.url.path} is part of the Distributor API that "
                "this server does not provide",
            )
        return error_response(404, f"no resource at {request.url.path}")

    return app


def _grant(request: Request) -> access_tokens.TokenGrant:
    services: Services = request.app.state.services
    header = request.headers.get("authorization")
    if not header:
        raise MissingCredentials("the Authorization header is required")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise MissingCredentials("the Authorization header must be 'Bearer <access token>'")
    with _store(services) as db:
        return access_tokens.check(db, face=FACE, token=value.strip())


async def _admitted(
    request: Request, grant: Annotated[access_tokens.TokenGrant, Depends(_grant)]
) -> access_tokens.TokenGrant:
    await admit(request.scope, grant.principal)
    return grant


Grant = Annotated[access_tokens.TokenGrant, Depends(_admitted)]


class MissingCredentials(Exception):
    pass


# What a store failure looks like, from the ORM or from the driver.
STORE_FAILURES: tuple[type[Exception], ...] = (DBAPIError, *STORE_ERRORS)


@contextmanager
def _store(services: Services) -> Iterator[Session]:
    """A unit of work whose store failures become the Distributor API's 502, 503 or 504."""
    try:
        with unit_of_work(services.sessions, write=True) as db:
            yield db
    except STORE_FAILURES as exc:
        raise _dependency_failure(services) from exc


def _dependency_failure(services: Services) -> DependencyFailed:
    probe = probe_store(services.settings)
    status = STATE_STATUS.get(probe.state, 502)
    return DependencyFailed(status, probe.detail or "the store failed while answering")


def _require_store(services: Services) -> None:
    probe = probe_store(services.settings)
    if probe.state is not StoreState.OK:
        raise DependencyFailed(STATE_STATUS[probe.state], probe.detail)


def _client(db: Session, request: Request) -> ApiKey:
    """The client authenticating itself with HTTP Basic: an API key's id and secret."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise MissingCredentials("client authentication with HTTP Basic is required")
    try:
        client_id, sep, secret = binascii.a2b_base64(value.strip(), strict_mode=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise MissingCredentials("the Basic credentials are malformed") from exc
    key = db.get(ApiKey, client_id) if sep else None
    user = db.get(User, key.user_id) if key else None
    now = utcnow()
    if (
        key is None
        or user is None
        or not secret_matches(key.secret_digest, secret)
        or key.revoked_at is not None
        or (key.expires_at is not None and key.expires_at <= now)
        or user.disabled
    ):
        raise InvalidClient("client authentication failed")
    return key


class InvalidClient(Exception):
    pass


def _oauth_error(status: int, error: str, message: str) -> Response:
    return error_response(status, message, error=error, headers={"Cache-Control": "no-store"})


async def _fields(request: Request) -> dict[str, Any]:
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


class Malformed(Exception):
    pass


class Unprocessable(Exception):
    pass


def _install_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RateLimited):
            return rate_limited(exc)
        if isinstance(exc, DependencyFailed):
            return error_response(exc.status, exc.message)
        if isinstance(exc, MissingCredentials | Malformed):
            return error_response(400, str(exc))
        if isinstance(exc, Unprocessable):
            return error_response(422, str(exc))
        if isinstance(exc, InvalidClient):
            return error_response(
                401,
                str(exc),
                error="invalid_client",
                headers={"WWW-Authenticate": 'Basic realm="distributor"'},
            )
        if isinstance(exc, Unauthenticated):
            return error_response(
                401, exc.message, headers={"WWW-Authenticate": 'Bearer realm="distributor"'}
            )
        if isinstance(exc, Forbidden):
            error = "TOKEN_REVOKED" if "revoked" in exc.message else "INSUFFICIENT_SCOPE"
            return error_response(403, exc.message, error=error)
        if isinstance(exc, RequestValidationError):
            return error_response(
                400,
                "the request is malformed",
                errors=[f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()],
            )
        if isinstance(exc, HTTPException):
            message = (
                f"{request.method} is not allowed here"
                if exc.status_code == 405
                else f"no resource at {request.url.path}"
            )
            return error_response(exc.status_code, message, headers=dict(exc.headers or {}))
        # Nothing internal leaks: the reference in the body finds the details in the log.
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "the server encountered an unexpected condition")

    for kind in (
        RateLimited,
        DependencyFailed,
        MissingCredentials,
        Malformed,
        Unprocessable,
        InvalidClient,
        Unauthenticated,
        Forbidden,
        RequestValidationError,
        HTTPException,
        Exception,
    ):
        app.add_exception_handler(kind, handle)
