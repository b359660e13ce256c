"""What mail out says: a subject, a text part and an HTML part for each kind of message, the tenant's
own wording or the default, rendered in a sandboxed Jinja2 environment that sees nothing but the
message's own fields (a template a tenant writes reaches no attribute, global or function of the
server's). HTML is autoescaped. A template is tried on sample fields before it is saved, so one
that cannot render is refused then, not when a customer is waiting for its mail."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.errors import FieldError, Forbidden, InvalidInput, NotFound
from ticketd.core.principal import Principal, Role
from ticketd.store.tables import MailTemplate

log = logging.getLogger(__name__)
ACKNOWLEDGEMENT = "acknowledgement"
REPLY = "reply"
SOLVED = "solved"
STATUS = "status"
MAX_OUTPUT_CHARS = 200_000
# The fields each kind is rendered with (all kinds have the first five), with sample values.
SAMPLE: dict[str, Any] = {
    "ticket_id": 42,
    "subject": "Printer jams",
    "requester": "Ann Example",
    "organisation": "Acme",
    "tag": "[acme #42]",
    "body": "A new roller is on its way.",
    "author": "Alex Agent",
    "status": "pending",
}
DEFAULTS: dict[str, tuple[str, str, str]] = {
    ACKNOWLEDGEMENT: (
        "Your request has been received: {{ subject }}",
        "Hello {{ requester }},\n\n"
        "we have received your request and will answer it as soon as we can. Its number is {{ ticket_id }}.\n"
        "To add anything, reply to this message and keep {{ tag }} in the subject.\n\n"
        "-- \n{{ organisation }}\n",
        "<p>Hello {{ requester }},</p>"
        "<p>we have received your request and will answer it as soon as we can. Its number is "
        "<strong>{{ ticket_id }}</strong>.</p>"
        "<p>To add anything, reply to this message and keep <code>{{ tag }}</code> in the subject.</p>"
        "<p>-- <br>{{ organisation }}</p>",
    ),
    REPLY: (
        "Re: {{ subject }}",
        "{{ body }}\n\n-- \n{{ author }}, {{ organisation }}\n",
        '<div style="white-space: pre-wrap">{{ body }}</div><p>-- <br>{{ author }}, {{ organisation }}</p>',
    ),
    SOLVED: (
        "Solved: {{ subject }}",
        "Hello {{ requester }},\n\n"
        "your request {{ ticket_id }} has been marked solved. If it is not, reply to this message and it "
        "will be opened again.\n\n-- \n{{ organisation }}\n",
        "<p>Hello {{ requester }},</p>"
        "<p>your request <strong>{{ ticket_id }}</strong> has been marked solved. "
        "If it is not, reply to this message and it will be opened again.</p>"
        "<p>-- <br>{{ organisation }}</p>",
    ),
    STATUS: (
        "Now {{ status }}: {{ subject }}",
        "Hello {{ requester }},\n\nyour request {{ ticket_id }} is now {{ status }}.\n\n"
        "-- \n{{ organisation }}\n",
        "<p>Hello {{ requester }},</p><p>your request <strong>{{ ticket_id }}</strong> is now "
        "<strong>{{ status }}</strong>.</p><p>-- <br>{{ organisation }}</p>",
    ),
}
KINDS = tuple(DEFAULTS)

_TEXT = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_HTML = SandboxedEnvironment(autoescape=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Wording:
    kind: str
    subject: str
    text: str
    html: str
    own: bool


def wording(db: Session, tenant_id: int, kind: str) -> Wording:
    own = db.get(MailTemplate, (tenant_id, kind))
    if own is not None:
        return Wording(kind, own.subject, own.text, own.html, own=True)
    subject, text, html = DEFAULTS[kind]
    return Wording(kind, subject, text, html, own=False)


def render(db: Session, tenant_id: int, kind: str, fields: dict[str, Any]) -> Rendered:
    """The tenant's wording; the default where theirs fails on these fields (it rendered on the
    sample ones), so that a message still goes."""
    own = wording(db, tenant_id, kind)
    try:
        return _render(own, fields)
    except Exception as exc:
        if not own.own:
            raise
        log.warning("mail template %s of tenant %s failed (%s); the default was used", kind, tenant_id, exc)
        subject, text, html = DEFAULTS[kind]
        return _render(Wording(kind, subject, text, html, own=False), fields)


def save(db: Session, principal: Principal, kind: str, subject: str, text: str, html: str) -> Wording:
    """The tenant's own wording of a kind, once it renders on sample fields."""
    _require_admin(principal)
    if kind not in DEFAULTS:
        raise NotFound(f"no kind of mail {kind!r}")
    candidate = Wording(kind, subject, text, html, own=True)
    try:
        _render(candidate, SAMPLE)
    # A tenant's expression may fail any way Python can (1/0, a range the sandbox caps, a
    # subscript out of range): every failure refuses the template.
    except Exception as exc:
        raise InvalidInput(
            f"the template does not render: {exc}", [FieldError("/template", str(exc)[:200])]
        ) from exc
    row = db.get(MailTemplate, (principal.tenant_id, kind))
    if row is None:
        row = MailTemplate(tenant_id=principal.tenant_id, kind=kind)
        db.add(row)
    row.subject, row.text, row.html, row.updated_at = subject, text, html, utcnow()
    db.flush()
    return candidate


def reset(db: Session, principal: Principal, kind: str) -> None:
    _require_admin(principal)
    row = db.get(MailTemplate, (principal.tenant_id, kind))
    if row is not None:
        db.delete(row)
        db.flush()


def _render(wording: Wording, fields: dict[str, Any]) -> Rendered:
    values = {name: fields.get(name, "") for name in SAMPLE}
    return Rendered(
        subject=" ".join(_compiled(wording.subject, html=False).render(values).split())[:450],
        text=_compiled(wording.text, html=False).render(values)[:MAX_OUTPUT_CHARS],
        html=_compiled(wording.html, html=True).render(values)[:MAX_OUTPUT_CHARS],
    )


@functools.lru_cache(maxsize=256)
def _compiled(source: str, *, html: bool) -> Template:
    # Compiling costs more than rendering; a wording is used for many messages.
    return (_HTML if html else _TEXT).from_string(source)


def _require_admin(principal: Principal) -> None:
    if principal.role is not Role.ADMIN:
        raise Forbidden("only an admin words the tenant's mail")
