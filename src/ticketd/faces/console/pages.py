"""Rendering the console's pages: one Jinja2 environment (autoescaped, so a ticket's subject is
text whatever it holds), the security headers every page carries, and the context every layout
needs (who is signed in, the CSRF token, the navigation for their role)."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ticketd.core.clock import as_utc
from ticketd.core.principal import Role
from ticketd.faces.console.paths import PREFIX
from ticketd.faces.console.visitors import Visitor

TEMPLATES = Environment(
    loader=FileSystemLoader(str(resources.files("ticketd.faces.console") / "templates")),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Scripts and styles only from the console's own files: no inline script can run, whatever a
# ticket holds; no page may be framed (clickjacking); forms post only back here.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages show a signed-in user's data: never kept by a shared cache or the browser's history.
    "Cache-Control": "no-store",
}
NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.CUSTOMER: [("portal", "My requests"), ("portal/new", "New request")],
    Role.AGENT: [("queue", "Queue")],
    Role.ADMIN: [
        ("queue", "Queue"),
        ("admin/users", "Users"),
        ("admin/keys", "Keys"),
        ("admin/limits", "Limits"),
        ("admin/operations", "Operations"),
        ("admin/webhooks", "Webhooks"),
        ("admin/mail", "Mail"),
        ("admin/status-page", "Status page"),
    ],
}


def when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return as_utc(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


def filesize(size: int) -> str:
    """Bytes as people read them: 512 bytes, 3.4 kB, 26.2 MB (decimal, as file managers show)."""
    value, unit = float(size), "bytes"
    for larger in ("kB", "MB", "GB", "TB"):
        if value < 1000:
            break
        value, unit = value / 1000, larger
    return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}".replace(".0 ", " ")


TEMPLATES.filters["filesize"] = filesize
TEMPLATES.filters["when"] = when
TEMPLATES.filters["duration"] = duration
TEMPLATES.globals["prefix"] = PREFIX


def render(
    template: str,
    visitor: Visitor | None,
    status_code: int = 200,
    *,
    current: str = "",
    **context: Any,
) -> HTMLResponse:
    layout = {
        "me": visitor.signed if visitor else None,
        "role": visitor.role.value if visitor else None,
        "csrf": visitor.csrf if visitor else "",
        "navigation": NAVIGATION[visitor.role] if visitor else [],
        "current": current,
    }
    body = TEMPLATES.get_template(template).render({**layout, **context})
    return HTMLResponse(body, status_code, headers=SECURITY_HEADERS)


def redirect(path: str) -> Response:
    """After a form post: see the result with a GET (303), so a reload posts nothing twice."""
    return RedirectResponse(path, status_code=303, headers=SECURITY_HEADERS)
