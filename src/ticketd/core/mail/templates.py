"""What mail out says: a subject, a text part and an HTML part for each kind of message, rendered in a
sandboxed Jinja2 environment that sees nothing but the message's own fields (so a template a tenant
edits one day can reach no attribute, global or function of the server's). HTML is autoescaped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

ACKNOWLEDGEMENT = "acknowledgement"
REPLY = "reply"
SOLVED = "solved"

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
}

_TEXT = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_HTML = SandboxedEnvironment(autoescape=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(kind: str, fields: dict[str, Any]) -> Rendered:
    subject, text, html = DEFAULTS[kind]
    return Rendered(
        subject=" ".join(_TEXT.from_string(subject).render(fields).split())[:450],
        text=_TEXT.from_string(text).render(fields),
        html=_HTML.from_string(html).render(fields),
    )
