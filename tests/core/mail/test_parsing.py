"""Real-world messages (corpus/) and what each must become: the sender, the thread it names, what
the person wrote without the quoted history, the files, and whether a machine wrote it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ticketd.core.mail.parsing import html_to_text, parse, tagged_subject, ticket_tag

CORPUS = Path(__file__).parent / "corpus"


@dataclass(frozen=True)
class Expected:
    sender: str
    subject: str
    reply: str
    files: tuple[tuple[str, str, bool], ...] = ()
    thread: tuple[str, ...] = ()
    automatic: bool = False
    bounce_of: str | None = None


EXPECTED = {
    "thunderbird_reply.eml": Expected(
        sender="ann@customer.example",
        subject="Re: VPN drops every ten minutes [acme #42]",
        reply="Restarting the router helped, thank you. It has stayed up for an hour.\n\nAnn",
        thread=("<ticketd.42.1@acme.example>",),
    ),
    "gmail_reply_with_pdf.eml": Expected(
        sender="ann@customer.example",
        subject="Re: [acme #42] VPN drops every ten minutes",
        reply="Here is the log you asked for.",
        files=(("vpn-log.pdf", "application/pdf", False),),
        thread=("<ticketd.42.2@acme.example>", "<ticketd.42.1@acme.example>"),
    ),
    "outlook_html_only.eml": Expected(
        sender="bert@kunde.example",
        subject="Drucker druckt nicht - dringend für Müller",
        reply=(
            "Guten Tag,\n\nder Drucker im 2. Stock druckt seit heute Morgen nicht mehr. "
            "Grüße an Frau Müller.\n\nBert"
        ),
    ),
    "latin1_base64.eml": Expected(
        sender="jose@cliente.example",
        subject="Cafetera rota en la cocina",
        reply="La cafetera de la cocina está rota. ¿Pueden mirarla?",
    ),
    "apple_mail_inline_image.eml": Expected(
        sender="carla@customer.example",
        subject="Screen shows stripes",
        reply="The screen shows stripes, see the photo.",
        files=(("stripes.png", "image/png", True),),
    ),
    "out_of_office.eml": Expected(
        sender="dan@customer.example",
        subject="Automatic reply: [acme #42] VPN drops every ten minutes",
        reply="I am out of the office until 4 January.",
        automatic=True,
    ),
    "dsn_bounce.eml": Expected(
        sender="mailer-daemon@mx.customer.example",
        subject="Undelivered Mail Returned to Sender",
        reply=(
            "I'm sorry to have to inform you that your message could not be delivered.\n\n"
            "<gone@customer.example>: host mx.customer.example said: 550 5.1.1 User unknown"
        ),
        automatic=True,
        bounce_of="<ticketd.42.1@acme.example>",
    ),
}


def test_the_corpus_is_all_expected() -> None:
    assert sorted(path.name for path in CORPUS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_message_becomes_what_it_must(name: str) -> None:
    expected = EXPECTED[name]
    mail = parse((CORPUS / name).read_bytes())
    assert mail.sender == expected.sender
    assert mail.subject == expected.subject
    assert mail.recipients == ["support@acme.example"]
    assert mail.reply_text == expected.reply
    assert [(f.filename, f.content_type, f.inline) for f in mail.files] == list(expected.files)
    assert all(f.data for f in mail.files)
    assert set(expected.thread) <= {*mail.in_reply_to, *mail.references}
    assert (mail.automatic is not None) == expected.automatic
    assert mail.bounce_of == expected.bounce_of
    assert mail.message_id is not None and mail.message_id.startswith("<")


def test_html_is_sanitised_before_it_is_text() -> None:
    markup = "<p>Hi<script>alert(1)</script></p><style>p{}</style><div>there &amp; <b>bye</b></div>"
    assert html_to_text(markup) == "Hi\n\nthere & bye"


def test_subject_tags_are_read_and_written_once() -> None:
    assert ticket_tag("Re: Printer [acme #42]") == ("acme", 42)
    assert ticket_tag("Fwd: [demo #7] x [acme #9]") == ("demo", 7)
    assert ticket_tag("no tag #42") is None
    assert tagged_subject("acme", 42, "Printer") == "Printer [acme #42]"
    assert tagged_subject("acme", 42, "Re: Printer [acme #42]") == "Re: Printer [acme #42]"


def test_garbage_is_parsed_without_failing() -> None:
    for raw in (
        b"",
        b"\x00\xff\xfe garbage",
        b"From: <>\r\n\r\n",
        b"Subject: =?x-unknown?Q?abc?=\r\n\r\nbody",
    ):
        mail = parse(raw)
        assert isinstance(mail.reply_text, str)
