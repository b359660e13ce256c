"""A raw message as ticketd reads it: who wrote, to whom, about which thread, what they said (the
text part, or the HTML made text; the quoted history of a reply cut off), what they attached, and
whether a machine wrote it. The standard library's `email` package under `policy.default` does the
MIME work (every charset and transfer encoding it knows); nh3 sanitises HTML before it is made
text; mail-parser-reply cuts the quoted history in the languages it knows."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses

import nh3
from mailparser_reply import EmailReplyParser

# The languages whose "On ... wrote:" lines the reply parser recognises for us.
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "pt", "sv", "ja", "zh"]
_TAG = re.compile(r"\[(?P<slug>[A-Za-z0-9_.-]{1,64}) #(?P<id>\d{1,18})\]")
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,990}>")
_BLOCKS = re.compile(r"(?i)</?(p|div|br|li|tr|h[1-6]|blockquote|pre|table)\b[^>]*>")
_TAGS = re.compile(r"<[^>]*>")
MAX_TEXT_CHARS = 60_000


@dataclass(frozen=True)
class MailFile:
    filename: str
    content_type: str
    data: bytes
    inline: bool


@dataclass(frozen=True)
class InboundMail:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: str
    sender_name: str
    recipients: list[str]
    # What the sender wrote, their quoted history cut off; and the whole text, for the record.
    reply_text: str
    full_text: str
    files: list[MailFile] = field(default_factory=list)
    # Why a machine wrote it (an auto-reply, a bounce, a list), or None for a person.
    automatic: str | None = None
    # A delivery status notification: the Message-ID of the message it reports on, if it names one.
    bounce_of: str | None = None
    is_bounce: bool = False


def parse(raw: bytes) -> InboundMail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    sender_name, sender = _first_address(message, "from")
    is_bounce = message.get_content_type() == "multipart/report"
    text = _body_text(message)
    return InboundMail(
        message_id=_one_id(message.get("message-id")),
        in_reply_to=_ids(message.get("in-reply-to")),
        references=_ids(message.get("references")),
        subject=_header(message, "subject"),
        sender=sender,
        sender_name=sender_name,
        recipients=_recipients(message),
        reply_text=_without_quotes(text),
        full_text=text[:MAX_TEXT_CHARS],
        files=[] if is_bounce else _files(message),
        automatic=automatic_reason(message, sender),
        bounce_of=_bounced_id(message) if is_bounce else None,
        is_bounce=is_bounce,
    )


def automatic_reason(message: Message, sender: str) -> str | None:
    """Why this message must never be answered automatically (RFC 3834 and the headers mailers
    use in its place), or None when a person wrote it."""
    auto_submitted = _header(message, "auto-submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"):
        if message.get(name) is not None:
            return f"{name} is set"
    if message.get("return-path") is not None and _header(message, "return-path") in ("<>", ""):
        return "a null return path"
    local = sender.split("@", 1)[0].lower()
    if local in ("mailer-daemon", "postmaster"):
        return f"sent by {local}"
    if message.get_content_type() == "multipart/report":
        return "a delivery status notification"
    return None


def ticket_tag(subject: str) -> tuple[str, int] | None:
    """The `[tenant #id]` tag a subject carries, if any."""
    found = _TAG.search(subject)
    return (found.group("slug").lower(), int(found.group("id"))) if found else None


def tagged_subject(slug: str, ticket_id: int, subject: str) -> str:
    tag = f"[{slug} #{ticket_id}]"
    return subject if tag in subject else f"{subject} {tag}".strip()


def html_to_text(markup: str) -> str:
    """HTML as the text a person reads: sanitised first (no script, style or hidden content
    survives), then blocks as lines and entities decoded."""
    clean = nh3.clean(
        markup, tags={"p", "div", "br", "li", "tr", "td", "h1", "h2", "h3", "blockquote", "pre"}
    )
    lines = _BLOCKS.sub("\n", clean)
    text = html.unescape(_TAGS.sub("", lines))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        # An unknown charset or a broken encoding: the bytes as well as they decode.
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        return html_to_text(content)
    return content.replace("\r\n", "\n").strip()


def _without_quotes(text: str) -> str:
    if not text:
        return ""
    try:
        reply = EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text=text)
    except Exception:  # a parser's failure must never lose the message: keep it whole
        return text[:MAX_TEXT_CHARS]
    return (reply.strip() or text)[:MAX_TEXT_CHARS]


def _files(message: EmailMessage) -> list[MailFile]:
    files = []
    for part in message.iter_attachments():
        files.extend(_files_of(part))
    # Inline images referenced from the HTML body are parts of a multipart/related, not attachments.
    for part in message.walk():
        if part.get_content_maintype() == "image" and part.get_content_disposition() != "attachment":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data and not any(f.data == data for f in files):
                name = part.get_filename() or f"image.{part.get_content_subtype()}"
                files.append(MailFile(name, part.get_content_type(), data, inline=True))
    return files


def _files_of(part: Message) -> list[MailFile]:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        first = inner[0] if isinstance(inner, list) and inner else None
        forwarded = first.as_bytes() if isinstance(first, Message) else b""
        return [MailFile(part.get_filename() or "forwarded.eml", "message/rfc822", forwarded, inline=False)]
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return []
    name = part.get_filename() or "attachment"
    return [MailFile(name, part.get_content_type(), data, inline=part.get_content_disposition() == "inline")]


def _bounced_id(message: EmailMessage) -> str | None:
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message) and inner.get("message-id"):
                return _one_id(inner.get("message-id"))
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                found = re.search(rb"(?im)^message-id:\s*(<[^>]+>)", raw)
                if found:
                    return found.group(1).decode("ascii", errors="replace")
    return None


def _recipients(message: Message) -> list[str]:
    values: list[str] = []
    for name in ("delivered-to", "x-original-to", "to", "cc", "envelope-to"):
        values.extend(str(value) for value in message.get_all(name, []))
    found = [address.lower() for _, address in getaddresses(values) if "@" in address]
    return list(dict.fromkeys(found))


def _first_address(message: Message, name: str) -> tuple[str, str]:
    header = message.get(name)
    addresses = getattr(header, "addresses", ()) if header is not None else ()
    for address in addresses:
        if isinstance(address, Address) and address.addr_spec and "@" in address.addr_spec:
            return address.display_name, address.addr_spec.lower()
    pairs = getaddresses([str(header)]) if header is not None else []
    for display, address in pairs:
        if "@" in address:
            return display, address.lower()
    return "", ""


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError):
        return ""
    return "" if value is None else " ".join(str(value).split())


def _one_id(value: object) -> str | None:
    ids = _ids(value)
    return ids[0] if ids else None


def _ids(value: object) -> list[str]:
    return _MESSAGE_ID.findall(str(value)) if value is not None else []
