"""The console's sign-in and sign-out, and where a visitor lands."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ticketd.core import console_sessions
from ticketd.core.console_sessions import SignedIn
from ticketd.core.errors import RateLimited, Unauthenticated
from ticketd.core.identity import login
from ticketd.faces.console.pages import redirect, render
from ticketd.faces.console.paths import PREFIX
from ticketd.faces.console.visitors import (
    COOKIE,
    FormDep,
    VisitorDep,
    check_same_site,
    services_of,
    text,
)
from ticketd.store.engine import unit_of_work
from ticketd.web.logins import password_sign_in
from ticketd.web.services import Services

router = APIRouter()


def home_of(signed: SignedIn) -> str:
    return f"{PREFIX}/portal" if signed.principal.is_customer else f"{PREFIX}/queue"


def safe_then(then: str | None) -> str | None:
    """Only a path of the console itself: a sign-in link must not send anyone elsewhere."""
    if then and then.startswith(f"{PREFIX}/") and not then.startswith("//") and "\\" not in then:
        return then
    return None


@router.get("/", include_in_schema=False)
def index(visitor: VisitorDep) -> Response:
    return redirect(home_of(visitor.signed))


@router.get("", include_in_schema=False)
def bare() -> Response:
    return redirect("/")


@router.get("/sign-in", include_in_schema=False)
def sign_in_form(
    tenant: Annotated[str, Query(max_length=64)] = "",
    then: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    return render("sign_in.html", None, tenant=tenant, username="", then=safe_then(then) or "", error="")


@router.post("/sign-in", include_in_schema=False)
async def sign_in(request: Request) -> Response:
    services = services_of(request)
    # No session yet, so no CSRF token: a cross-site post (login CSRF) is refused by its origin.
    check_same_site(request)
    form = await request.form(max_files=0, max_fields=10)
    tenant, username = text(form, "tenant")[:64], text(form, "username")[:200]
    password = form.get("password", "")
    then = safe_then(text(form, "then"))
    if not isinstance(password, str) or not tenant or not username or not password:
        return render(
            "sign_in.html",
            None,
            422,
            tenant=tenant,
            username=username,
            then=then or "",
            error="Enter the organisation, your user name and your password.",
        )
    try:
        user = await password_sign_in(
            services,
            request.scope,
            tenant,
            username,
            lambda: login(services.sessions, tenant_slug=tenant, username=username, password=password),
        )
    except (Unauthenticated, RateLimited) as exc:
        status = 429 if isinstance(exc, RateLimited) else 401
        message = (
            exc.message if isinstance(exc, RateLimited) else "Wrong organisation, user name or password."
        )
        page = render(
            "sign_in.html", None, status, tenant=tenant, username=username, then=then or "", error=message
        )
        if isinstance(exc, RateLimited):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page

    def open_session() -> tuple[str, SignedIn]:
        with unit_of_work(services.sessions, write=True) as db:
            token = console_sessions.start(db, user, lifetime=_lifetime(services))
            db.commit()
            signed = console_sessions.signed_in(db, token)
        assert signed is not None
        return token, signed

    token, signed = await run_in_threadpool(open_session)
    response = redirect(then or home_of(signed))
    response.set_cookie(
        COOKIE,
        token,
        max_age=services.settings.console_session_seconds,
        path=PREFIX,
        secure=_secure(request, services),
        httponly=True,
        samesite="lax",
    )
    return response


@router.post("/sign-out", include_in_schema=False)
async def sign_out(request: Request, visitor: VisitorDep, _checked: FormDep) -> Response:
    services = services_of(request)

    def end() -> None:
        with unit_of_work(services.sessions, write=True) as db:
            console_sessions.end(db, visitor.token)
            db.commit()

    await run_in_threadpool(end)
    response = redirect(f"{PREFIX}/sign-in?tenant={visitor.signed.tenant_slug}")
    response.delete_cookie(
        COOKIE, path=PREFIX, secure=_secure(request, services), httponly=True, samesite="lax"
    )
    return response


def _lifetime(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.console_session_seconds)


def _secure(request: Request, services: Services) -> bool:
    base = services.settings.base_url or ""
    return request.url.scheme == "https" or base.startswith("https://")
