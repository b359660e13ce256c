"""Who is at the console: the session cookie read on every request (off the event loop), the CSRF
check of every state-changing request, and the role a page asks for.

A request that changes anything must carry the session's CSRF token (a form field, or the
`X-CSRF-Token` header for the page's script) and must not come from another site: an `Origin`
other than our own, or `Sec-Fetch-Site: cross-site`, is refused whatever the token.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.datastructures import FormData

from ticketd.core import console_sessions
from ticketd.core.console_sessions import SignedIn
from ticketd.core.errors import DomainError, Forbidden
from ticketd.core.principal import Principal, Role
from ticketd.core.tokens import derived_secret
from ticketd.faces.console.paths import FILE_FORMS, MAX_FILES_A_FORM, PREFIX
from ticketd.store.engine import unit_of_work
from ticketd.web.services import Services

COOKIE = "ticketd_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_FIELDS = 200


class SignInRequired(DomainError):
    """No valid session: the page answers with a redirect to the sign-in form."""

    def __init__(self, then: str) -> None:
        super().__init__("sign in first")
        self.then = then


class CrossSite(Forbidden):
    pass


@dataclass(frozen=True)
class Visitor:
    signed: SignedIn
    token: str
    csrf: str

    @property
    def principal(self) -> Principal:
        return self.signed.principal

    @property
    def role(self) -> Role:
        return self.signed.principal.role


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def csrf_key(services: Services) -> bytes:
    return _csrf_key(services.token_secret)


@lru_cache(maxsize=4)
def _csrf_key(server_key: str) -> bytes:
    # Derived once a key, not on every request.
    return derived_secret(server_key, "console-csrf").encode()


def sign_in_path(then: str) -> str:
    return f"{PREFIX}/sign-in?then={quote(then, safe='/')}"


def visitor(request: Request) -> Visitor:
    """Sync on purpose: FastAPI runs it on a thread, so the session's row is read off the loop."""
    services = services_of(request)
    token = request.cookies.get(COOKIE)
    signed = None
    if token and len(token) <= 100:
        with unit_of_work(services.sessions, write=False) as db:
            signed = console_sessions.signed_in(db, token)
    if signed is None or token is None:
        then = request.url.path if request.method == "GET" else f"{PREFIX}/"
        raise SignInRequired(then)
    return Visitor(signed, token, console_sessions.csrf_token(csrf_key(services), token))


def session_stands(services: Services, visitor: Visitor) -> bool:
    """Whether the visitor's session still gives the same principal (a live page's stream ends
    when it does not: signed out, expired, user disabled or changed)."""
    with unit_of_work(services.sessions, write=False) as db:
        signed = console_sessions.signed_in(db, visitor.token)
    return signed is not None and signed.principal == visitor.principal


def staff(visitor: Annotated[Visitor, Depends(visitor)]) -> Visitor:
    if not visitor.principal.is_staff:
        raise Forbidden("this page is for agents and admins")
    return visitor


def admin(visitor: Annotated[Visitor, Depends(visitor)]) -> Visitor:
    if visitor.role is not Role.ADMIN:
        raise Forbidden("this page is for admins")
    return visitor


def check_same_site(request: Request) -> None:
    """Refuses a request another site's page made the browser send."""
    origin = request.headers.get("origin")
    if origin is not None and origin != own_origin(request):
        raise CrossSite("this request came from another site")
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CrossSite("this request came from another site")


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


async def checked_form(
    request: Request, visitor: Annotated[Visitor, Depends(visitor)]
) -> AsyncIterator[FormData]:
    """The posted form, once its origin and CSRF token are checked; its files (spooled to disk by
    the parser) are closed when the request is done, whatever became of it."""
    check_same_site(request)
    # Only the forms that bring files may.
    files = MAX_FILES_A_FORM if any(re.fullmatch(form, request.url.path) for form in FILE_FORMS) else 0
    form = await request.form(max_files=files, max_fields=MAX_FORM_FIELDS)
    try:
        presented = form.get(CSRF_FIELD)
        if not isinstance(presented, str) or not console_sessions.csrf_matches(
            csrf_key(services_of(request)), visitor.token, presented
        ):
            raise CrossSite("the form's security token is missing or stale; reload the page and try again")
        yield form
    finally:
        await form.close()


def check_csrf_header(request: Request, visitor: Visitor) -> None:
    """For the script's own requests (the import upload): the token travels in a header."""
    check_same_site(request)
    presented = request.headers.get(CSRF_HEADER, "")
    if not console_sessions.csrf_matches(csrf_key(services_of(request)), visitor.token, presented):
        raise CrossSite("the request's security token is missing or stale; reload the page and try again")


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


VisitorDep = Annotated[Visitor, Depends(visitor)]
StaffDep = Annotated[Visitor, Depends(staff)]
AdminDep = Annotated[Visitor, Depends(admin)]
FormDep = Annotated[FormData, Depends(checked_form)]
